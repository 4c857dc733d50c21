"""procrastinate precision: N periodic jobs each firing every second for S seconds; lateness =
(epoch ms when the job's code starts) - (its due second), missed and doubled fires.

Usage: python precision.py [--quick] [--jobs N] [--seconds S] [--concurrency C]

Setup followed (procrastinate docs): "howto/advanced/cron" (``@app.periodic``; the cron
takes an optional 6th column for seconds, so "* * * * * *" fires every second; N schedules
of one task are N ``app.periodic(..., periodic_id="p<i>", task_kwargs={"job": i})``
registrations, as the docs show for several schedules of one task; the task receives the
``timestamp`` it was scheduled for, which is the due instant used here), quickstart
(``procrastinate schema --apply`` on a fresh database; the ``procrastinate worker`` CLI: the
worker is what defers periodic jobs, then runs them), "discussions: asynchronous operations &
concurrency" (async task, ``--concurrency=C``, C = 10 by default, pool C + 1; see tasks.py).

The job's code (tasks.tick) appends "<job> <timestamp * 1000> <time.time() ms>" to a file as
its first action; this script reads it after stopping the worker.

Window: after the worker's first periodic run is recorded (all N schedules are registered at
import, before the worker starts), the window starts at the whole second ``--warmup`` (3) s
later and covers S seconds. The script waits until every (job, second) of the window has run,
or until no new fire of the window has come for 15 s (a late fire is late, not missed; cap:
10 min after the window), then stops the worker.

What to know when reading the figures: procrastinate's periodic deferrer deliberately sleeps
until 0.5 s after each due second (periodic.MARGIN = 0.5, "to avoid waking up too early"),
then defers the due jobs one by one (one INSERT each, uniqueness of (task, periodic_id,
timestamp) enforced by the database), and the worker then fetches them (LISTEN/NOTIFY). So
lateness is >= 500 ms by design. No deviation from the defaults.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402
import psycopg  # noqa: E402

import support  # noqa: E402

SYSTEM, BACKEND = "procrastinate", "postgresql"
STALL = 15.0  # s without a new fire of the window: the rest are missed
MAX_WAIT = 600.0  # s after the window's end, at most (procrastinate's max_delay is 10 min)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--log-level", help="the worker's (default: procrastinate's, INFO)")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    if args.jobs is None:
        args.jobs = 100 if args.quick else 1000
    if args.seconds is None:
        args.seconds = 10 if args.quick else 60
    return args


def read_starts(path: Path) -> list[tuple[int, int, float]]:
    starts = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:  # a line being written when read is skipped
            starts.append((int(parts[0]), int(parts[1]), float(parts[2])))
    return starts


def main() -> int:
    args = parse()
    with tempfile.TemporaryDirectory(prefix="procrastinate-precision-") as tmp:
        starts_file = Path(tmp) / "starts.txt"
        starts_file.touch()
        extra = {
            "BENCH_CONCURRENCY": str(args.concurrency),
            "BENCH_PERIODIC_JOBS": str(args.jobs),
            "BENCH_STARTS_FILE": str(starts_file),
        }
        with support.fresh_database(extra) as env, psycopg.connect(autocommit=True) as conn:
            with support.worker(
                env, f"--concurrency={args.concurrency}", log_level=args.log_level
            ) as process:
                common.wait_until(lambda: support.worker_registered(conn), within=60)
                common.wait_until(lambda: starts_file.stat().st_size > 0, within=60)
                first = common.next_whole_second(args.warmup)
                last = first + (args.seconds - 1) * 1000
                expected = args.jobs * args.seconds
                common.say(
                    f"{args.jobs} jobs every second; window {args.seconds} s from "
                    f"{time.strftime('%H:%M:%S', time.localtime(first / 1000))}"
                )
                time.sleep(max(0.0, last / 1000 + 1 - time.time()))
                # Late is not missed: wait while fires of the window keep coming in.
                cap, progress, count = last / 1000 + MAX_WAIT, time.time(), -1
                while True:
                    if process.poll() is not None:
                        raise SystemExit(f"the worker died ({process.returncode})")
                    seen = {(j, due) for j, due, _ in read_starts(starts_file)
                            if first <= due <= last}  # fmt: skip
                    if len(seen) >= expected:
                        break
                    if len(seen) != count:
                        count, progress = len(seen), time.time()
                    if time.time() - progress > STALL or time.time() > cap:
                        common.say(f"giving up waiting: {len(seen)} of {expected} fires")
                        break
                    time.sleep(0.2)
                time.sleep(1.0)  # a late double would show up here
        starts = read_starts(starts_file)
    in_window = sum(1 for _, due, _ in starts if first <= due <= last)
    common.say(f"{len(starts)} runs recorded, {in_window} in the window (expected {expected})")
    rows = common.precision_rows(
        "precision", SYSTEM, BACKEND, starts, range(args.jobs), (first, last)
    )
    for r in rows:
        common.say(f"  {r['metric']}: {r['value']} {r['unit']}")
    common.emit(rows)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
