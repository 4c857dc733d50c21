"""Calls from other threads to run on an event loop, many per wake-up.

``loop.call_soon_threadsafe`` writes to the loop's self-pipe on every call: a system call in
the calling thread and a separate pass of the loop for each. Processor threads finishing
runs by the thousand (each settling its run's future, some logging lines first) put their
calls here instead: the first call of a batch wakes the loop once, the rest join it, and the
loop runs them all in the order they were put.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

_inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopInbox] = (
    weakref.WeakKeyDictionary()
)
_inboxes_lock = threading.Lock()


class LoopInbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._woken = False

    def __len__(self) -> int:
        """How many calls wait for the loop."""
        with self._lock:
            return len(self._calls)

    def put(self, function: Callable[..., None], *args: Any) -> None:
        """Run ``function(*args)`` on the loop soon; RuntimeError if the loop is closed."""
        with self._lock:
            self._calls.append((function, args))
            if self._woken:
                return
            self._woken = True
        try:
            self._loop.call_soon_threadsafe(self._run_all)
        except RuntimeError:
            with self._lock:
                self._woken = False
            raise

    def _run_all(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, deque()
            self._woken = False
        for function, args in calls:
            try:
                function(*args)
            except Exception as exc:  # as the loop does for a failing callback
                self._loop.call_exception_handler(
                    {"message": f"exception in {function!r}", "exception": exc}
                )


def inbox_of(loop: asyncio.AbstractEventLoop) -> LoopInbox:
    """The loop's inbox (one per loop, so calls from all threads keep one order)."""
    with _inboxes_lock:
        inbox = _inboxes.get(loop)
        if inbox is None:
            inbox = _inboxes[loop] = LoopInbox(loop)
        return inbox
