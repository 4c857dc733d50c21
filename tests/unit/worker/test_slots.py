"""Slots: a bound on runs at once, with a synchronous try_take."""

from __future__ import annotations

import asyncio

from tickwork.worker.slots import Slots


async def test_try_take_takes_free_slots_and_then_refuses() -> None:
    slots = Slots(2)
    assert slots.try_take() and slots.try_take()
    assert slots.locked() and not slots.try_take()
    slots.give()
    assert not slots.locked() and slots.try_take()


async def test_waiters_get_given_slots_in_turn_and_try_take_does_not_jump_the_queue() -> None:
    slots = Slots(1)
    assert slots.try_take()
    order: list[str] = []

    async def wait(name: str) -> None:
        await slots.take()
        order.append(name)

    first = asyncio.create_task(wait("first"))
    second = asyncio.create_task(wait("second"))
    await asyncio.sleep(0)
    slots.give()  # handed to "first"; nothing is free for try_take meanwhile
    assert not slots.try_take()
    await first
    slots.give()
    await second
    assert order == ["first", "second"]
    slots.give()
    assert slots.try_take()


async def test_a_cancelled_waiter_leaves_the_queue_or_passes_its_slot_on() -> None:
    slots = Slots(1)
    assert slots.try_take()
    cancelled = asyncio.create_task(slots.take())
    later = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    slots.give()
    await asyncio.wait_for(later, 1)  # the slot went to the waiter still there
    slots.give()
    assert slots.try_take() and not slots.try_take()

    handed = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()  # handed over, then the waiter is cancelled before it runs
    handed.cancel()
    await asyncio.gather(handed, return_exceptions=True)
    assert slots.try_take()  # the slot was passed back, not lost
