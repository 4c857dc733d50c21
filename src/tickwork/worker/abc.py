"""The interface between the engine and whatever runs jobs.

Shortly before a scheduled run is due, the engine may call ``Worker.prepare`` with its request,
so that the cost of starting it is paid before the due instant. The engine hands a
``RunRequest`` to a ``Worker`` (the in-process worker of the embedded
default, or later a remote worker agent behind the same interface). The worker reports back
through the ``RunReporter`` the engine gave it: log lines, progress, and exactly one outcome
per (instance_id, attempt). ``Worker.kill`` stops a run and its whole process tree; the
run then reports a KILLED outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.models import Designation


class TaskPhase(StrEnum):
    """Which part of a distributed run (broadcast, sharding, map-reduce) a task is."""

    PRE = "pre"  # pre_process only, once before the parts (broadcast, sharding)
    PART = "part"  # process: one worker's part of a broadcast, or one shard
    ROOT = "root"  # pre_process and process of the root task (map modes); it may map
    SUB = "sub"  # process of one mapped subtask; it may map more
    REDUCE = "reduce"  # reduce (a MapReduceProcessor's) and post_process, with every result
    POST = "post"  # post_process once after the parts, with every result


TaskKey = tuple[int, int]
"""(task id, task attempt): which dispatch of which task of an instance a report is about."""


@dataclass(slots=True, frozen=True)
class TaskSpec:
    """One task of a distributed run: the engine's master hands these to workers."""

    task_id: int
    phase: TaskPhase
    name: str = ""  # the task name given to map() (subtasks); ROOT_TASK_NAME for the root
    body: str = ""  # the subtask object, as JSON
    attempt: int = 0  # how many times this task was dispatched before
    consumers: int = 0  # run at most this many tasks of the instance at once (0: any slot)
    label: str = ""  # how the task's log lines are marked, e.g. "shard 3"
    results: tuple[tuple[int, str], ...] = ()  # REDUCE and POST: each task's result
    statuses: tuple[tuple[int, int], ...] = ()  # REDUCE and POST: each task's status

    @property
    def key(self) -> TaskKey:
        return (self.task_id, self.attempt)


@dataclass(slots=True, frozen=True)
class RunRequest:
    """One attempt of one instance, with everything needed to run it (no store access)."""

    instance_id: int
    job_id: int
    job_name: str
    namespace: str
    group_id: str
    job_type: JobType
    execute_mode: ExecuteMode
    time_type: TimeType
    trigger_type: TriggerType
    schedule_time: int  # epoch ms
    data_time: int  # epoch ms
    attempt: int  # 0 for the first run
    max_attempt: int
    content: str = ""
    class_name: str = ""
    job_parameters: str = ""
    instance_parameters: str = ""
    timeout: int | None = None  # seconds; the engine enforces it, this is informative
    timezone: str = ""  # the job's time zone ("" = UTC), for formatting times in scripts
    command: str = ""
    command_args: tuple[str, ...] = ()
    envs: tuple[tuple[str, str], ...] = ()
    sharding_id: int = 0
    sharding_num: int = 1
    sharding_parameter: str = ""
    extra_env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # which workers may run it (the job's designation, or this run's own); None: any
    designation: Designation | None = None
    task: TaskSpec | None = None  # one task of a distributed run; None: the whole run

    @property
    def run_key(self) -> tuple[int, int]:
        """What identifies this run on a worker: (instance id, task id or -1)."""
        return (self.instance_id, -1 if self.task is None else self.task.task_id)


@dataclass(slots=True, frozen=True)
class RunOutcome:
    status: InstanceStatus  # SUCCESS, FAILED or KILLED
    result: str = ""  # at most 1000 characters are kept
    lost: bool = False  # the worker went away mid-run (not the job's own failure)
    # lost before its worker confirmed it started (a silent agent's ``run`` taken back): it
    # goes again as a new attempt without using up one of the job's retries
    unstarted: bool = False
    # log lines the worker left out (it cut its copy of the run's log, domain/log_cap.py, and
    # reported the tail before this outcome): the engine counts them in the truncation line
    dropped_lines: int = 0
    dropped_bytes: int = 0


class RunReporter(Protocol):
    """What a worker calls while a run goes on. Calls never block and never raise.

    Reports about one task of a distributed run carry its ``task`` key; ``mapped`` hands the
    subtasks a map processor's ``map()`` made to the engine (as JSON bodies)."""

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None: ...

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None: ...

    def progress(self, instance_id: int, attempt: int, progress: str) -> None: ...

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None: ...

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None: ...


RoomCheck = Callable[[], "asyncio.Future[None] | None"]
"""``LogRoom.log_room`` as a reader of run output holds it."""


@runtime_checkable
class LogRoom(Protocol):
    """What a ``RunReporter`` may also offer: back-pressure on log lines. A worker reading a
    run's output asks it after each line; when it answers a future, the worker stops reading
    (the job then waits on its own output) until the future is done."""

    def log_room(self) -> asyncio.Future[None] | None:
        """None while lines may keep coming; else a future done once those already
        reported have moved on far enough."""


class Worker(Protocol):
    @property
    def address(self) -> str:
        """How this worker is named in instances (WorkAddr)."""

    async def start(self, reporter: RunReporter) -> None: ...

    async def stop(self, grace: float) -> None:
        """Stop taking runs; let running ones finish for up to ``grace`` seconds, kill the rest."""

    def submit(self, request: RunRequest) -> None:
        """Start the run now (never blocks)."""

    def kill(self, instance_id: int, reason: str) -> bool:
        """Kill a run (and its process tree). False if this worker is not running it."""

    def running(self) -> int:
        """How many runs are going on."""


@runtime_checkable
class Preparing(Protocol):
    """What a worker may also offer, for speed only: runs due soon made ready ahead of their
    due instant, and a burst of due runs started before the engine's bookkeeping of them. The
    in-process worker has it (and the routing worker passes it on to that one); the engine
    asks ``isinstance(worker, Preparing)`` once and otherwise just submits.

    Nothing of a job runs until ``submit`` (or ``start_prepared`` followed by ``submit``)."""

    def prepare(self, request: RunRequest) -> None:
        """A hint that ``request`` is due soon: make it ready so that ``submit`` starts the
        job's code at once (e.g. start its process, held before the code). Never blocks; a
        worker may ignore it. Nothing of the job runs until ``submit``."""

    def discard(self, instance_id: int) -> None:
        """Drop what ``prepare`` made for a run that will not be submitted."""

    def start_prepared(self, requests: list[RunRequest]) -> None:
        """These runs are due now, and ``submit`` of each follows in the same step: start
        the code of those prepared here at once, all together, before the hand-over's
        bookkeeping (so a burst of due runs starts its code first). Never blocks; a worker
        may ignore it."""

    def let_start(self, timeout: float) -> None:
        """After a batch of ``submit``: give the runs just submitted up to ``timeout``
        seconds to start their code before the caller goes on (a worker in this process
        blocks for it; others return at once)."""
