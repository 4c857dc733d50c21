"""Celery precision: `celery beat` + one `celery worker`, N beat entries each firing every
second, lateness of each fire from beat's own due instant to the start of the task's code.

    python precision.py [--quick] [--jobs N] [--seconds S] [--warmup W]

Setup followed (docs.celeryq.dev/en/stable/): "Periodic Tasks" — one `celery beat` process
(the default PersistentScheduler, shelve file in a fresh temp dir) with entries in
``beat_schedule``, and one `celery worker` (default prefork pool, default concurrency = number
of CPUs, here 2; --loglevel=INFO and --logfile as in "Daemonization"), Redis broker and result
backend ("Using Redis", db 5, flushed at start).

Deviations, and why:
- Sub-minute schedule: crontab has minute resolution, so each entry is
  ``schedule(timedelta(seconds=1), relative=True)``: the documented interval schedule with
  "the run time rounded to the resolution of the interval", which in Celery 5.7 puts every
  deadline on a whole second (see tasks.py). Without relative=True, beat's interval deadlines
  are last_run_at + 1 s: never aligned to wall-clock seconds and drifting by beat's lag.
- Due instant: beat passes it (``due_ms`` kwarg) through ``tasks.BenchScheduler``, the default
  PersistentScheduler with one override that computes, for the entry being sent, the same
  deadline beat's ``is_due`` computed (celery.utils.time.remaining on last_run_at). So lateness
  is beat's deadline -> the task's first line (time.time() on the worker), and a fire beat
  skipped (it can: with relative=True the next deadline is the whole second at or before
  last_run_at + 1 s, and last_run_at is when beat actually sent the previous one) is missed.
- The task (``tasks.tick``, ignore_result per the Tasks guide) RPUSHes (job, due, start) to a
  Redis list in db 5: the measurement's own store, not Celery's.

Window: "jobs exist" = beat logged "beat: Starting..." (it has loaded all N entries); the
window's first due instant is the first whole second at least W s (default 3) later, and it
covers S whole seconds. After it, the script waits until every job has a fire due at or after
the window's last second (or 60 s), stops beat, lets the worker drain its queue, stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402
import procs  # noqa: E402

SYSTEM, BACKEND = "celery", "redis"
REDIS_URL = "redis://127.0.0.1:6379/5"
STARTS_KEY = "bench:starts"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--loglevel", default="INFO", help="worker's and beat's (default INFO)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir with the logs")
    args = parser.parse_args()
    jobs = args.jobs if args.jobs is not None else (100 if args.quick else 1000)
    seconds = args.seconds if args.seconds is not None else (10 if args.quick else 60)

    if jobs < 1 or seconds < 1:
        parser.error("--jobs and --seconds must be at least 1")
    os.environ.update(BENCH_REDIS_URL=REDIS_URL, BENCH_STARTS_KEY=STARTS_KEY, BENCH_JOBS="0")
    import redis
    import tasks

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    work = Path(tempfile.mkdtemp(prefix="bench-celery-beat-"))
    env = procs.celery_env(
        BENCH_REDIS_URL=REDIS_URL, BENCH_STARTS_KEY=STARTS_KEY, BENCH_JOBS=str(jobs)
    )
    node = f"bench{os.getpid()}@{os.uname().nodename}"
    worker_log, beat_log = work / "worker.log", work / "beat.log"
    worker = beat = None
    ok = False
    try:
        worker = procs.start(
            ["worker", "--pool=prefork", f"--loglevel={args.loglevel}", "-n", node],
            work, worker_log, env,
        )  # fmt: skip
        procs.wait_worker_ready(tasks.app, node, worker, worker_log)
        beat = procs.start(
            ["beat", "--scheduler=tasks:BenchScheduler",
             f"--schedule={work / 'celerybeat-schedule'}", f"--loglevel={args.loglevel}"],
            work, beat_log, env,
        )  # fmt: skip

        def beat_started() -> bool:
            if beat.poll() is not None:
                raise RuntimeError(
                    f"celery beat exited ({beat.returncode})\n{procs.procs_output(beat_log)}"
                )
            return beat_log.exists() and "beat: Starting..." in beat_log.read_text(errors="replace")

        common.wait_until(beat_started, within=60)
        first = common.next_whole_second(args.warmup)
        last = first + (seconds - 1) * 1000
        common.say(
            f"beat started, {jobs} entries; window: {seconds} s from {first} (+{args.warmup} s)"
        )

        starts: list[tuple[int, int, float]] = []
        read = 0

        def collect() -> None:
            nonlocal read
            for raw in store.lrange(STARTS_KEY, read, -1):
                job, due, started = json.loads(raw)
                starts.append((job, due, started))
                read += 1

        while time.time() * 1000 < last + 1000:
            for proc, log in ((worker, worker_log), (beat, beat_log)):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"celery exited ({proc.returncode})\n{procs.procs_output(log)}"
                    )
            collect()
            time.sleep(0.5)

        def past_window() -> bool:
            collect()
            latest: dict[int, int] = {}
            for job, due, _ in starts:
                latest[job] = max(latest.get(job, 0), due)
            return len(latest) == jobs and min(latest.values()) >= last

        try:
            common.wait_until(past_window, within=60, every=0.5)
        except TimeoutError:
            common.say("not every job got a fire at/after the window's end within 60 s")
        procs.stop(beat)
        beat = None

        def drained() -> bool:
            before = store.llen(STARTS_KEY)
            time.sleep(1.0)
            return store.llen("celery") == 0 and store.llen(STARTS_KEY) == before

        try:
            common.wait_until(drained, within=60, every=0)
        except TimeoutError:
            common.say("the worker did not drain its queue within 60 s")
        collect()

        in_window = [s for s in starts if first <= s[1] <= last]
        off_grid = sum(1 for s in starts if s[1] % 1000)
        common.say(
            f"{len(starts)} runs recorded, {len(in_window)} in the window"
            f" (expected {jobs * seconds}); due instants not on a whole second: {off_grid}"
        )
        rows = common.precision_rows(
            "precision", SYSTEM, BACKEND, starts, range(jobs), (first, last)
        )
        common.say(", ".join(f"{r['metric']}={r['value']}" for r in rows))
        common.emit(rows)
        ok = True
        return 0
    finally:
        procs.stop(beat)
        procs.stop(worker)
        store.flushdb()
        if ok and not args.keep_logs:
            shutil.rmtree(work, ignore_errors=True)
        else:
            common.say(f"logs kept in {work}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001
        common.say(f"celery precision failed: {type(exc).__name__}: {exc}")
        sys.exit(1)
