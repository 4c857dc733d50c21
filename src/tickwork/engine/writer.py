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
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._after_flush: list[Callable[[], Awaitable[None]]] = []

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tickwork-batch-writer")

    def update(self, update: InstanceUpdate) -> None:
        self._updates.append(update)
        self._kick()

    def log(self, line: LogLine) -> None:
        self._logs.append(line)
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        if self._task is None:
            await self._write_all()
            return
        while self._updates or self._logs or not self._idle.is_set():
            self._wake.set()
            await self._idle.wait()

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
            if not (self._updates or self._logs):
                self._idle.set()
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
