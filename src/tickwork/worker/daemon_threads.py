"""Daemon threads that are reused: blocking processor code runs in them.

Why not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the
interpreter exits, so one processor stuck in ``process`` (a killed run whose code ignores the
kill) would hold the worker's exit forever. These threads are daemons, and the pool grows
instead of queueing: a call never waits for a stuck one. Idle threads end after
``idle_timeout`` seconds.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["DaemonThreads"]


class DaemonThreads:
    def __init__(self, name: str = "tickwork-job", idle_timeout: float = 60.0) -> None:
        self._name = name
        self._idle_timeout = idle_timeout
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # threads waiting for a call, less calls queued and not yet taken
        self._idle = 0
        self._started = 0

    @property
    def threads(self) -> int:
        """Threads started so far (for tests and diagnostics)."""
        return self._started

    @property
    def idle(self) -> int:
        """Threads waiting for a call (less the calls on their way to them)."""
        return self._idle

    def run(self, call: Callable[[], None]) -> None:
        """Run ``call()`` in an idle thread, or a new one when none is idle."""
        with self._lock:
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1
            else:
                self._started += 1
        self._calls.put(call)
        if not reuse:
            threading.Thread(
                target=self._serve, name=f"{self._name}-{self._started}", daemon=True
            ).start()

    def _serve(self) -> None:
        while True:
            try:
                call = self._calls.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # more threads wait than calls are coming: leave
                        self._idle -= 1
                        return
                continue  # a call was promised to the waiting threads: stay for it
            call()  # never raises: callers wrap their work
            with self._lock:
                self._idle += 1
