"""What every executor shares: the run's sink for logs and progress, and the Execution base."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.log_cap import LogCut, LogLimits
from tickwork.worker.abc import RoomCheck, RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.executors.processor_runtime import ProcessorRuntime
from tickwork.worker.loop_inbox import inbox_of
from tickwork.worker.process_tree import GroupWatcher

__all__ = ["RESULT_LIMIT", "Execution", "ExecutionEnv", "RunSink", "clip", "failed", "now_ms"]

RESULT_LIMIT = 1000
THREAD_LINES_WAITING = 1000
"""At most this many lines logged by a run's threads wait for the event loop (and, once
there, for room to be written); past it a thread that logs waits, as a process does on a
full pipe."""


def clip(text: str, limit: int = RESULT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit]


def failed(result: str) -> RunOutcome:
    return RunOutcome(InstanceStatus.FAILED, clip(result))


class _ThreadLines:
    """The lines of one run's threads on their way to the loop: at most
    ``THREAD_LINES_WAITING`` at once."""

    __slots__ = ("_closed", "_cond", "_waiting")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._waiting = 0
        self._closed = False

    def enter(self) -> bool:
        """Called by the thread: wait for a place; False once the run's sink is closed."""
        with self._cond:
            while self._waiting >= THREAD_LINES_WAITING and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._waiting += 1
            return True

    def leave(self, count: int = 1) -> None:
        with self._cond:
            self._waiting -= count
            self._cond.notify(count)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


_thread_lines_made = threading.Lock()


class RunSink:
    """Log lines and progress of one run, sent to the engine's reporter.

    Methods without ``threadsafe`` must be called on the loop (the sink is made there); after
    ``close`` (the run's outcome is reported) everything is dropped.

    ``room`` (the reporter's ``LogRoom``, if it has it): whether lines may keep coming; a
    reader of the run's output asks it after each line (``GroupProcess``), and a thread that
    logs waits while its lines wait for it. ``limits``: cut the run's log here as the engine
    will (``domain/log_cap.py``; a worker agent does, to send less): the tail is reported when
    the sink closes, and what was dropped is counted in ``dropped_lines``/``dropped_bytes``
    for the outcome.

    A task of a distributed run marks its log lines with its label (``[shard 3] ...``); its
    progress is dropped (the engine's master reports the instance's progress), and the
    subtasks its processor maps go to the engine through ``mapped``.

    ``current`` (any thread): whether the run is still this worker's to do: not killed or
    given up, and its worker in touch with its server (``may_start``, a worker agent's
    ``ServerTouch``). A processor asks it (``JobContext.is_current``) right before a side
    effect, to fence it (docs/workers.md, "Fencing your own side effects").
    """

    def __init__(
        self,
        reporter: RunReporter,
        request: RunRequest,
        loop: asyncio.AbstractEventLoop,
        *,
        room: RoomCheck | None = None,
        limits: LogLimits | None = None,
        may_start: Callable[[], bool] | None = None,
    ) -> None:
        self._may_start = may_start
        self.revoked = False  # killed or given up: no longer this worker's to do
        self._reporter = reporter
        self._instance_id = request.instance_id
        self._attempt = request.attempt
        self._inbox = inbox_of(loop)  # lines logged by threads reach the loop in batches
        self._loop_thread = threading.get_ident()
        self._closed = False
        task = request.task
        self._task: TaskKey | None = None if task is None else task.key
        self._prefix = f"[{task.label}] " if task is not None and task.label else ""
        self._room = room
        self._cut = LogCut(limits) if limits is not None and limits.bounded else None
        self._thread_lines: _ThreadLines | None = None  # made when a thread first logs
        self._owed = 0  # places of its threads' lines given back once there is room
        self.dropped_lines = 0
        self.dropped_bytes = 0

    def current(self) -> bool:
        """Whether the run is still this worker's to do (any thread)."""
        return not self.revoked and (self._may_start is None or self._may_start())

    def log(self, line: str, at: int | None = None) -> None:
        if not self._closed:
            at = now_ms() if at is None else at
            line = self._prefix + line
            if self._cut is None or self._cut.offer(at, line):
                self._reporter.log(self._instance_id, self._attempt, at, line)

    def room(self) -> asyncio.Future[None] | None:
        """None while lines may keep coming; else a future done when they may again."""
        return None if self._room is None else self._room()

    @property
    def room_check(self) -> RoomCheck | None:
        """``room`` for readers that ask it per line (None: never any back-pressure)."""
        return self._room

    def progress(self, text: str) -> None:
        if not self._closed and self._task is None:
            self._reporter.progress(self._instance_id, self._attempt, text)

    def mapped(self, task_name: str, bodies: list[str]) -> None:
        if not self._closed and self._task is not None:
            self._reporter.mapped(self._instance_id, self._attempt, self._task, task_name, bodies)

    def mapped_threadsafe(self, task_name: str, bodies: list[str]) -> None:
        self._call_threadsafe(self.mapped, task_name, bodies)

    def log_threadsafe(self, line: str, at: int | None = None) -> None:
        at = now_ms() if at is None else at
        if self._closed:
            return
        if threading.get_ident() == self._loop_thread:  # an async processor: it cannot wait
            self._call_threadsafe(self.log, line, at)
            return
        lines = self._thread_lines or self._make_thread_lines()
        if lines.enter():
            self._call_threadsafe(self._log_from_thread, lines, line, at)

    def _make_thread_lines(self) -> _ThreadLines:
        with _thread_lines_made:
            if self._thread_lines is None:
                self._thread_lines = _ThreadLines()
                if self._closed:
                    self._thread_lines.close()
            return self._thread_lines

    def _log_from_thread(self, lines: _ThreadLines, line: str, at: int) -> None:
        """On the loop: the line goes on, and its thread's place is given back once there is
        room for more."""
        self.log(line, at)
        room = self.room()
        if room is None:
            lines.leave()
            return
        self._owed += 1
        if self._owed == 1:  # one callback for all the places owed, not one a line
            room.add_done_callback(lambda _: self._repay(lines))

    def _repay(self, lines: _ThreadLines) -> None:
        owed, self._owed = self._owed, 0
        lines.leave(owed)

    def progress_threadsafe(self, text: str) -> None:
        self._call_threadsafe(self.progress, text)

    def _call_threadsafe(self, method: Callable[..., None], *args: Any) -> None:
        if self._closed:
            return
        try:
            self._inbox.put(method, *args)
        except RuntimeError:  # the loop is closed: the run is long over
            self._closed = True
            if self._thread_lines is not None:
                self._thread_lines.close()

    def close(self) -> None:
        """The run ended: the tail of a cut log is reported now (before the outcome)."""
        if self._closed:
            return
        self._closed = True
        # no lock: a thread making its ``_ThreadLines`` now sees ``_closed`` and closes it
        if self._thread_lines is not None:
            self._thread_lines.close()
        if self._cut is not None:
            end = self._cut.end()
            for at, line in end.tail:
                self._reporter.log(self._instance_id, self._attempt, at, line)
            self.dropped_lines, self.dropped_bytes = end.dropped_lines, end.dropped_bytes


@dataclass(slots=True, frozen=True)
class ExecutionEnv:
    """What the worker lends to executors."""

    sink: RunSink
    http: httpx.AsyncClient
    kill_grace: float  # seconds between SIGTERM and SIGKILL of a process tree
    processors: ProcessorRuntime  # the worker's, shared by its processor runs
    guardian: GroupWatcher | None = None  # told the process groups of runs (worker/guardian.py)


class Execution(ABC):
    """One run of one request. ``run`` returns the outcome; ``stop`` asks it to end (kill).

    When ``ends_itself_on_stop`` is False, the worker cancels ``run`` once ``stop`` returned.
    """

    ends_itself_on_stop: bool = False

    def __init__(self, request: RunRequest, env: ExecutionEnv) -> None:
        self.request = request
        self.env = env

    @abstractmethod
    async def run(self) -> RunOutcome:
        """Run to the end; raising fails the run with the exception's message."""

    async def stop(self) -> None:
        """Ask the run to end (it is being killed)."""
        return None
