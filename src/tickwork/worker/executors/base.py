"""What every executor shares: the run's sink for logs and progress, and the Execution base."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tickwork.domain.enums import InstanceStatus
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.loop_inbox import inbox_of
from tickwork.worker.process_tree import GroupWatcher

__all__ = ["RESULT_LIMIT", "Execution", "ExecutionEnv", "RunSink", "clip", "failed", "now_ms"]

RESULT_LIMIT = 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def clip(text: str, limit: int = RESULT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit]


def failed(result: str) -> RunOutcome:
    return RunOutcome(InstanceStatus.FAILED, clip(result))


class RunSink:
    """Log lines and progress of one run, sent to the engine's reporter.

    Methods without ``threadsafe`` must be called on the loop; after ``close`` (the run's
    outcome is reported) everything is dropped.

    A task of a distributed run marks its log lines with its label (``[shard 3] ...``); its
    progress is dropped (the engine's master reports the instance's progress), and the
    subtasks its processor maps go to the engine through ``mapped``.
    """

    def __init__(
        self, reporter: RunReporter, request: RunRequest, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._reporter = reporter
        self._instance_id = request.instance_id
        self._attempt = request.attempt
        self._inbox = inbox_of(loop)  # lines logged by threads reach the loop in batches
        self._closed = False
        task = request.task
        self._task: TaskKey | None = None if task is None else task.key
        self._prefix = f"[{task.label}] " if task is not None and task.label else ""

    def log(self, line: str, at: int | None = None) -> None:
        if not self._closed:
            at = now_ms() if at is None else at
            self._reporter.log(self._instance_id, self._attempt, at, self._prefix + line)

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
        self._call_threadsafe(self.log, line, at)

    def progress_threadsafe(self, text: str) -> None:
        self._call_threadsafe(self.progress, text)

    def _call_threadsafe(self, method: Callable[..., None], *args: Any) -> None:
        if self._closed:
            return
        try:
            self._inbox.put(method, *args)
        except RuntimeError:  # the loop is closed: the run is long over
            self._closed = True

    def close(self) -> None:
        self._closed = True


@dataclass(slots=True, frozen=True)
class ExecutionEnv:
    """What the worker lends to executors."""

    sink: RunSink
    http: httpx.AsyncClient
    kill_grace: float  # seconds between SIGTERM and SIGKILL of a process tree
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
