"""The procrastinate App and tasks the procrastinate peer benchmarks use.

Followed: procrastinate's quickstart and "howto/basics/connector" (``PsycopgConnector``, the
async connector, connection settings from the libpq environment variables PGHOST, PGPORT,
PGUSER, PGDATABASE: the scripts set them to the fresh database of the run), "howto/basics/tasks"
(``@app.task``), "howto/advanced/cron" (``@app.periodic``, a 6th cron column for seconds, the
``timestamp`` argument, several schedules of one task told apart by ``periodic_id``) and
"discussions: asynchronous operations & concurrency" (tasks are ``async def``: procrastinate is
async at its core; sync tasks would run in threads via asgiref; the pool is sized
concurrency + 1, as that page recommends for short jobs).

The worker is the documented CLI: ``procrastinate --app=tasks.app worker --concurrency=C``
(PYTHONPATH = this directory). Environment read here (set by the scripts):

- BENCH_CONCURRENCY: the worker's --concurrency, to size the pool (concurrency + 1).
- BENCH_PERIODIC_JOBS: N > 0 registers N schedules "every second" of ``tick`` (periodic_id
  "p<i>", task_kwargs {"job": i}); 0 (the default) registers none.
- BENCH_STARTS_FILE: where ``tick`` appends "<job> <due ms> <started ms>" lines.
"""

from __future__ import annotations

import asyncio
import os
import time

import procrastinate

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "1"))
POOL_SIZE = CONCURRENCY + 1

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(min_size=POOL_SIZE, max_size=POOL_SIZE),
)


@app.task(name="noop")
async def noop() -> None:
    """The throughput job: does nothing."""


@app.task(name="shell_true")
async def shell_true() -> None:
    """The throughput_shell job: runs `true` in a subprocess (asyncio's, the async way)."""
    process = await asyncio.create_subprocess_exec("true")
    code = await process.wait()
    if code != 0:
        raise RuntimeError(f"`true` exited {code}")


_starts_file = os.environ.get("BENCH_STARTS_FILE")
_starts = open(_starts_file, "a", buffering=1) if _starts_file else None  # noqa: SIM115


@app.task(name="tick")
async def tick(timestamp: int, job: int) -> None:
    """The precision job: records when its code started against its due second."""
    started_ms = time.time() * 1000
    if _starts is not None:
        _starts.write(f"{job} {timestamp * 1000} {started_ms:.3f}\n")


# Every second: procrastinate's cron takes an optional 6th column, seconds (croniter).
EVERY_SECOND = "* * * * * *"

for _i in range(int(os.environ.get("BENCH_PERIODIC_JOBS", "0"))):
    app.periodic(cron=EVERY_SECOND, periodic_id=f"p{_i}", task_kwargs={"job": _i})(tick)
