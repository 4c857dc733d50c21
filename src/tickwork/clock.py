"""The one wall clock: every instant is UTC epoch milliseconds. Here, below every layer, so
that the engine, the workers, the store and the services read the same clock (and tests inject
their own where a part takes a clock)."""

from __future__ import annotations

import asyncio
import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def loop_time_for(loop: asyncio.AbstractEventLoop, at_ms: int) -> float:
    """The event loop's clock value at which wall-clock instant ``at_ms`` happens."""
    return loop.time() + (at_ms - time.time_ns() / 1_000_000) / 1000.0


def monotonic_ms() -> int:
    """Milliseconds of a clock that never jumps (not an instant): for how long something
    took or has waited, which a wall clock set back or forward would get wrong."""
    return time.monotonic_ns() // 1_000_000
