"""The engine's clock and timers as one injected part: the run lifecycle and the task masters
read the time and arm their timers through ``Timers``, so that unit tests drive them with a
fake clock and no real waiting (tests/unit/engine/fake_timers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from tickwork.clock import loop_time_for, now_ms

__all__ = ["Cancellable", "LoopTimers", "Timers"]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timers(Protocol):
    """Wall-clock time (UTC epoch ms) and callbacks on the engine's event loop."""

    def now_ms(self) -> int: ...

    def call_at(self, at_ms: int, callback: Callable[..., object], *args: Any) -> Cancellable:
        """Call ``callback(*args)`` at wall-clock instant ``at_ms`` (at once if it passed)."""

    def call_later(
        self, delay_s: float, callback: Callable[..., object], *args: Any
    ) -> Cancellable: ...

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None: ...


class LoopTimers:
    """``Timers`` over the running event loop: the real thing. The loop is looked up on first
    use, since the engine is built before its loop runs."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now_ms(self) -> int:
        return now_ms()

    def call_at(
        self, at_ms: int, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        loop = self.loop
        return loop.call_at(loop_time_for(loop, at_ms), callback, *args)

    def call_later(
        self, delay_s: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        return self.loop.call_later(delay_s, callback, *args)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        self.loop.call_soon(callback, *args)
