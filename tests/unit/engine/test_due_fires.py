"""Due fires (engine/due_fires.py): one batch and one timer per due instant, only pending
fires released, and the answer housekeeping asks before it holds the loop."""

from __future__ import annotations

from dataclasses import dataclass

from fake_timers import FakeTimers

from tickwork.engine.due_fires import STEP_ASIDE_MS, DueFires

NOW = 2_000_000


@dataclass
class Fire:
    name: str
    pending: bool = True


def test_fires_of_one_instant_are_released_together_and_only_pending_ones() -> None:
    timers = FakeTimers(NOW)
    fires: DueFires[Fire] = DueFires(timers)
    released: list[list[str]] = []

    def release(batch: list[Fire]) -> None:
        released.append([fire.name for fire in batch])

    a, b, c = Fire("a"), Fire("b"), Fire("c")
    fires.add(NOW + 100, a, release)
    fires.add(NOW + 100, b, release)
    fires.add(NOW + 200, c, release)
    assert timers.pending() == 2  # one timer per instant
    b.pending = False  # withdrawn meanwhile
    timers.advance(99)
    assert released == []
    timers.advance(101)
    assert released == [["a"], ["c"]]


def test_housekeeping_sees_fires_due_soon_and_a_batch_just_released() -> None:
    timers = FakeTimers(NOW)
    fires: DueFires[Fire] = DueFires(timers)
    fires.add(NOW + 5_000, Fire("later"), lambda batch: None)
    assert not fires.busy(STEP_ASIDE_MS)
    assert fires.next_within(NOW, STEP_ASIDE_MS) is None
    timers.advance(4_950)
    assert fires.busy(STEP_ASIDE_MS)
    assert fires.next_within(timers.now, STEP_ASIDE_MS) == NOW + 5_000
    timers.advance(50)  # released: its runs are still starting
    assert fires.busy(STEP_ASIDE_MS)
    timers.advance(STEP_ASIDE_MS // 2)
    assert not fires.busy(STEP_ASIDE_MS)


def test_a_withdrawn_fire_does_not_hold_housekeeping_back() -> None:
    timers = FakeTimers(NOW)
    fires: DueFires[Fire] = DueFires(timers)
    withdrawn = Fire("gone", pending=False)
    fires.add(NOW + 10, withdrawn, lambda batch: None)
    assert fires.next_within(NOW, STEP_ASIDE_MS) is None
