"""When Python's full garbage collection runs: between batches of fires, not during them.

A full (generation 2) collection walks every live object. With a thousand runs a second the
engine keeps enough objects alive that CPython started one about once a second, right after
a burst of fires, and each held the GIL for 25-90 ms (collecting almost nothing): the
fires of the next burst, or the rest of the current one, started that much later. While the
engine runs, automatic full collections are turned off (the young generations are collected
as usual) and the engine runs one itself every ``FULL_EVERY_S`` seconds (longer when they
take long, see ``SPACING``), at a moment with no fires due in the next ``QUIET_MS``. Objects
that exist when it starts (modules, the app) are frozen out of collections altogether
(``gc.freeze``), as CPython's docs advise for servers, and so are the survivors of each full
collection: the next one walks only what was made since. With 100,000 jobs the held job
definitions made each walk 30-300 ms (growing with the heap) for about a hundred objects
freed; a survivor that later becomes cyclic garbage waits for a complete collection, which
unfreezes everything first, every ``COMPLETE_EVERY`` collections. Frozen objects are still
freed by reference counting like any other, so only cycles wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FULL_EVERY_S = 10.0
"""How often a full collection runs at most (cyclic garbage waits about this long)."""
SPACING = 50
"""The next full collection waits at least this many times as long as the last one took, so
that they cost at most 2 % of the time however large the heap (with 100,000 jobs one took
about a second, and every 10 s they took a sixth of the server's CPU)."""
QUIET_MS = 300
"""A full collection starts only when no fires are due this soon."""
CHECK_S = 0.05
"""How often a due collection looks for its quiet moment."""
COMPLETE_EVERY = 30
"""Every this many full collections, one walks everything (the frozen survivors too): about
every five minutes."""
NEVER = 1_000_000_000
"""A generation-2 threshold no count reaches: no automatic full collections."""


def wait_after(took_s: float) -> float:
    """Seconds until the next full collection, after one that took ``took_s``."""
    return max(FULL_EVERY_S, took_s * SPACING)


class CollectionPacer:
    """One per engine; the collector's settings are the process's, changed while any
    engine of the process runs and given back when the last one stops."""

    _running = 0
    _saved: tuple[int, int, int] | None = None

    def __init__(self, busy: Callable[[int], bool]) -> None:
        self._busy = busy  # (ms) -> fires are due that soon, or a batch is under way
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        cls = CollectionPacer
        if cls._running == 0:
            if not gc.isenabled():  # the embedding program manages collection itself
                return
            cls._saved = gc.get_threshold()
            gc.freeze()
            young, middle, _ = cls._saved
            gc.set_threshold(young, middle, NEVER)
        cls._running += 1
        self._task = asyncio.create_task(self._loop(), name="tickwork-gc")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        cls = CollectionPacer
        cls._running -= 1
        if cls._running == 0 and cls._saved is not None:
            gc.set_threshold(*cls._saved)
            gc.unfreeze()
            cls._saved = None

    async def _loop(self) -> None:
        wait = FULL_EVERY_S
        done = 0
        while True:
            await asyncio.sleep(wait)
            for _ in range(int(FULL_EVERY_S / CHECK_S)):  # never more than a period late
                if not self._busy(QUIET_MS):
                    break
                await asyncio.sleep(CHECK_S)
            done += 1
            complete = done % COMPLETE_EVERY == 0
            started = time.perf_counter()
            found = collect(complete=complete)
            took = time.perf_counter() - started
            wait = wait_after(took)
            log.debug(
                "%s collection: %d object(s) freed in %.1f ms",
                "complete" if complete else "full",
                found,
                took * 1000,
            )


def collect(*, complete: bool) -> int:
    """A full collection of what is not frozen (``complete``: of everything), then its
    survivors frozen; the objects freed."""
    if complete:
        gc.unfreeze()
    found = gc.collect(2)
    gc.freeze()
    return found
