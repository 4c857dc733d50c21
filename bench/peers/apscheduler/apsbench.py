"""What precision.py and scale.py share: a fresh job store, the scheduler set up the way the
APScheduler 3.x user guide shows, and the recorder of runs.

Followed: https://apscheduler.readthedocs.io/en/3.x/userguide.html ("Choosing the right
scheduler, job store(s), executor(s) and trigger(s)", "Configuring the scheduler",
"Scheduler events") and https://apscheduler.readthedocs.io/en/3.x/modules/jobstores/sqlalchemy.html.

- Scheduler: BackgroundScheduler. The guide says BlockingScheduler "when the scheduler is the
  only thing running in your process" and BackgroundScheduler when it runs in the background of
  an application; here the benchmark's main thread has to wait, count and report while the
  scheduler runs, so BackgroundScheduler. It is BlockingScheduler's own main loop
  (``BackgroundScheduler`` subclasses it) run in one thread, so nothing in the scheduling
  differs. timezone=UTC (seconds do not depend on the zone; it spares the tzlocal lookup).
- Job store: SQLAlchemyJobStore, the guide's recommendation for persistence ("SQLAlchemyJobStore
  on a PostgreSQL backend"), here on a fresh SQLite file or a fresh PostgreSQL database, with
  the default engine settings (no WAL or pool tuning: the docs give none).
- Executor: the default ThreadPoolExecutor (the guide: "should be good enough for most
  purposes"), with 20 threads as in the guide's configuration example instead of the default 10.
  The job does nothing, so the thread count hardly matters; the scheduler thread is the work.
- Job defaults, deviations from APScheduler's defaults, as a user who wants every fire would
  set them:
  * misfire_grace_time=None (default 1 s): by default a run that starts more than 1 s after its
    due instant is dropped (EVENT_JOB_MISSED). The maintainer's advice for cron-like "run it
    late rather than not at all" is to disable or extend it
    (https://github.com/agronholm/apscheduler/issues/296). So a lagging scheduler shows up here
    as lateness, and as "missed" only when a run has not started by the end of our drain wait.
  * coalesce=False (the default, kept explicitly): each due instant runs once, none merged.
  * max_instances=3 (the guide's example; default 1): a run still queued in the pool when the
    next second's run is submitted would otherwise be skipped (EVENT_JOB_MAX_INSTANCES).

Due instant and start: the job function returns ``time.time()`` taken as its first act; the
scheduler's EVENT_JOB_EXECUTED event carries that return value (``retval``) together with
``scheduled_run_time``, the due instant APScheduler itself computed for that run (run_job()
emits one event per run time it calls the function for). So neither instant is guessed by
rounding a clock.

What bounds it: one scheduler thread makes a pass over the due jobs (one SELECT, unpickling every
due job), then for each job submits it and stores its next run time with its own UPDATE in its
own transaction (SQLAlchemyJobStore.update_job), so a pass costs about one commit per due job
(1-4 ms here). A job that fell behind is caught up in one submission with all its due instants
(coalesce=False), each of which still runs and is measured once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common  # noqa: E402
from apscheduler.events import (  # noqa: E402
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.executors.pool import ThreadPoolExecutor  # noqa: E402
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402

PG_ADMIN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
SYSTEM = "apscheduler"


def fire() -> float:
    """The job: its first (and only) act is to read the clock."""
    return time.time()


@contextlib.contextmanager
def fresh_store(backend: str) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty database; removed afterwards, even on failure."""
    if backend == "sqlite":
        home = tempfile.mkdtemp(prefix="aps-bench-")
        path = Path(home) / "jobs.sqlite"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in Path(home).iterdir():
                leftover.unlink()
            os.rmdir(home)
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r} (sqlite|postgresql)")
    import psycopg2

    name = f"bench_aps_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def admin(sql: str) -> None:
        conn = psycopg2.connect(**PG_ADMIN)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"postgresql+psycopg2://{PG_ADMIN['user']}@{PG_ADMIN['host']}:{PG_ADMIN['port']}/{name}"
        )
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Recorder:
    """Every run's (job id, due ms, start ms), from the scheduler's job events."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int, float]] = []
        self.missed_events = 0
        self.max_instance_skips = 0
        self.errors = 0
        self._lock = threading.Lock()

    def __call__(self, event) -> None:  # noqa: ANN001 (an apscheduler event)
        if event.code == EVENT_JOB_EXECUTED:
            due = round(event.scheduled_run_time.timestamp() * 1000)
            with self._lock:
                self.runs.append((event.job_id, due, event.retval * 1000))
        elif event.code == EVENT_JOB_MISSED:
            self.missed_events += 1
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            self.max_instance_skips += 1
        elif event.code == EVENT_JOB_ERROR:
            self.errors += 1

    def snapshot(self) -> list[tuple[str, int, float]]:
        with self._lock:
            return list(self.runs)

    def diagnostics(self) -> str:
        return (
            f"runs seen {len(self.runs)}, EVENT_JOB_MISSED {self.missed_events}, "
            f"max-instance skips {self.max_instance_skips}, job errors {self.errors}"
        )


def make_scheduler(url: str, recorder: Recorder) -> BackgroundScheduler:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # Skipped or late runs are counted from the events; one warning line each would flood stderr.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        executors={"default": ThreadPoolExecutor(20)},
        job_defaults={"coalesce": False, "max_instances": 3, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.add_listener(
        recorder,
        EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR,
    )
    return scheduler


def add_jobs(scheduler: BackgroundScheduler, seconds_of: list[str]) -> list[str]:
    """Adds job i with a cron trigger firing at second ``seconds_of[i]`` of every minute
    ('*' = every second); the scheduler is paused meanwhile (``start(paused=True)``, documented),
    so the adding is not measured. Returns the job ids."""
    ids = []
    started = time.monotonic()
    for i, second in enumerate(seconds_of):
        job_id = f"j{i}"
        scheduler.add_job(fire, "cron", second=second, id=job_id, name=job_id)
        ids.append(job_id)
        if (i + 1) % 1000 == 0:
            common.say(f"  added {i + 1}/{len(seconds_of)} jobs")
    common.say(f"added {len(ids)} jobs in {time.monotonic() - started:.1f} s")
    return ids


def stop(scheduler: BackgroundScheduler) -> None:
    """Shuts the scheduler down without running what is still queued in its thread pool.

    3.x's shutdown() wakes the scheduler loop, which makes one more pass over the due jobs after
    the executors are shut down (one "cannot schedule new futures after shutdown" error per due
    job); so the jobs are paused out and removed first (public API, after the measurement)."""
    if not scheduler.running:
        return
    pool = getattr(scheduler._lookup_executor("default"), "_pool", None)
    with contextlib.suppress(Exception):
        scheduler.pause()
        scheduler.remove_all_jobs()
    scheduler.shutdown(wait=False)
    if pool is not None:  # drop the runs still queued, so the process can exit now
        pool.shutdown(wait=False, cancel_futures=True)
    for store in scheduler._jobstores.values():
        store.engine.dispose()  # closes what the loop's last pass opened


def sleep_until_ms(epoch_ms: float, label: str) -> None:
    while True:
        left = epoch_ms / 1000 - time.time()
        if left <= 0:
            return
        common.say(f"  {label}: {left:5.1f} s left")
        time.sleep(min(left, 5.0))


def recorder_line(recorder: Recorder, first: int, last: int, expected: int) -> str:
    inside = [(j, d, s) for j, d, s in recorder.snapshot() if first <= d <= last]
    worst = max((s - d for _, d, s in inside), default=float("nan"))
    return (
        f"window fires: {len(inside)} of {expected} expected, worst lateness {worst:.0f} ms; "
        + recorder.diagnostics()
    )


def exit_on_sigterm() -> None:
    """SIGTERM (e.g. the driver's timeout) exits through the ``finally`` blocks, so the scheduler
    is stopped and the fresh database dropped."""

    def handler(*_: object) -> None:
        common.say("stopped by SIGTERM: stopping the scheduler, removing the database")
        sys.exit(143)

    signal.signal(signal.SIGTERM, handler)
