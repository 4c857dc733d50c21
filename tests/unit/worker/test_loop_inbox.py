"""Calls from threads reach the loop in order, many per wake-up."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tickwork.worker.loop_inbox import inbox_of


async def test_calls_from_a_thread_run_on_the_loop_in_order_with_few_wake_ups() -> None:
    loop = asyncio.get_running_loop()
    inbox = inbox_of(loop)
    assert inbox_of(loop) is inbox
    wake_ups = 0
    original = loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal wake_ups
        wake_ups += 1
        return original(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    seen: list[int] = []
    on_loop: list[bool] = []
    done = asyncio.Event()

    def record(n: int) -> None:
        on_loop.append(threading.current_thread() is threading.main_thread())
        seen.append(n)
        if n == 999:
            done.set()

    def produce() -> None:
        for n in range(1000):
            inbox.put(record, n)

    try:
        # the loop is busy (blocked in this callback) while the thread puts all its calls
        thread = threading.Thread(target=produce)
        thread.start()
        thread.join()
        await asyncio.wait_for(done.wait(), 5)
    finally:
        del loop.call_soon_threadsafe
    assert seen == list(range(1000))
    assert all(on_loop)
    assert wake_ups == 1


async def test_a_failing_call_is_reported_and_the_rest_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    ran: list[str] = []

    def fail() -> None:
        raise ValueError("boom")

    try:
        inbox = inbox_of(loop)
        inbox.put(ran.append, "before")
        inbox.put(fail)
        inbox.put(ran.append, "after")
        for _ in range(3):
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert ran == ["before", "after"]
    assert [type(c["exception"]) for c in reported] == [ValueError]
