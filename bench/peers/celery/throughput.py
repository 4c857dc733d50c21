"""Celery throughput: R ``delay()`` calls of a no-op task (or, with --shell, of a task running
`true` as a subprocess), until every run's final state is stored in the Redis result backend.

    python throughput.py [--quick] [--runs R] [--shell] [--loglevel INFO]

Setup followed (docs.celeryq.dev/en/stable/): "Using Redis" (Redis broker + Redis result
backend), "Workers Guide" and "Daemonization" (a `celery worker` process with the default
prefork pool, --loglevel=INFO and a --logfile, as in the docs' production daemon config).
Concurrency: not given, so Celery's default, "the number of CPUs available on the machine"
(Workers Guide, "Concurrency"), which the docs say is the starting point to tune from; here 2.
Prefetch multiplier, acks, serializer: defaults. Results: the default (stored; ``noop``/``shell``
do not set ignore_result).

Client: one thread in this process calling ``task.delay()`` R times as fast as it can (what
an application does; more threads would only fight over the GIL on this 2-core machine). Each
``delay()`` with the Redis result backend also SUBSCRIBEs to the task's result channel (and
UNSUBSCRIBEs when the AsyncResult is dropped): that is the normal API's cost and is included.
The AsyncResults are not kept; only their ids.

End of the measurement: every task's result key (``celery-task-meta-<id>``) holds a SUCCESS
state. This script checks for the keys with pipelined EXISTS every 0.25 s (cheap, and it never
touches the worker), then reads them all and takes the latest ``date_done`` — the timestamp
the worker put in the stored result, taken right before its SET — as the moment the last final
state was stored. runs_per_s = R / (that - the instant just before the first delay()). Same
machine, same clock. A run not SUCCESS is an error.

Deviation: none from the docs' setup; the broker/result db is Redis db 5, flushed at start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402
import procs  # noqa: E402

SYSTEM, BACKEND = "celery", "redis"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--shell", action="store_true", help="the job runs `true` as a subprocess")
    parser.add_argument("--loglevel", default="INFO", help="the worker's (default INFO)")
    args = parser.parse_args()
    runs = args.runs if args.runs is not None else (2000 if args.quick else 20000)
    if runs < 1:
        parser.error("--runs must be at least 1")
    scenario = "throughput_shell" if args.shell else "throughput"

    redis_url = "redis://127.0.0.1:6379/5"
    os.environ["BENCH_REDIS_URL"] = redis_url
    import redis
    import tasks

    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    task = tasks.shell if args.shell else tasks.noop
    work = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    log = work / "worker.log"
    node = f"bench{os.getpid()}@{os.uname().nodename}"
    worker = None
    ok = False
    try:
        worker = procs.start(
            ["worker", "--pool=prefork", f"--loglevel={args.loglevel}", "-n", node],
            work, log, procs.celery_env(BENCH_REDIS_URL=redis_url),
        )  # fmt: skip
        procs.wait_worker_ready(tasks.app, node, worker, log)
        common.say(f"worker ready ({os.cpu_count()} CPUs: default concurrency); {runs} x delay()")

        ids: list[str] = []
        t0 = time.time()
        for _ in range(runs):
            ids.append(task.delay().id)
        sent = time.time()
        common.say(f"sent {runs} in {sent - t0:.2f} s ({runs / (sent - t0):.0f}/s)")

        keys = [tasks.app.backend.get_key_for_task(i) for i in ids]
        pending = list(keys)
        deadline = time.monotonic() + max(120.0, runs / 20)
        while pending:
            if worker.poll() is not None:
                raise RuntimeError(
                    f"celery worker exited ({worker.returncode})\n{procs.procs_output(log)}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} of {runs} results not stored in time")
            pipe = store.pipeline(transaction=False)
            for key in pending:
                pipe.exists(key)
            pending = [k for k, there in zip(pending, pipe.execute(), strict=True) if not there]
            if pending:
                time.sleep(0.25)
        seen = time.time()

        last_done = 0.0
        bad = 0
        for start in range(0, len(keys), 1000):
            for raw in store.mget(keys[start : start + 1000]):
                meta = json.loads(raw)
                bad += meta["status"] != "SUCCESS"
                done = datetime.fromisoformat(meta["date_done"]).timestamp()
                last_done = max(last_done, done)
        if bad:
            raise RuntimeError(f"{bad} of {runs} runs did not end in SUCCESS")
        elapsed = last_done - t0
        common.say(
            f"last result stored {elapsed:.2f} s after the first delay() (seen by polling at"
            f" {seen - t0:.2f} s): {runs / elapsed:.0f} runs/s"
        )
        common.emit(
            [
                common.row(scenario, SYSTEM, BACKEND, "runs_per_s", runs / elapsed, "runs/s"),
                common.row(scenario, SYSTEM, BACKEND, "runs", runs, "count"),
            ]
        )
        ok = True
        return 0
    finally:
        procs.stop(worker)
        store.flushdb()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            common.say(f"worker log kept in {work}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001
        common.say(f"celery throughput failed: {type(exc).__name__}: {exc}")
        sys.exit(1)
