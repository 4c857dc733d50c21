"""Group commit for the hot path: instance updates and log lines are queued by the engine and
written in batches, one transaction per kind per batch, while the next batch accumulates.

Log lines can come faster than the database takes them (a run printing in a loop): past
``LOG_BACKLOG_LINES`` lines or ``LOG_BACKLOG_CHARS`` characters waiting, ``log_room`` answers
a future that is done once the backlog is down to half of that, and whoever can wait (a run's
pipe reader, a worker agent's socket) stops reading until then, so the backlog and the
server's memory stay bounded while the printer waits on its own output."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable

from tickwork.domain.models import InstanceUpdate, LogLine
from tickwork.engine.due_fires import FireGuard
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

MAX_BATCH = 5000
LOG_BACKLOG_LINES = 4 * MAX_BATCH
"""Log lines waiting past which ``log_room`` asks the producers to wait."""
LOG_BACKLOG_CHARS = 16 * 1024 * 1024
"""... or characters of them (lines are up to 16 KiB)."""


class BatchWriter:
    def __init__(self, store: Store, *, fires: FireGuard | None = None) -> None:
        self._store = store
        # asked before each batch: on SQLite a batch holds the loop's thread (a thousand
        # updates, ~25 ms), so fires due in the next moments go first
        self._fires = fires
        self._updates: list[InstanceUpdate] = []
        self._logs: list[LogLine] = []
        self._log_chars = 0  # the length of the lines in ``_logs``
        self._room: asyncio.Future[None] | None = None  # done when the log backlog is down
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # Counted since start, for flush: what was queued, and what was written (the queues
        # are written in order, a failed batch going back to the front)
        self._updates_queued = self._logs_queued = 0
        self._updates_written = self._logs_written = 0
        self._written = asyncio.Condition()
        # the updates written ahead of the queue (``update_first``), counted the same way
        self._firsts: list[InstanceUpdate] = []
        self._firsts_queued = self._firsts_written = 0
        # per lane (True: the first), (sequence number, order, callback): told once the
        # update of that number is written
        self._when_written: dict[bool, list[tuple[int, int, Callable[[], None]]]] = {
            False: [],
            True: [],
        }
        self._when_order = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tickwork-batch-writer")

    def update(self, update: InstanceUpdate) -> int:
        """Queue the update; its sequence number (``written``, ``when_written``)."""
        self._updates.append(update)
        self._updates_queued += 1
        self._kick()
        return self._updates_queued

    def update_first(self, update: InstanceUpdate) -> int:
        """Queue an update to be written ahead of the queued ones, in a statement of its own,
        and without stepping aside for due fires: a start claim (engine/run_launch.py), which
        a run waits for, of an instance that has no update queued (so the order of one
        instance's updates holds). Its sequence number (``written(first=True)``)."""
        self._firsts.append(update)
        self._firsts_queued += 1
        self._kick()
        return self._firsts_queued

    def written(self, seq: int, *, first: bool = False) -> bool:
        """Is the update of sequence number ``seq`` (and every one before it in its lane:
        ``first``, those of ``update_first``) written?"""
        return (self._firsts_written if first else self._updates_written) >= seq

    def when_written(self, seq: int, callback: Callable[[], None], *, first: bool = False) -> None:
        """Call ``callback`` (on the loop) once the update ``seq`` of its lane is written: a
        start claim lets its run go only once it is in the store."""
        if self.written(seq, first=first):
            asyncio.get_running_loop().call_soon(callback)
            return
        self._when_order += 1
        heapq.heappush(self._when_written[first], (seq, self._when_order, callback))
        self._kick()

    def log(self, line: LogLine) -> None:
        self._logs.append(line)
        self._log_chars += len(line.line)
        self._logs_queued += 1
        self._kick()

    def log_room(self) -> asyncio.Future[None] | None:
        """None while the log lines waiting are few; else a future done once they are down
        to half the bound (the producers that can wait should, until then)."""
        if len(self._logs) < LOG_BACKLOG_LINES and self._log_chars < LOG_BACKLOG_CHARS:
            return None
        if self._room is None:
            self._room = asyncio.get_running_loop().create_future()
        return self._room

    def _open_room(self, *, closing: bool = False) -> None:
        room = self._room
        if room is None:
            return
        if closing or (
            len(self._logs) <= LOG_BACKLOG_LINES // 2 and self._log_chars <= LOG_BACKLOG_CHARS // 2
        ):
            self._room = None
            if not room.done():
                room.set_result(None)

    def _kick(self) -> None:
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is written; not what is queued meanwhile
        (under a steady stream of runs the queue is never empty, and a lease beat that
        waited for that missed its renewals until the server was taken for dead)."""
        if self._task is None:
            await self._write_all()
            return
        updates, logs, firsts = self._updates_queued, self._logs_queued, self._firsts_queued
        self._wake.set()
        async with self._written:
            await self._written.wait_for(
                lambda: (
                    self._updates_written >= updates
                    and self._logs_written >= logs
                    and self._firsts_written >= firsts
                )
            )

    async def close(self) -> None:
        self._closing = True
        self._open_room(closing=True)  # nobody waits on a writer that closes
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

    def _tell_written(self, *, first: bool = False) -> None:
        waiting = self._when_written[first]
        written = self._firsts_written if first else self._updates_written
        while waiting and waiting[0][0] <= written:
            callback = heapq.heappop(waiting)[2]
            try:
                callback()
            except Exception:  # one waiter's bug must not stop the writer
                log.exception("a callback waiting for a written update failed")

    async def _write_firsts(self) -> None:
        """The updates queued to go first, in one statement (put back if it fails)."""
        firsts, self._firsts = self._firsts, []
        try:
            await self._store.update_instances(firsts)
        except Exception:
            log.exception("writing %d start claims failed; retrying", len(firsts))
            self._firsts[:0] = firsts
            if self._closing:
                raise
            await asyncio.sleep(0.5)
            return
        self._firsts_written += len(firsts)
        self._tell_written(first=True)
        async with self._written:
            self._written.notify_all()

    async def _write_all(self) -> None:
        while self._updates or self._logs or self._firsts:
            if self._firsts:  # ahead of the queue, and of the fires (they wait for these)
                await self._write_firsts()
            if not (self._updates or self._logs):
                continue
            # one batch of the queue after each statement of firsts: claims coming one after
            # another must not starve the queue
            if self._fires is not None and not self._closing:
                await self._fires.step_aside()
            updates, self._updates = self._updates[:MAX_BATCH], self._updates[MAX_BATCH:]
            logs, self._logs = self._logs[:MAX_BATCH], self._logs[MAX_BATCH:]
            chars = sum(len(x.line) for x in logs)
            self._log_chars -= chars
            try:
                if updates:
                    await self._store.update_instances(updates)
                if logs:
                    await self._store.append_logs(logs)
                self._updates_written += len(updates)
                self._logs_written += len(logs)
                self._open_room(closing=self._closing)
                self._tell_written()
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
                self._log_chars += chars
                if self._closing:
                    raise
                await asyncio.sleep(0.5)
