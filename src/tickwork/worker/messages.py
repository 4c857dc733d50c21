"""The messages between the server and ``tickwork worker`` agents, one type per op.

``worker/protocol.py`` describes the wire (frames of JSON messages, what each op carries).
Here each op is a dataclass: ``to_wire`` gives its JSON object, key for key as
servers and agents of every version have sent it (a test pins them); ``parse_from_agent``
and ``parse_from_server`` turn a received object into its type, or refuse it with an
``InvalidParameter`` naming the field (``worker/message_parser.py``); readers dispatch on
the type. ``encode_messages`` makes a frame of them.

Plain slotted dataclasses, no validation library: thousands of these cross a second. Not
frozen, though nothing changes one once made: a frozen one's ``__init__`` cost 0.5 µs a
message more (started, log and finished reports put in the agent's outbox and encoded: 2.7
µs a message against 3.2 µs; the dicts before the types took 2.2 µs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from tickwork.domain.log_cap import LogLimits
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey
from tickwork.worker.protocol import (
    AgentTiming,
    Message,
    encode,
    log_limits_to_wire,
    request_to_wire,
    tasks_to_wire,
)

__all__ = [
    "AgentMessage",
    "Discard",
    "Finished",
    "Heartbeat",
    "Hello",
    "Kill",
    "Log",
    "Mapped",
    "Prepare",
    "Progress",
    "Report",
    "Run",
    "ServerMessage",
    "Started",
    "Tasks",
    "Welcome",
    "encode_messages",
]


# -- server -> agent ---------------------------------------------------------------------------
@dataclass(slots=True)
class Welcome:
    """First on every connection (the agent starts nothing before it): the worker id the
    server knows the agent by, what it keeps of each attempt's log (None: the
    agent cuts nothing), and how long it waits for the agent (None: an older server; the
    agent keeps the defaults)."""

    op: ClassVar[str] = "welcome"
    worker_id: str
    log_limits: LogLimits | None = None
    timing: AgentTiming | None = None

    def to_wire(self) -> Message:
        data: Message = {"op": "welcome", "worker_id": self.worker_id}
        if self.log_limits is not None:
            data["log_limits"] = log_limits_to_wire(self.log_limits)
        if self.timing is not None:
            data["timing"] = self.timing.to_wire()
        return data


@dataclass(slots=True)
class Prepare:
    """Start a scheduled run's process ahead of its due instant, held at a gate."""

    op: ClassVar[str] = "prepare"
    request: RunRequest

    def to_wire(self) -> Message:
        return {"op": "prepare", "request": request_to_wire(self.request)}


@dataclass(slots=True)
class Run:
    """Start a run (the one prepared with this request, or a fresh one)."""

    op: ClassVar[str] = "run"
    request: RunRequest

    def to_wire(self) -> Message:
        return {"op": "run", "request": request_to_wire(self.request)}


@dataclass(slots=True)
class Tasks:
    """A page of tasks of one distributed run (one instance), each a request."""

    op: ClassVar[str] = "tasks"
    requests: tuple[RunRequest, ...]

    def to_wire(self) -> Message:
        return tasks_to_wire(list(self.requests))


@dataclass(slots=True)
class Discard:
    """Drop a prepared run: it will not be started. ``attempt``: only that attempt's."""

    op: ClassVar[str] = "discard"
    instance_id: int
    attempt: int | None = None

    def to_wire(self) -> Message:
        data: Message = {"op": "discard", "instance_id": self.instance_id}
        if self.attempt is not None:
            data["attempt"] = self.attempt
        return data


@dataclass(slots=True)
class Kill:
    """Kill a run and all its tasks; they report ``killed`` with the reason. ``attempt``
    (the fencing token): only if the agent runs that attempt, so that a kill meant for a
    stale attempt never reaches a newer one given to the same agent."""

    op: ClassVar[str] = "kill"
    instance_id: int
    reason: str
    attempt: int | None = None

    def to_wire(self) -> Message:
        data: Message = {"op": "kill", "instance_id": self.instance_id, "reason": self.reason}
        if self.attempt is not None:
            data["attempt"] = self.attempt
        return data


ServerMessage = Welcome | Prepare | Run | Tasks | Discard | Kill


# -- agent -> server ---------------------------------------------------------------------------
@dataclass(slots=True)
class Hello:
    """First on every connection: the runs (instance id, attempt) and tasks (instance id,
    task id, attempt, task attempt) the agent holds. ``job_types``: None when it says none
    (what it declared when it connected stands)."""

    op: ClassVar[str] = "hello"
    runs: tuple[tuple[int, int], ...] = ()
    tasks: tuple[tuple[int, int, int, int], ...] = ()
    job_types: frozenset[str] | None = None

    def to_wire(self) -> Message:
        data: Message = {
            "op": "hello",
            "runs": [list(run) for run in self.runs],
            "tasks": [list(task) for task in self.tasks],
        }
        if self.job_types is not None:
            data["job_types"] = sorted(self.job_types)
        return data


@dataclass(slots=True)
class Heartbeat:
    """Every ``HEARTBEAT_S``, and at once when the agent starts draining."""

    op: ClassVar[str] = "heartbeat"
    running: int
    concurrency: int
    draining: bool = False
    metrics: WorkerMetrics | None = None  # None: no figures (an older agent, or malformed)
    job_types: frozenset[str] | None = None  # as in Hello

    def to_wire(self) -> Message:
        data: Message = {
            "op": "heartbeat",
            "running": self.running,
            "concurrency": self.concurrency,
            "draining": self.draining,
        }
        if self.metrics is not None:
            data["metrics"] = self.metrics.to_wire()
        if self.job_types is not None:
            data["job_types"] = sorted(self.job_types)
        return data


@dataclass(slots=True)
class Started:
    op: ClassVar[str] = "started"
    instance_id: int
    attempt: int
    at: int  # epoch ms
    task: TaskKey | None = None

    def to_wire(self) -> Message:
        data: Message = {
            "op": "started",
            "instance_id": self.instance_id,
            "attempt": self.attempt,
            "at": self.at,
        }
        if self.task is not None:
            data["task_id"], data["task_attempt"] = self.task
        return data


@dataclass(slots=True)
class Log:
    """One line of a run's log (or of one of its tasks': the line carries the task's mark)."""

    op: ClassVar[str] = "log"
    instance_id: int
    attempt: int
    at: int
    line: str

    def to_wire(self) -> Message:
        return {
            "op": "log",
            "instance_id": self.instance_id,
            "attempt": self.attempt,
            "at": self.at,
            "line": self.line,
        }


@dataclass(slots=True)
class Progress:
    op: ClassVar[str] = "progress"
    instance_id: int
    attempt: int
    progress: str

    def to_wire(self) -> Message:
        return {
            "op": "progress",
            "instance_id": self.instance_id,
            "attempt": self.attempt,
            "progress": self.progress,
        }


@dataclass(slots=True)
class Finished:
    """A run's (or a task's) outcome, with the log lines the agent dropped of it."""

    op: ClassVar[str] = "finished"
    instance_id: int
    attempt: int
    outcome: RunOutcome
    at: int
    task: TaskKey | None = None

    def to_wire(self) -> Message:
        outcome = self.outcome
        data: Message = {
            "op": "finished",
            "instance_id": self.instance_id,
            "attempt": self.attempt,
            "status": int(outcome.status),
            "result": outcome.result,
            "at": self.at,
        }
        if outcome.lost:
            data["lost"] = True
        if outcome.dropped_lines:
            data["log_dropped"] = [outcome.dropped_lines, outcome.dropped_bytes]
        if self.task is not None:
            data["task_id"], data["task_attempt"] = self.task
        return data


@dataclass(slots=True)
class Mapped:
    """Subtasks a task's processor mapped (each a JSON text), named ``task_name``."""

    op: ClassVar[str] = "mapped"
    instance_id: int
    attempt: int
    task: TaskKey
    task_name: str
    tasks: list[str]

    def to_wire(self) -> Message:
        return {
            "op": "mapped",
            "instance_id": self.instance_id,
            "attempt": self.attempt,
            "task_id": self.task[0],
            "task_attempt": self.task[1],
            "task_name": self.task_name,
            "tasks": self.tasks,
        }


Report = Started | Log | Progress | Finished | Mapped
"""What an agent says about a run it was handed."""
AgentMessage = Hello | Heartbeat | Report


def encode_messages(messages: Iterable[ServerMessage | AgentMessage]) -> str:
    """One frame of ``messages``."""
    return encode([message.to_wire() for message in messages])
