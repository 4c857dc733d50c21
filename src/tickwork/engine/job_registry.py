"""The one source of job definitions in the engine (and of the jobs triggers run).

Runs, planning, recovery, pruning and the services' triggers all take a job's definition from
here. It holds the latest definition it was given of each job: planning claims, changes made
here or announced by another server, recovery and triggers remember what they read.

A trigger (``for_trigger``) does not read the job row every time: a definition read for a
trigger serves the triggers of the next ``TRIGGER_FRESH_MS``, unless a change to the job is
heard of first; after that it is read again, in case another server's change notification
was missed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from tickwork.clock import monotonic_ms
from tickwork.domain.models import Job

__all__ = ["TRIGGER_FRESH_MS", "JobReader", "JobRegistry"]

TRIGGER_FRESH_MS = 5000
"""The longest a job read for triggers is used without reading it again."""
TRIGGER_READS_KEPT = 100_000
"""At most this many jobs are marked read for triggers (past it, the marks start over)."""


class JobReader(Protocol):
    async def get_job(self, job_id: int) -> Job | None: ...


class JobRegistry:
    def __init__(self, store: JobReader, *, clock: Callable[[], int] = monotonic_ms) -> None:
        self._store = store
        self._clock = clock  # monotonic: a freshness span, not an instant
        self._jobs: dict[int, Job] = {}
        self._read_for_triggers: dict[int, int] = {}  # job id -> when read for a trigger

    def get(self, job_id: int) -> Job | None:
        """The definition held of the job (None: none is)."""
        return self._jobs.get(job_id)

    def holds(self, job_id: int) -> bool:
        return job_id in self._jobs

    def remember(self, job: Job) -> None:
        """Keep the job's latest definition. A version that differs only in its next fire
        time (each planning round claims the job anew) keeps the object held, so that runs
        prepared from it are known unchanged by identity at their due instant, not by
        rebuilding and comparing their requests then (the held next fire time is not used)."""
        held = self._jobs.get(job.id)
        if held is job or (
            held is not None
            # the same definition, read again (a trigger's read): no copy to compare
            and (held == job or replace(job, next_fire_time=held.next_fire_time) == held)
        ):
            return
        self._jobs[job.id] = job

    def changed(self, job_id: int) -> None:
        """The job changed (here or on another server): triggers read it again."""
        self._read_for_triggers.pop(job_id, None)

    def forget(self, job_id: int) -> None:
        """The job is deleted."""
        self._read_for_triggers.pop(job_id, None)
        self._jobs.pop(job_id, None)

    async def for_trigger(self, job_id: int) -> Job | None:
        """The job's definition for a trigger (None: no such job), read from the store only
        when it was not read for one within ``TRIGGER_FRESH_MS`` or changed since."""
        now = self._clock()
        read_at = self._read_for_triggers.get(job_id)
        held = self._jobs.get(job_id)
        if held is not None and read_at is not None and now - read_at < TRIGGER_FRESH_MS:
            return held
        job = await self._store.get_job(job_id)
        if job is None:
            return None
        self.remember(job)
        if len(self._read_for_triggers) >= TRIGGER_READS_KEPT:
            self._read_for_triggers.clear()
        self._read_for_triggers[job_id] = now
        return self._jobs[job_id]
