"""The Celery app and tasks of the Celery peer (imported by `celery -A tasks worker|beat` and by
throughput.py / precision.py, with this folder on PYTHONPATH).

Setup followed: "First Steps with Celery" + "Using Redis"
(docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html): Redis as broker
(``broker_url``) and Redis as result backend (``result_backend``), JSON serializer (the
default). Periodic tasks: "Periodic Tasks"
(docs.celeryq.dev/en/stable/userguide/periodic-tasks.html): ``beat_schedule`` entries with a
``celery.schedules.schedule`` (an interval), since crontab has minute resolution. Everything
else is Celery's default.

Environment (set by the scripts): BENCH_REDIS_URL (default redis://127.0.0.1:6379/5) and,
for beat, BENCH_JOBS (how many every-second beat entries) and BENCH_STARTS_KEY.

The precision task's due instant. Beat's interval schedule is relative to the entry's last run
(``last_run_at + run_every``), so plain intervals are not aligned to wall-clock seconds and
drift by beat's own lag at every fire. ``schedule(timedelta(seconds=1), relative=True)`` is
the documented option "the run time will be rounded to the resolution of the interval"; in
Celery 5.7 a 1 s interval rounds the deadline down to the whole second (microsecond=0) at or
before ``last_run_at + 1 s`` (celery.utils.time.remaining / _relative_end_dates). So each fire's
deadline is a whole second, computed by beat itself. ``BenchScheduler`` (the default
PersistentScheduler plus one override) computes that same deadline from the entry beat is about
to send, with the very function beat's ``is_due`` uses, and passes it to the task as the
``due_ms`` kwarg: the due instant is beat's own, not the worker's clock rounded.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from datetime import timedelta

import redis
from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import schedule
from celery.utils.time import maybe_make_aware, remaining

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
STARTS_KEY = os.environ.get("BENCH_STARTS_KEY", "bench:starts")

app = Celery("tasks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_connection_retry_on_startup=True,  # silences the 5.x deprecation warning only
)

_store = None  # one Redis client per (forked) worker process


def _redis() -> redis.Redis:
    global _store
    if _store is None:
        _store = redis.Redis.from_url(REDIS_URL)
    return _store


@app.task
def noop() -> None:
    """The throughput job: does nothing (its SUCCESS result is stored in the backend)."""
    return None


@app.task
def shell() -> int:
    """The throughput_shell job: runs the shell command `true` as a subprocess."""
    return subprocess.run(["true"], check=True).returncode


@app.task(ignore_result=True)
def tick(job: int, due_ms: int) -> None:
    """The precision job: records (job, due instant, epoch ms its code started).

    ``ignore_result``: the docs' advice for tasks whose result nobody reads (Tasks guide,
    "Ignore results you don't want"); the start time goes to a Redis list instead."""
    started_ms = time.time() * 1000
    _redis().rpush(STARTS_KEY, json.dumps([job, due_ms, started_ms]))


def due_ms_of(entry) -> int:
    """Beat's deadline for ``entry`` (the one it is sending now), epoch ms: the same
    ``remaining(last_run_at, run_every, relative=...)`` that ``schedule.is_due`` evaluates."""
    sched = entry.schedule
    start = maybe_make_aware(entry.last_run_at, sched.tz)
    deadline = start + remaining(start, sched.run_every, now=start, relative=sched.relative)
    return round(deadline.timestamp() * 1000)


class BenchScheduler(PersistentScheduler):
    """The default scheduler (shelve-backed), passing each fire's due instant to the task."""

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if entry.task == tick.name:
            entry = copy.copy(entry)
            entry.kwargs = {**entry.kwargs, "due_ms": due_ms_of(entry)}
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)


_jobs = int(os.environ.get("BENCH_JOBS", "0"))
app.conf.beat_schedule = {
    f"job-{i}": {
        "task": tick.name,
        "schedule": schedule(timedelta(seconds=1), relative=True),
        "args": (i,),
    }
    for i in range(_jobs)
}
