"""Daemon threads that are reused: blocking processor code runs in them.

Why not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the
interpreter exits, so one processor stuck in ``process`` (a killed run whose code ignores the
kill) would hold the worker's exit forever, and its pool has a fixed size, so stuck calls
would hold the ones queued behind them. These threads are daemons, and the pool grows when
the queue stops moving.

Calls are queued and served by as few threads as keep the queue moving. Waking a thread per
call, when a thousand fires are due on the same second, makes a thousand threads fight for
the GIL (in CPython 3.11 on two cores the last of them started ~300 ms after the first);
one thread taking call after call starts them all in a millisecond or two. A thread is woken
for a call only when no thread is busy; when calls wait and none has been taken for
``STALL_S`` (the busy threads are blocked in long calls), a watcher wakes or starts more,
twice as many at each stall in a row. Idle threads end after ``idle_timeout`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["STALL_S", "DaemonThreads"]

STALL_S = 0.01
"""How long queued calls wait without one being taken before more threads are put to work:
longer than the interpreter's switch interval (5 ms), so that threads merely waiting for the
GIL are not taken for blocked ones."""


class DaemonThreads:
    def __init__(self, name: str = "tickwork-job", idle_timeout: float = 60.0) -> None:
        self._name = name
        self._idle_timeout = idle_timeout
        self._calls: deque[Callable[[], None]] = deque()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # a call was queued
        self._drained = threading.Condition(lock)  # the queue was emptied
        # each thread counts itself idle (waiting for a call) or busy (not waiting)
        self._idle = 0
        self._busy = 0  # a thread started counts as busy until it first waits
        self._signalled = 0  # idle threads notified and not yet awake
        self._started = 0
        self._last_take = time.monotonic()
        self._pending = threading.Event()  # calls are queued: the watcher keeps an eye on them
        self._watcher: threading.Thread | None = None

    @property
    def threads(self) -> int:
        """Threads started so far (for tests and diagnostics)."""
        return self._started

    @property
    def idle(self) -> int:
        """Threads waiting for a call."""
        return self._idle

    def run(self, call: Callable[[], None]) -> None:
        """Queue ``call()``: a thread takes it at once if none is busy, else when a busy one
        is free, or another one once the queue has not moved for ``STALL_S``."""
        self.run_all([call])

    def run_all(self, calls: list[Callable[[], None]]) -> None:
        """Queue several calls at once (one lock, one wake-up), as ``run`` does each."""
        if not calls:
            return
        with self._cond:
            if not self._calls:
                self._last_take = time.monotonic()  # the wait for a stall starts now
            self._calls.extend(calls)
            if self._busy == 0 and self._signalled == 0:
                self._put_to_work(1)
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name=f"{self._name}.watcher", daemon=True
                )
                self._watcher.start()
        self._pending.set()

    def wait_taken(self, timeout: float) -> bool:
        """Block the caller (releasing the GIL) until every queued call has been taken by a
        thread, at most ``timeout`` seconds. True if they all were."""
        with self._cond:
            return self._drained.wait_for(lambda: not self._calls, timeout)

    def _put_to_work(self, count: int) -> None:
        """Wake ``count`` idle threads, starting new ones for those missing (lock held)."""
        woken = max(0, min(count, self._idle - self._signalled))
        if woken:
            self._signalled += woken
            self._cond.notify(woken)
        for _ in range(count - woken):
            self._started += 1
            self._busy += 1
            threading.Thread(
                target=self._serve, name=f"{self._name}-{self._started}", daemon=True
            ).start()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._calls:
                    self._busy -= 1
                    self._idle += 1
                    woken = self._cond.wait(self._idle_timeout)
                    self._idle -= 1
                    self._busy += 1
                    if self._signalled > 0:
                        self._signalled -= 1
                    if not woken and not self._calls:  # nobody needed it for a while
                        self._busy -= 1
                        return
                call = self._calls.popleft()
                self._last_take = time.monotonic()
                if not self._calls:
                    self._drained.notify_all()
            call()  # never raises: callers wrap their work

    def _watch(self) -> None:
        growth = 1
        while True:
            self._pending.wait()
            time.sleep(STALL_S)
            with self._cond:
                if not self._calls:
                    self._pending.clear()
                    growth = 1
                    continue
                if time.monotonic() - self._last_take < STALL_S:
                    growth = 1
                    continue
                self._put_to_work(min(growth, len(self._calls)))
                self._last_take = time.monotonic()
                growth *= 2
