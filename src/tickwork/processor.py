"""The processor SDK: write a job as a Python class.

A job of type ``processor`` (or ``python`` with a ``class_name`` and no content) names a class
``package.module:Class``. For each run the worker imports it (once), makes a new instance and
calls ``pre_process(ctx)`` (optional), ``process(ctx)`` and ``post_process(ctx)`` (optional).
Methods may be plain functions (run in a thread) or ``async def`` (awaited on the worker's loop).

    from tickwork.processor import JobContext, ProcessResult, Processor

    class Hello(Processor):
        def process(self, ctx: JobContext) -> ProcessResult:
            ctx.logger.info("hello from job %s", ctx.job_name)
            return ProcessResult(True, f"hello {ctx.job_parameters}")

See docs/jobs.md.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tickwork.domain.enums import ExecuteMode, InstanceStatus, TriggerType
from tickwork.domain.errors import InvalidState
from tickwork.domain.job_types import ROOT_TASK_NAME

__all__ = [
    "ROOT_TASK_NAME",
    "JobContext",
    "MapDispatcher",
    "MapProcessor",
    "MapReduceProcessor",
    "ProcessResult",
    "Processor",
    "UpstreamData",
]

RESULT_LIMIT = 1000
"""At most this many characters of a result are kept."""


@dataclass(slots=True, frozen=True)
class ProcessResult:
    """What ``process`` returns: success or not, and a short result (≤ 1000 characters kept)."""

    success: bool
    result: str = ""


@dataclass(slots=True, frozen=True)
class UpstreamData:
    """The result of an upstream job of a workflow."""

    job_name: str
    data: str


def _discard_progress(text: str) -> None:
    return None


def _always_current() -> bool:
    return True


def _detached_logger() -> logging.Logger:
    logger = logging.Logger("tickwork.job")
    logger.addHandler(logging.NullHandler())
    return logger


@dataclass(slots=True)
class JobContext:
    """Everything a processor knows about the run it is in.

    ``logger`` records become log lines of the instance; ``report_progress`` sets its
    progress text. Both are thread-safe.
    """

    job_id: int
    job_instance_id: int
    job_name: str = ""
    namespace: str = ""
    group_id: str = ""
    execute_mode: ExecuteMode = ExecuteMode.STANDALONE
    trigger_type: TriggerType = TriggerType.API
    schedule_time: datetime | None = None  # aware, UTC
    data_time: datetime | None = None  # aware, UTC
    job_parameters: str = ""
    instance_parameters: str = ""
    attempt: int = 0
    max_attempt: int = 0
    task_id: int = 0
    task_name: str = ROOT_TASK_NAME
    task: Any = None  # the subtask object of a mapped task (None for the root task)
    task_attempt: int = 0
    upstream_data: tuple[UpstreamData, ...] = ()
    sharding_id: int = 0
    sharding_num: int = 1
    sharding_parameter: str = ""
    workflow_id: int | None = None
    workflow_instance_id: int | None = None
    task_results: dict[int, str] = field(default_factory=dict)  # for reduce
    task_statuses: dict[int, InstanceStatus] = field(default_factory=dict)  # for reduce
    logger: logging.Logger = field(default_factory=_detached_logger)
    progress_callback: Callable[[str], None] = field(default=_discard_progress, repr=False)
    current_callback: Callable[[], bool] = field(default=_always_current, repr=False)

    def report_progress(self, text: str) -> None:
        """Set the progress text of the instance (thread-safe)."""
        self.progress_callback(str(text))

    def is_current(self) -> bool:
        """Whether this run (or task) is still this worker's to do: not killed, and its
        worker agent in touch with its server. Ask it right before a side effect: after a
        freeze or a cut connection the run may have been given to another worker, which
        runs it as a later ``attempt`` (``task_attempt``). Thread-safe; docs/workers.md,
        "Fencing your own side effects"."""
        return self.current_callback()

    @property
    def is_root_task(self) -> bool:
        return self.task_name == ROOT_TASK_NAME


class Processor(ABC):
    """Base class of a job written in Python. Only ``process`` is required."""

    @abstractmethod
    def process(self, ctx: JobContext) -> ProcessResult | Awaitable[ProcessResult]:
        """Do the work of one run; return a ProcessResult."""

    def pre_process(self, ctx: JobContext) -> None | Awaitable[None]:  # noqa: B027
        """Called before ``process``; raising fails the run."""

    def post_process(  # noqa: B027
        self, ctx: JobContext
    ) -> ProcessResult | None | Awaitable[ProcessResult | None]:
        """Called after ``process`` returned; a ProcessResult returned here replaces its result."""

    def kill(self, ctx: JobContext) -> None | Awaitable[None]:  # noqa: B027
        """Called when the run is killed, before the worker abandons it: stop cooperatively."""


class MapDispatcher(Protocol):
    """What distributes mapped subtasks (bound by the engine in parallel/grid/batch modes)."""

    def __call__(self, task_list: Sequence[Any], task_name: str) -> ProcessResult: ...


class MapProcessor(Processor):
    """A processor whose root task maps subtasks: ``map(task_list, task_name)``.

    Each subtask then runs ``process`` with ``ctx.task_name == task_name`` and ``ctx.task``
    set to one item of the list.
    """

    map_dispatcher: MapDispatcher | None = None

    def is_root_task(self, ctx: JobContext) -> bool:
        return ctx.is_root_task

    def map(self, task_list: Sequence[Any], task_name: str) -> ProcessResult:
        """Distribute ``task_list`` as subtasks named ``task_name``."""
        if not task_name or task_name == ROOT_TASK_NAME:
            raise InvalidState(f"map(): task_name must be a name other than {ROOT_TASK_NAME!r}")
        dispatcher = self.map_dispatcher
        if dispatcher is None:
            raise InvalidState(
                "map() distributes subtasks across workers, which needs a job with "
                "execute_mode parallel, grid or batch; this run has no map-reduce distribution "
                "(standalone, or not available on this worker)"
            )
        return dispatcher(task_list, task_name)


class MapReduceProcessor(MapProcessor):
    """A map processor whose results are gathered by ``reduce(ctx)`` once all subtasks end.

    ``ctx.task_results`` and ``ctx.task_statuses`` map each task id to its result and status.
    """

    @abstractmethod
    def reduce(self, ctx: JobContext) -> ProcessResult | Awaitable[ProcessResult]:
        """Combine the subtasks' results."""
