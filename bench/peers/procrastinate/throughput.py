"""procrastinate throughput: R runs of a no-op job (--shell: of a job running `true`), deferred
as fast as one client can, until all R have status 'succeeded' in procrastinate_jobs.

Usage: python throughput.py [--quick] [--runs R] [--shell] [--concurrency C] [--batch B]

Setup followed (procrastinate docs): quickstart (``procrastinate schema --apply`` on a fresh
database, the ``procrastinate worker`` CLI), "howto/basics/batch_defer" (the client defers
with ``Task.batch_defer_async``, in batches of B = 500 jobs, one batch after the other, so the
worker starts on the first batch while the client is still deferring: a user deferring many
jobs would use it; one single batch of R would keep every job invisible until the whole
insert commits), "howto/production/concurrency" + "discussions: asynchronous operations &
concurrency" (async tasks, one worker process with ``--concurrency=C`` sub-workers, C = 10 by
default, and a pool of C + 1 connections, as that page recommends for short jobs; see tasks.py).
Jobs are kept after they finish (the default, delete_jobs=never), so their final state is in
the jobs table; listen/notify is on (the default).

Measurement: t0 = just before the first batch is deferred; t1 = the time of the last
'succeeded' event procrastinate's trigger writes into procrastinate_events (NOW() of the
transaction that stored the job's final state: the moment it was stored, same clock, same
machine); runs_per_s = R / (t1 - t0). The script polls the jobs table every 20 ms until all R
jobs are 'succeeded' (any 'failed' job is an error).

Deviations: one worker process (the docs' other way to scale is more worker processes; the
machine has 2 cores and PostgreSQL shares them). Everything else is procrastinate's default.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402
import psycopg  # noqa: E402

import support  # noqa: E402

FULL_RUNS, QUICK_RUNS = 20000, 2000


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--shell", action="store_true", help="a job running `true`")
    parser.add_argument("--log-level", help="the worker's (default: procrastinate's, INFO)")
    parser.add_argument("--concurrency", type=int, default=10, help="worker sub-workers")
    parser.add_argument("--batch", type=int, default=500, help="jobs per batch_defer call")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = QUICK_RUNS if args.quick else FULL_RUNS
    return args


async def defer_all(task_name: str, runs: int, batch: int) -> float:
    """Defer ``runs`` jobs with batch_defer_async; returns t0 (epoch s, before the first)."""
    import tasks  # the environment (database, pool size) is set by now

    task = tasks.app.tasks[task_name]
    async with tasks.app.open_async():
        t0 = time.time()
        left = runs
        while left:
            n = min(batch, left)
            await task.batch_defer_async(*({} for _ in range(n)))
            left -= n
        common.say(f"deferred {runs} jobs in {time.time() - t0:.2f} s")
    return t0


def main() -> int:
    args = parse()
    scenario = "throughput_shell" if args.shell else "throughput"
    task_name = "shell_true" if args.shell else "noop"
    extra = {"BENCH_CONCURRENCY": str(args.concurrency), "BENCH_PERIODIC_JOBS": "0"}
    os.environ.update(extra)
    with support.fresh_database(extra) as env, psycopg.connect(autocommit=True) as conn:
        with support.worker(
            env, f"--concurrency={args.concurrency}", log_level=args.log_level
        ) as process:
            common.wait_until(lambda: support.worker_registered(conn), within=60)
            t0 = asyncio.run(defer_all(task_name, args.runs, args.batch))

            def done() -> bool:
                if process.poll() is not None:
                    raise SystemExit(f"the worker died ({process.returncode})")
                counts = dict(
                    conn.execute(
                        "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"
                    ).fetchall()
                )
                if counts.get("failed"):
                    raise SystemExit(f"{counts['failed']} jobs failed")
                return counts.get("succeeded", 0) >= args.runs

            within = max(120.0, args.runs / 20)
            deadline = time.monotonic() + within
            while not done():
                if time.monotonic() > deadline:
                    raise SystemExit(f"not all {args.runs} jobs succeeded within {within} s")
                time.sleep(0.02)
            seen = time.time()
            t1, succeeded = conn.execute(
                "SELECT extract(epoch FROM max(at))::float8, count(*) FROM procrastinate_events"
                " WHERE type = 'succeeded'"
            ).fetchone()
    if succeeded != args.runs:
        raise SystemExit(f"{succeeded} 'succeeded' events for {args.runs} runs")
    elapsed = t1 - t0
    common.say(
        f"{scenario}: {args.runs} runs, last stored {elapsed:.3f} s after the first defer "
        f"(seen by polling at {seen - t0:.3f} s), concurrency {args.concurrency}, "
        f"batch_defer_async x{args.batch}"
    )
    common.emit(
        [
            common.row(scenario, "procrastinate", "postgresql", "runs_per_s",
                       args.runs / elapsed, "runs/s"),
            common.row(scenario, "procrastinate", "postgresql", "runs", args.runs, "count"),
        ]
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
