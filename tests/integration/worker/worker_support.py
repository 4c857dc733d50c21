"""Test support for the worker: a recording RunReporter (a double of the engine) and requests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey
from tickwork.worker.inprocess import InProcessWorker

WAIT_S = 60.0  # a guard against hangs, not a timing assertion


@dataclass
class Recorded:
    started: list[tuple[int, int, str, int]] = field(default_factory=list)
    logs: list[tuple[int, int, int, str]] = field(default_factory=list)
    progress: list[tuple[int, int, str]] = field(default_factory=list)
    finished: list[tuple[int, int, RunOutcome, int]] = field(default_factory=list)
    task_outcomes: list[tuple[int, TaskKey, RunOutcome]] = field(default_factory=list)
    mapped: list[tuple[int, TaskKey, str, list[str]]] = field(default_factory=list)


class RecordingReporter:
    def __init__(self) -> None:
        self.recorded = Recorded()
        self._changed = asyncio.Event()

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None:
        self.recorded.started.append((instance_id, attempt, worker, at))
        self._changed.set()

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None:
        self.recorded.logs.append((instance_id, attempt, at, line))
        self._changed.set()

    def progress(self, instance_id: int, attempt: int, progress: str) -> None:
        self.recorded.progress.append((instance_id, attempt, progress))
        self._changed.set()

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None:
        if task is not None:
            self.recorded.task_outcomes.append((instance_id, task, outcome))
            self._changed.set()
            return
        done = [f for f in self.recorded.finished if f[:2] == (instance_id, attempt)]
        if done:
            raise AssertionError(f"instance {instance_id} attempt {attempt} finished twice")
        self.recorded.finished.append((instance_id, attempt, outcome, at))
        self._changed.set()

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None:
        self.recorded.mapped.append((instance_id, task, task_name, bodies))
        self._changed.set()

    # helpers for tests

    def lines(self, instance_id: int) -> list[str]:
        return [line for iid, _, _, line in self.recorded.logs if iid == instance_id]

    def was_started(self, instance_id: int) -> bool:
        return any(s[0] == instance_id for s in self.recorded.started)

    def outcome(self, instance_id: int) -> RunOutcome | None:
        for iid, _, outcome, _ in self.recorded.finished:
            if iid == instance_id:
                return outcome
        return None

    async def until(self, condition: Callable[[], Any], what: str = "condition") -> Any:
        async def loop() -> Any:
            while True:
                value = condition()
                if value:
                    return value
                self._changed.clear()
                with contextlib.suppress(TimeoutError):  # also polls conditions set elsewhere
                    await asyncio.wait_for(self._changed.wait(), 0.02)

        try:
            return await asyncio.wait_for(loop(), WAIT_S)
        except TimeoutError:
            raise AssertionError(f"gave up waiting for {what}") from None

    async def wait_outcome(self, instance_id: int) -> RunOutcome:
        outcome: RunOutcome = await self.until(
            lambda: self.outcome(instance_id), f"instance {instance_id} to finish"
        )
        return outcome


_BASE = RunRequest(
    instance_id=1,
    job_id=10,
    job_name="job",
    namespace="ns",
    group_id="group",
    job_type=JobType.SHELL,
    execute_mode=ExecuteMode.STANDALONE,
    time_type=TimeType.API,
    trigger_type=TriggerType.API,
    schedule_time=1_700_000_000_000,
    data_time=1_700_000_000_000,
    attempt=0,
    max_attempt=0,
)
_next_id = [1000]


def make_request(**changes: Any) -> RunRequest:
    """A request with a fresh instance id unless one is given."""
    if "instance_id" not in changes:
        _next_id[0] += 1
        changes["instance_id"] = _next_id[0]
    return replace(_BASE, **changes)


async def run_job(
    worker: InProcessWorker, reporter: RecordingReporter, **changes: Any
) -> tuple[RunOutcome, list[str]]:
    """Submit one request and wait for its outcome; returns it and the run's log lines."""
    request = make_request(**changes)
    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)
    return outcome, reporter.lines(request.instance_id)


SUCCESS = InstanceStatus.SUCCESS
FAILED = InstanceStatus.FAILED
KILLED = InstanceStatus.KILLED


def is_alive(pid: int) -> bool:
    """True while ``pid`` is a live process (zombies waiting to be reaped count as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            stat = file.read()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"
