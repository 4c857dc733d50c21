"""The scheduled fires waiting for their due instants, in batches (one timer per instant), and
the one answer to "are fires due now?" that every piece of housekeeping asks before it holds
the loop: the batch writer, the lease beats, the planning rounds, the collector and pruning.

Why it matters: on SQLite a transaction runs on the loop's thread (store/sql_base.py), and a
planning round or a lease beat that began just before a batch was due held its release for
tens of ms. Housekeeping waits out a batch due within moments instead; the fires go first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from tickwork.engine.timers import Timers

__all__ = ["STEP_ASIDE_AFTER_MS", "STEP_ASIDE_MS", "DueFires", "FireGuard"]

STEP_ASIDE_MS = 100
"""Housekeeping (a writer batch, a lease beat, a step of pruning; on SQLite each holds the
loop's thread for up to tens of ms) waits out a batch of fires due this soon."""
STEP_ASIDE_AFTER_MS = 50
"""... until this long after the batch's due instant (its runs are under way)."""


class FireGuard(Protocol):
    """What housekeeping asks of the due fires (``DueFires`` is the one that answers)."""

    async def step_aside(self) -> None: ...

    async def wait_out(self, within_ms: int, after_ms: int) -> None: ...

    def busy(self, around_ms: int) -> bool: ...


class _Pending(Protocol):
    @property
    def pending(self) -> bool:
        """Still waiting in its batch (not withdrawn, dropped or released otherwise)."""


F = TypeVar("F", bound=_Pending)


class DueFires(Generic[F]):
    """Fires by due instant. Made before the parts that ask it (the writer, the leases, the
    scheduler) and the run manager that fills it, so that each is given it when made."""

    def __init__(self, timers: Timers) -> None:
        self._timers = timers
        self._batches: dict[int, list[F]] = {}  # due instant (ms) -> its fires
        self._last_release_at = 0  # when the last batch was released (epoch ms)

    def add(self, due: int, fire: F, release: Callable[[list[F]], None]) -> None:
        """Hold ``fire`` until ``due``; then ``release`` gets the fires of its batch that are
        still pending (the first fire of an instant names the release of the batch)."""
        batch = self._batches.get(due)
        if batch is None:  # one timer per due instant: its fires are released together
            batch = self._batches[due] = []
            self._timers.call_at(due, self._due, due, release)
        batch.append(fire)

    def _due(self, due: int, release: Callable[[list[F]], None]) -> None:
        fires = [fire for fire in self._batches.pop(due, ()) if fire.pending]
        self._last_release_at = self._timers.now_ms()
        release(fires)

    def next_within(self, now: int, span_ms: int) -> int | None:
        """The due instant of the next batch within ``span_ms`` from ``now``, if any."""
        soon = [
            due
            for due, fires in self._batches.items()
            if now <= due <= now + span_ms and any(f.pending for f in fires)
        ]
        return min(soon) if soon else None

    async def wait_out(self, within_ms: int, after_ms: int) -> None:
        """When a batch is due within ``within_ms``, sleep until ``after_ms`` past it, so its
        release is not held up; otherwise yield once, letting due timers run."""
        now = self._timers.now_ms()
        due = self.next_within(now, within_ms)
        await asyncio.sleep(0 if due is None else (due + after_ms - now) / 1000.0)

    async def step_aside(self) -> None:
        """Before housekeeping that holds the loop: let a batch of fires due in the next
        moments go first (a lease beat that began 14 ms before one held it 34 ms)."""
        await self.wait_out(STEP_ASIDE_MS, STEP_ASIDE_AFTER_MS)

    def busy(self, around_ms: int) -> bool:
        """Are fires due within ``around_ms``, or was a batch released less than half that
        long ago (its runs still starting)?"""
        now = self._timers.now_ms()
        return (
            now - self._last_release_at < around_ms // 2
            or self.next_within(now, around_ms) is not None
        )
