"""A fake clock for the engine's ``Timers`` (engine/timers.py): time moves only when a test
says so, and the callbacks due by then run in order. No real waiting."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any


class FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimers:
    def __init__(self, now_ms: int = 1_000_000) -> None:
        self.now = now_ms
        self._queue: list[tuple[int, int, FakeHandle, Callable[..., object], tuple[Any, ...]]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self.now

    def call_at(self, at_ms: int, callback: Callable[..., object], *args: Any) -> FakeHandle:
        handle = FakeHandle()
        heapq.heappush(self._queue, (at_ms, next(self._order), handle, callback, args))
        return handle

    def call_later(self, delay_s: float, callback: Callable[..., object], *args: Any) -> FakeHandle:
        return self.call_at(self.now + round(delay_s * 1000), callback, *args)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        self.call_at(self.now, callback, *args)

    def pending(self) -> int:
        """Timers armed and not cancelled."""
        return sum(1 for entry in self._queue if not entry[2].cancelled)

    def advance(self, ms: int = 0) -> None:
        """Move the clock ``ms`` forward, running every callback due by then (callbacks that
        arm new timers due in that span run too)."""
        until = self.now + ms
        while self._queue and self._queue[0][0] <= until:
            at, _, handle, callback, args = heapq.heappop(self._queue)
            if handle.cancelled:
                continue
            self.now = max(self.now, at)
            callback(*args)
        self.now = until
