"""What the in-process worker holds of each run: a prepared one, one accepted, the bound of
one instance's tasks, and the latest attempt of each instance (the fencing token)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from tickwork.worker.abc import RunOutcome, RunRequest
from tickwork.worker.executors import Execution, RunSink
from tickwork.worker.executors.process import ProcessExecution
from tickwork.worker.executors.processor import ProcessorExecution
from tickwork.worker.slots import Slots

__all__ = [
    "ATTEMPTS_REMEMBERED",
    "HeldRun",
    "LatestAttempts",
    "Prepared",
    "TaskSlots",
    "prepared_for",
    "same_task",
]

ATTEMPTS_REMEMBERED = 100_000
"""How many instances' latest attempts a worker remembers (``LatestAttempts``)."""


@dataclass(slots=True)
class Prepared:
    """A run made ready ahead of its start: its process waits at a gate."""

    request: RunRequest
    execution: ProcessExecution | ProcessorExecution
    sink: RunSink
    started: bool = False  # its slot taken and its gate opened by ``start_prepared``


@dataclass(slots=True)
class HeldRun:
    request: RunRequest
    prepared: Prepared | None = None
    task: asyncio.Task[None] | None = None
    execution: Execution | None = None
    inner: asyncio.Task[RunOutcome] | None = None
    kill_reason: str | None = None
    lost: str | None = None  # given up (``give_up``): it ends as lost, with this result
    sink: RunSink | None = None  # once it executes
    finished: bool = False
    slot_taken: bool = False  # its slot was taken when it was submitted (prepared runs)


@dataclass(slots=True)
class TaskSlots:
    """The ConsumerSize bound of one instance's tasks on this worker."""

    slots: Slots
    tasks: int = 0  # its tasks here (running or waiting)


def prepared_for(prepared: Prepared, request: RunRequest) -> bool:
    """The run was prepared with this very request (by identity first: the scheduler hands
    over the object it prepared with, and comparing whole requests costs more)."""
    return prepared.request is request or prepared.request == request


def same_task(a: RunRequest, b: RunRequest) -> bool:
    return (a.task is None and b.task is None) or (
        a.task is not None and b.task is not None and a.task.attempt == b.task.attempt
    )


class LatestAttempts:
    """The latest attempt handed over of each instance (the last ``ATTEMPTS_REMEMBERED``):
    a run message of an older attempt is stale (it waited while the worker was frozen or
    cut off, and the server has moved on) and is not started."""

    def __init__(self, limit: int = ATTEMPTS_REMEMBERED) -> None:
        self._limit = limit
        self._latest: OrderedDict[int, int] = OrderedDict()

    def note(self, request: RunRequest) -> None:
        latest = self._latest
        if latest.get(request.instance_id, -1) < request.attempt:
            latest[request.instance_id] = request.attempt
            latest.move_to_end(request.instance_id)
            if len(latest) > self._limit:
                latest.popitem(last=False)

    def superseded(self, request: RunRequest) -> bool:
        latest = self._latest.get(request.instance_id)
        return latest is not None and request.attempt < latest
