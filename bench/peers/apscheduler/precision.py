"""Precision of APScheduler 3.x with its SQLAlchemy job store: N jobs with a cron trigger firing
every second (``second='*'``) for S seconds; lateness = start of the job's code - due instant.

    python precision.py --backend sqlite|postgresql [--quick] [--jobs N --seconds S] [--drain D]

Setup followed (details and every deviation in apsbench.py's docstring): the 3.x user guide,
https://apscheduler.readthedocs.io/en/3.x/userguide.html: BackgroundScheduler (the benchmark's
main thread waits and counts; it is BlockingScheduler's loop in a thread), SQLAlchemyJobStore on a
fresh SQLite file / fresh PostgreSQL database, the default ThreadPoolExecutor with 20 threads (the
guide's example), jobs added with ``add_job(fire, "cron", second="*")``.
Deviations: misfire_grace_time=None (default 1 s would silently drop runs more than 1 s late;
the maintainer's advice for run-late-rather-than-never), max_instances=3 (the guide's example).

Due instant: ``scheduled_run_time`` of the EVENT_JOB_EXECUTED event, APScheduler's own due
instant for that run; start: the job function's return value, ``time.time()`` read as its first
act (the same event carries it as ``retval``). No clock rounding.

Window: the S whole seconds starting 3 s after every job exists and the scheduler runs. After the
window we wait up to D s (default max(30, S)) for late runs of window instants; a (job, second)
with no run started by then counts as missed (APScheduler would still run it later).
"""

from __future__ import annotations

import argparse
import json
import sys

import apsbench
import common

WARMUP_S = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--drain", type=float, help="s to wait for late runs after the window")
    parser.add_argument("--dump", help="also write every run (job, due ms, start ms) here, JSON")
    args = parser.parse_args()
    apsbench.exit_on_sigterm()
    jobs = args.jobs if args.jobs is not None else (100 if args.quick else 1000)
    seconds = args.seconds if args.seconds is not None else (10 if args.quick else 60)
    drain = args.drain if args.drain is not None else max(30.0, float(seconds))

    recorder = apsbench.Recorder()
    with apsbench.fresh_store(args.backend) as url:
        scheduler = apsbench.make_scheduler(url, recorder)
        try:
            scheduler.start(paused=True)
            ids = apsbench.add_jobs(scheduler, ["*"] * jobs)
            scheduler.resume()
            first = common.next_whole_second(WARMUP_S)
            last = first + (seconds - 1) * 1000
            common.say(f"{jobs} jobs every second on {args.backend}; window {seconds} s")
            apsbench.sleep_until_ms(last + 1000, "window")
            expected = jobs * seconds

            def complete() -> bool:
                done = {(j, d) for j, d, _ in recorder.snapshot() if first <= d <= last}
                return len(done) >= expected

            try:
                common.wait_until(complete, within=drain, every=0.5)
            except TimeoutError:
                common.say(f"  not every window fire ran within {drain:.0f} s after the window")
            common.say(apsbench.recorder_line(recorder, first, last, expected))
        finally:
            apsbench.stop(scheduler)
    rows = common.precision_rows(
        "precision", apsbench.SYSTEM, args.backend, recorder.snapshot(), ids, (first, last)
    )
    if args.dump:
        with open(args.dump, "w") as out:
            json.dump(recorder.snapshot(), out)
    common.emit(rows)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # a clear one-line reason on stderr, non-zero exit
        common.say(f"apscheduler precision failed: {exc!r}")
        raise
