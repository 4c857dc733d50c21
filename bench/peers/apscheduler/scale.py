"""Scale of APScheduler 3.x with its SQLAlchemy job store: J cron jobs, job i firing once a minute
at second i % 60 (``add_job(fire, "cron", second=i % 60)``), measured over M minutes.

    python scale.py --backend sqlite|postgresql [--quick] [--jobs J --minutes M] [--drain D]

Setup followed (details and every deviation in apsbench.py's docstring): the 3.x user guide,
https://apscheduler.readthedocs.io/en/3.x/userguide.html: BackgroundScheduler, SQLAlchemyJobStore
on a fresh SQLite file / fresh PostgreSQL database, the default ThreadPoolExecutor (20 threads,
the guide's example); misfire_grace_time=None and max_instances=3 (see apsbench.py).

The scheduler runs in this very process (APScheduler is a library), so rss_mib and cpu_s are this
process's own: common.rss_mib(os.getpid()) when the window ends, and common.cpu_seconds() at the
window's last second minus at its first. They include this script's small recorder (one tuple
per run, appended from the event listener) but not the adding of the jobs, which happens before
the window while the scheduler is paused (``start(paused=True)``, then ``resume()``).

Due instant and start: ``scheduled_run_time`` and ``retval`` (the job's ``time.time()`` read as
its first act) of the EVENT_JOB_EXECUTED event, as in precision.py. Window: the M*60 whole seconds
starting 10 s after every job exists and the scheduler runs; each job is expected to run once at
each of its M due instants in it. After the window we wait up to D s (default 60) for late runs;
one not started by then counts as missed (APScheduler would still run it later, late).
"""

from __future__ import annotations

import argparse
import os
import sys

import apsbench
import common

WARMUP_S = 10.0


def scale_rows(
    backend: str,
    runs: list[tuple[str, int, float]],
    ids: list[str],
    window: tuple[int, int],
    rss: float,
    cpu: float,
) -> list[common.Row]:
    first, last = window
    seen: dict[tuple[str, int], int] = {}
    late: list[float] = []
    for job, due, started in runs:
        if first <= due <= last:
            seen[(job, due)] = seen.get((job, due), 0) + 1
            late.append(started - due)
    missed = 0
    for i, job in enumerate(ids):
        # the first due instant of job i (second i % 60 of a minute) in the window
        offset = (i % 60 - first // 1000) % 60
        for due in range(first + offset * 1000, last + 1, 60_000):
            missed += (job, due) not in seen
    doubled = sum(n - 1 for n in seen.values() if n > 1)
    name = "scale", apsbench.SYSTEM, backend
    return [
        common.row(*name, "lateness_p99", common.percentile(late, 0.99), "ms"),
        common.row(*name, "lateness_max", max(late) if late else float("nan"), "ms"),
        common.row(*name, "missed", missed, "count"),
        common.row(*name, "doubled", doubled, "count"),
        common.row(*name, "rss_mib", rss, "MiB"),
        common.row(*name, "cpu_s", cpu, "s"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--minutes", type=int)
    parser.add_argument("--drain", type=float, default=60.0)
    args = parser.parse_args()
    apsbench.exit_on_sigterm()
    jobs = args.jobs if args.jobs is not None else (3000 if args.quick else 100_000)
    minutes = args.minutes if args.minutes is not None else (1 if args.quick else 3)
    me = os.getpid()

    recorder = apsbench.Recorder()
    with apsbench.fresh_store(args.backend) as url:
        scheduler = apsbench.make_scheduler(url, recorder)
        try:
            scheduler.start(paused=True)
            ids = apsbench.add_jobs(scheduler, [str(i % 60) for i in range(jobs)])
            scheduler.resume()
            first = common.next_whole_second(WARMUP_S)
            last = first + (minutes * 60 - 1) * 1000
            common.say(f"{jobs} jobs once a minute on {args.backend}; window {minutes} min")
            apsbench.sleep_until_ms(first, "warm-up")
            cpu_start = common.cpu_seconds(me)
            apsbench.sleep_until_ms(last + 1000, "window")
            cpu = common.cpu_seconds(me) - cpu_start
            rss = common.rss_mib(me)
            expected = jobs * minutes

            def complete() -> bool:
                done = {(j, d) for j, d, _ in recorder.snapshot() if first <= d <= last}
                return len(done) >= expected

            try:
                common.wait_until(complete, within=args.drain, every=1.0)
            except TimeoutError:
                common.say(f"  not every window fire ran within {args.drain:.0f} s after it")
            common.say(apsbench.recorder_line(recorder, first, last, expected))
        finally:
            apsbench.stop(scheduler)
    common.emit(scale_rows(args.backend, recorder.snapshot(), ids, (first, last), rss, cpu))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # a clear one-line reason on stderr, non-zero exit
        common.say(f"apscheduler scale failed: {exc!r}")
        raise
