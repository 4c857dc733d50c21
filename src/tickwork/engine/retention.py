"""The history bound: each job keeps its last ``history_limit`` finished instances (its own
bound, else the server's); older ones are pruned in the background, a job at a time, only
for jobs that had enough instances finish since they were last pruned."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tickwork.domain.models import Instance, Job
from tickwork.engine.due_fires import FireGuard
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.schedules import history_limit
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

__all__ = ["PRUNE_SLACK", "PRUNE_STEP", "Retention"]

PRUNE_STEP = 20
"""Jobs whose history is pruned between two chances for due fires to go first."""
PRUNE_SLACK = 10
"""A job's history is pruned once a tenth of its bound (at least one) finished since the last
time: stored history exceeds the bound by that much at most, between two prunes."""


class Retention:
    def __init__(
        self,
        store: Store,
        *,
        jobs: JobRegistry,
        writer: BatchWriter,
        fires: FireGuard,
        history_limit: int,
        interval_s: float,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._writer = writer
        self._fires = fires  # a step of pruning waits out fires due in the next moments
        self._default_limit = history_limit
        self._interval_s = interval_s
        self._finished_unpruned: dict[int, int] = {}  # job -> instances finished since pruned
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="tickwork-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def count_finished(self, job: Job, instance: Instance, end: int) -> None:
        """A run manager final listener: one more finished instance of the job."""
        self._finished_unpruned[job.id] = self._finished_unpruned.get(job.id, 0) + 1

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.prune_now()
            except Exception:  # the store is away: try again next time
                log.exception("applying the history bound failed")

    async def prune_now(self) -> int:
        """Apply the history bound to every job that had a tenth of its ``history_limit``
        (at least one) instances finish since it was last pruned: one statement per job,
        and 100,000 jobs each pruned every 30 s were thousands of transactions a second."""
        await self._writer.flush()
        due: list[int] = []
        for job_id, finished in self._finished_unpruned.items():
            job = self._jobs.get(job_id)
            if job is None or finished >= max(1, self._limit(job) // PRUNE_SLACK):
                due.append(job_id)
        for job_id in due:
            del self._finished_unpruned[job_id]
        deleted = 0
        for n, job_id in enumerate(due):
            if n % PRUNE_STEP == 0:
                # On SQLite a transaction runs on the loop's thread: without this, pruning
                # the history of 10,000 jobs held every fire for ~2.6 s.
                await self._fires.step_aside()
            job = self._jobs.get(job_id) or await self._store.get_job(job_id)
            if job is None:
                continue
            deleted += await self._store.prune_history(job_id, self._limit(job))
        return deleted

    def _limit(self, job: Job) -> int:
        return history_limit(job, self._default_limit)
