"""Group commit for the hot path: instance updates and log lines are queued by the engine and
written in batches, one transaction per kind per batch, while the next batch accumulates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tickwork.domain.models import InstanceUpdate, LogLine
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

MAX_BATCH = 5000


class BatchWriter:
    def __init__(
        self, store: Store, *, step_aside: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._store = store
        # awaited before each batch: on SQLite a batch holds the loop's thread (a thousand
        # updates, ~25 ms), so fires due in the next moments go first
        self._step_aside = step_aside
        self._updates: list[InstanceUpdate] = []
        self._logs: list[LogLine] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # Counted since start, for flush: what was queued, and what was written (the queues
        # are written in order, a failed batch going back to the front)
        self._updates_queued = self._logs_queued = 0
        self._updates_written = self._logs_written = 0
        self._written = asyncio.Condition()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tickwork-batch-writer")

    def update(self, update: InstanceUpdate) -> None:
        self._updates.append(update)
        self._updates_queued += 1
        self._kick()

    def log(self, line: LogLine) -> None:
        self._logs.append(line)
        self._logs_queued += 1
        self._kick()

    def _kick(self) -> None:
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is written; not what is queued meanwhile
        (under a steady stream of runs the queue is never empty, and a lease beat that
        waited for that missed its renewals until the server was taken for dead)."""
        if self._task is None:
            await self._write_all()
            return
        updates, logs = self._updates_queued, self._logs_queued
        self._wake.set()
        async with self._written:
            await self._written.wait_for(
                lambda: self._updates_written >= updates and self._logs_written >= logs
            )

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._write_all()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._write_all()
            if self._closing:
                return

    async def _write_all(self) -> None:
        while self._updates or self._logs:
            if self._step_aside is not None and not self._closing:
                await self._step_aside()
            updates, self._updates = self._updates[:MAX_BATCH], self._updates[MAX_BATCH:]
            logs, self._logs = self._logs[:MAX_BATCH], self._logs[MAX_BATCH:]
            try:
                if updates:
                    await self._store.update_instances(updates)
                if logs:
                    await self._store.append_logs(logs)
                self._updates_written += len(updates)
                self._logs_written += len(logs)
                async with self._written:
                    self._written.notify_all()
            except Exception:
                # The store is down or refused the batch: put it back and retry shortly,
                # so that no accepted change is lost.
                log.exception(
                    "writing a batch of %d updates, %d log lines failed; retrying",
                    len(updates),
                    len(logs),
                )
                self._updates[:0] = updates
                self._logs[:0] = logs
                if self._closing:
                    raise
                await asyncio.sleep(0.5)
