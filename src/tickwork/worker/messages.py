"""The messages between the server and ``tickwork worker`` agents, one type per op.

``worker/protocol.py`` describes the wire (frames of JSON messages, what each op carries).
Here each op is a frozen dataclass: ``to_wire`` gives its JSON object, key for key as
servers and agents of every version have sent it (a test pins them); ``parse_from_agent``
and ``parse_from_server`` turn a received object into its type, or refuse it with an
``InvalidParameter`` naming the field; readers dispatch on the type. ``encode_messages``
makes a frame of them.

Parsing coerces as the server always did (``int`` of a number, ``str`` of a line), so that
no agent that worked before is refused now; the optional parts (figures, job types, log
limits, the count of dropped log lines) read as absent when malformed, as protocol.py says.
Plain dataclasses, no validation library: thousands of these cross a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey
from tickwork.worker.protocol import (
    Message,
    encode,
    job_types_from_wire,
    log_limits_from_wire,
    log_limits_to_wire,
    request_from_wire,
    request_to_wire,
    tasks_from_wire,
    tasks_to_wire,
    wire_count,
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
    "parse_from_agent",
    "parse_from_server",
]


# -- server -> agent ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Welcome:
    """First on every connection: the worker id the server knows the agent by, and what it
    keeps of each attempt's log (None: the agent cuts nothing)."""

    op: ClassVar[str] = "welcome"
    worker_id: str
    log_limits: LogLimits | None = None

    def to_wire(self) -> Message:
        data: Message = {"op": "welcome", "worker_id": self.worker_id}
        if self.log_limits is not None:
            data["log_limits"] = log_limits_to_wire(self.log_limits)
        return data


@dataclass(frozen=True, slots=True)
class Prepare:
    """Start a scheduled run's process ahead of its due instant, held at a gate."""

    op: ClassVar[str] = "prepare"
    request: RunRequest

    def to_wire(self) -> Message:
        return {"op": "prepare", "request": request_to_wire(self.request)}


@dataclass(frozen=True, slots=True)
class Run:
    """Start a run (the one prepared with this request, or a fresh one)."""

    op: ClassVar[str] = "run"
    request: RunRequest

    def to_wire(self) -> Message:
        return {"op": "run", "request": request_to_wire(self.request)}


@dataclass(frozen=True, slots=True)
class Tasks:
    """A page of tasks of one distributed run (one instance), each a request."""

    op: ClassVar[str] = "tasks"
    requests: tuple[RunRequest, ...]

    def to_wire(self) -> Message:
        return tasks_to_wire(list(self.requests))


@dataclass(frozen=True, slots=True)
class Discard:
    """Drop a prepared run: it will not be started."""

    op: ClassVar[str] = "discard"
    instance_id: int

    def to_wire(self) -> Message:
        return {"op": "discard", "instance_id": self.instance_id}


@dataclass(frozen=True, slots=True)
class Kill:
    """Kill a run and all its tasks; they report ``killed`` with the reason."""

    op: ClassVar[str] = "kill"
    instance_id: int
    reason: str

    def to_wire(self) -> Message:
        return {"op": "kill", "instance_id": self.instance_id, "reason": self.reason}


ServerMessage = Welcome | Prepare | Run | Tasks | Discard | Kill


# -- agent -> server ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


# -- parsing -----------------------------------------------------------------------------------
def parse_from_agent(data: Message) -> AgentMessage:
    """The message an agent sent as ``data``; InvalidParameter naming the field when it is
    not one (an unknown op names ``op``)."""
    return _parse(data, _FROM_AGENT)


def parse_from_server(data: Message) -> ServerMessage:
    """The message a server sent as ``data``; InvalidParameter naming the field when it is
    not one."""
    return _parse(data, _FROM_SERVER)


_T = TypeVar("_T")


def _parse(data: Message, parsers: dict[str, Callable[[Message, str], _T]]) -> _T:
    op = data.get("op")
    parser = parsers.get(op) if isinstance(op, str) else None
    if parser is None or not isinstance(op, str):
        raise InvalidParameter(f"unknown message op {_shown(op)}", field="op")
    return parser(data, op)


_MISSING: Any = object()


def _value(data: Message, name: str, op: str, default: Any = _MISSING) -> Any:
    value = data.get(name, default)
    if value is _MISSING:
        raise InvalidParameter(f"a {op} message needs {name}", field=name)
    return value


def _whole(data: Message, name: str, op: str, default: Any = _MISSING) -> int:
    """A whole number, as ``int()`` takes it (an agent that sent "7" always worked)."""
    value = _value(data, name, op, default)
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameter(
            f"{name} of a {op} message must be a whole number, got {_shown(value)}", field=name
        ) from None


def _strict_whole(data: Message, name: str, op: str) -> int:
    """A whole number and nothing else (the agent never took another for an instance id)."""
    value = _value(data, name, op)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(
            f"{name} of a {op} message must be a number, got {_shown(value)}", field=name
        )
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _request(data: Message, op: str) -> RunRequest:
    value = _value(data, "request", op)
    if not isinstance(value, dict):
        raise InvalidParameter(f"request of a {op} message must be an object", field="request")
    return request_from_wire(value)


def _task_key(data: Message, op: str) -> TaskKey | None:
    if "task_id" not in data:
        return None
    return (_whole(data, "task_id", op), _whole(data, "task_attempt", op, 0))


def _job_types(data: Message) -> frozenset[str] | None:
    """None when not said; said but malformed (or empty): tickwork's own types."""
    if "job_types" not in data:
        return None
    return job_types_from_wire(data["job_types"]) or OWN_TYPE_NAMES


def _numbers(data: Message, name: str, op: str, size: int) -> list[tuple[int, ...]]:
    """A list of lists of ``size`` whole numbers (``hello``'s runs and tasks)."""
    items = _value(data, name, op, ())
    try:
        found: list[tuple[int, ...]] | None = [tuple(int(n) for n in item) for item in items]
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None or any(len(item) != size for item in found):
        raise InvalidParameter(
            f"{name} of a {op} message must be a list of lists of {size} whole numbers",
            field=name,
        )
    return found


def _dropped(data: Message) -> tuple[int, int]:
    """(lines, bytes) of its log the agent dropped; (0, 0) when absent or malformed (it only
    goes into the truncation line's count)."""
    value = data.get("log_dropped")
    if not isinstance(value, list) or len(value) != 2:
        return (0, 0)
    lines, size = wire_count(value[0]), wire_count(value[1])
    if lines is None or size is None:
        return (0, 0)
    return (lines, size)


def _hello(data: Message, op: str) -> Hello:
    runs = _numbers(data, "runs", op, 2)
    tasks = _numbers(data, "tasks", op, 4)
    return Hello(
        runs=tuple((r[0], r[1]) for r in runs),
        tasks=tuple((t[0], t[1], t[2], t[3]) for t in tasks),
        job_types=_job_types(data),
    )


def _heartbeat(data: Message, op: str) -> Heartbeat:
    concurrency = data.get("concurrency")  # the server reads it from the query: never refused
    return Heartbeat(
        running=_whole(data, "running", op, 0),
        concurrency=wire_count(concurrency) or 0,
        draining=bool(data.get("draining", False)),
        metrics=WorkerMetrics.from_wire(data["metrics"]) if "metrics" in data else None,
        job_types=_job_types(data),
    )


def _started(data: Message, op: str) -> Started:
    return Started(
        _whole(data, "instance_id", op),
        _whole(data, "attempt", op),
        _whole(data, "at", op),
        _task_key(data, op),
    )


def _log(data: Message, op: str) -> Log:
    return Log(
        _whole(data, "instance_id", op),
        _whole(data, "attempt", op),
        _whole(data, "at", op),
        str(_value(data, "line", op)),
    )


def _progress(data: Message, op: str) -> Progress:
    return Progress(
        _whole(data, "instance_id", op),
        _whole(data, "attempt", op),
        str(_value(data, "progress", op)),
    )


def _finished(data: Message, op: str) -> Finished:
    instance_id, attempt = _whole(data, "instance_id", op), _whole(data, "attempt", op)
    try:
        status = InstanceStatus(_whole(data, "status", op))
    except ValueError:
        raise InvalidParameter(
            f"status of a {op} message is no instance status: {_shown(data['status'])}",
            field="status",
        ) from None
    lines, size = _dropped(data)
    outcome = RunOutcome(
        status,
        str(data.get("result", "")),
        lost=bool(data.get("lost")),
        dropped_lines=lines,
        dropped_bytes=size if lines else 0,
    )
    return Finished(instance_id, attempt, outcome, _whole(data, "at", op), _task_key(data, op))


def _mapped(data: Message, op: str) -> Mapped:
    task = _task_key(data, op)
    if task is None:
        raise InvalidParameter(f"a {op} message needs task_id", field="task_id")
    bodies = _value(data, "tasks", op)
    if not isinstance(bodies, list) or not all(isinstance(b, str) for b in bodies):
        raise InvalidParameter(
            f"tasks of a {op} message must be a list of JSON texts", field="tasks"
        )
    return Mapped(
        _whole(data, "instance_id", op),
        _whole(data, "attempt", op),
        task,
        str(_value(data, "task_name", op)),
        bodies,
    )


def _welcome(data: Message, op: str) -> Welcome:
    return Welcome(str(data.get("worker_id", "")), log_limits_from_wire(data.get("log_limits")))


def _kill(data: Message, op: str) -> Kill:
    return Kill(_strict_whole(data, "instance_id", op), str(data.get("reason") or "killed"))


_FROM_AGENT: dict[str, Callable[[Message, str], AgentMessage]] = {
    "hello": _hello,
    "heartbeat": _heartbeat,
    "started": _started,
    "log": _log,
    "progress": _progress,
    "finished": _finished,
    "mapped": _mapped,
}

_FROM_SERVER: dict[str, Callable[[Message, str], ServerMessage]] = {
    "welcome": _welcome,
    "prepare": lambda data, op: Prepare(_request(data, op)),
    "run": lambda data, op: Run(_request(data, op)),
    "tasks": lambda data, op: Tasks(tuple(tasks_from_wire(data))),
    "discard": lambda data, op: Discard(_strict_whole(data, "instance_id", op)),
    "kill": _kill,
}
