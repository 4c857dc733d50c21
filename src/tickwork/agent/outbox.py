"""The agent's outgoing messages, waiting to go out in batches (one frame each).

Messages keep their order. While the agent is disconnected they stay here and go out after it
reconnects; the wait is bounded by log lines: beyond ``max_log_lines`` waiting, the oldest log
lines are dropped (and counted). Nothing else is ever dropped: ``started``, ``progress`` and
``finished`` are bounded by the runs themselves, and a lost ``finished`` would leave an
instance running for ever.

Before that bound, back-pressure: past ``LOG_ROOM_LINES`` log lines waiting, ``log_room``
answers a future done once they are down to half, and the runs' output is not read until
then (``worker/process_tree.py``): a run printing faster than the server takes its lines
waits on its own output, and no line is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque

from tickwork.worker.messages import AgentMessage, Finished, Log, Mapped

__all__ = ["LOG_ROOM_LINES", "MAX_LOG_LINES", "Outbox", "message_size"]

MAX_LOG_LINES = 100_000
LOG_ROOM_LINES = 10_000
"""Log lines waiting past which the runs' output is not read (``log_room``)."""


def message_size(message: AgentMessage) -> int:
    """About how many bytes of a frame a message takes (its text; JSON may escape more)."""
    if isinstance(message, Log):
        return len(message.line) + 96
    if isinstance(message, Mapped):
        return sum(len(t) + 4 for t in message.tasks) + 160
    return 160


class _Entry:
    __slots__ = ("message",)

    def __init__(self, message: AgentMessage) -> None:
        self.message: AgentMessage | None = message  # None: a log line dropped in place


class Outbox:
    def __init__(self, max_log_lines: int = MAX_LOG_LINES) -> None:
        if max_log_lines < 1:
            raise ValueError("max_log_lines must be at least 1")
        self._max_log_lines = max_log_lines
        self._entries: deque[_Entry] = deque()
        self._logs: deque[_Entry] = deque()  # the log entries still held, oldest first
        self._live = 0  # entries whose message is not dropped
        self._dropped_total = 0
        self._ready = asyncio.Event()
        self._room: asyncio.Future[None] | None = None  # done once few log lines wait

    def __len__(self) -> int:
        return self._live

    @property
    def log_lines(self) -> int:
        return len(self._logs)

    @property
    def dropped(self) -> int:
        """How many log lines were dropped because too many waited."""
        return self._dropped_total

    def put(self, message: AgentMessage) -> None:
        entry = _Entry(message)
        self._entries.append(entry)
        self._live += 1
        if isinstance(message, Log):
            self._logs.append(entry)
            if len(self._logs) > self._max_log_lines:
                self._drop_oldest_log()
        self._ready.set()

    def put_back(self, messages: list[AgentMessage]) -> None:
        """Return messages taken for a frame that could not be sent, ahead of the rest."""
        for message in reversed(messages):
            entry = _Entry(message)
            self._entries.appendleft(entry)
            self._live += 1
            if isinstance(message, Log):
                self._logs.appendleft(entry)
        while len(self._logs) > self._max_log_lines:
            self._drop_oldest_log()
        if self._live:
            self._ready.set()

    def take(self, limit: int, max_bytes: int | None = None) -> list[AgentMessage]:
        """Up to ``limit`` messages, oldest first, and about ``max_bytes`` of them at most
        (``message_size``; the first is taken whatever its size)."""
        batch: list[AgentMessage] = []
        size = 0
        while self._entries and len(batch) < limit:
            message = self._entries[0].message
            if message is not None and max_bytes is not None:
                size += message_size(message)
                if batch and size > max_bytes:
                    break
            entry = self._entries.popleft()
            if message is None:
                continue
            batch.append(message)
            if self._logs and self._logs[0] is entry:
                self._logs.popleft()
        self._live -= len(batch)
        self._skip_dropped()
        if not self._live:
            self._ready.clear()
        self._open_room()
        return batch

    def log_room(self) -> asyncio.Future[None] | None:
        """None while few log lines wait; else a future done once they are down to half of
        ``LOG_ROOM_LINES`` (the runs' output is not read until then)."""
        if len(self._logs) < LOG_ROOM_LINES:
            return None
        if self._room is None:
            self._room = asyncio.get_running_loop().create_future()
        return self._room

    def _open_room(self) -> None:
        room = self._room
        if room is not None and len(self._logs) <= LOG_ROOM_LINES // 2:
            self._room = None
            if not room.done():
                room.set_result(None)

    def finished_keys(self) -> list[Finished]:
        """The ``finished`` messages waiting (the runs whose outcome is not yet sent)."""
        return [e.message for e in self._entries if isinstance(e.message, Finished)]

    async def wait(self) -> None:
        """Return once a message waits."""
        await self._ready.wait()

    def _drop_oldest_log(self) -> None:
        entry = self._logs.popleft()
        entry.message = None
        self._live -= 1
        self._dropped_total += 1
        self._skip_dropped()
        if len(self._entries) > 2 * self._live + 1024:  # compact the dropped entries away
            self._entries = deque(e for e in self._entries if e.message is not None)

    def _skip_dropped(self) -> None:
        while self._entries and self._entries[0].message is None:
            self._entries.popleft()
