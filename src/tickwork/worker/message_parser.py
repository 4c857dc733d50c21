"""Turning a received message (a JSON object) into its type of ``worker/messages.py``, or
refusing it with an ``InvalidParameter`` that names the field at fault.

Parsing coerces as the server always did (``int`` of a number, ``str`` of a line), so that
no agent that worked before is refused now; the optional parts (figures, job types, log
limits, the count of dropped log lines) read as absent when malformed, as protocol.py says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey
from tickwork.worker.messages import (
    AgentMessage,
    Discard,
    Finished,
    Heartbeat,
    Hello,
    Kill,
    Log,
    Mapped,
    Prepare,
    Progress,
    Run,
    ServerMessage,
    Started,
    Tasks,
    Welcome,
)
from tickwork.worker.protocol import (
    AgentTiming,
    Message,
    job_types_from_wire,
    log_limits_from_wire,
    request_from_wire,
    tasks_from_wire,
    wire_count,
)

__all__ = ["parse_from_agent", "parse_from_server"]


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
    value = data.get(name, default)
    if type(value) is int:  # nearly always: no further call (thousands a second)
        return value
    if value is _MISSING:
        raise InvalidParameter(f"a {op} message needs {name}", field=name)
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
    return Welcome(
        str(data.get("worker_id", "")),
        log_limits_from_wire(data.get("log_limits")),
        AgentTiming.from_wire(data.get("timing")),
    )


def _attempt(data: Message) -> int | None:
    """The fencing token of a kill or discard; None when absent (an older server: any
    attempt) or malformed."""
    return wire_count(data.get("attempt"))


def _kill(data: Message, op: str) -> Kill:
    return Kill(
        _strict_whole(data, "instance_id", op),
        str(data.get("reason") or "killed"),
        _attempt(data),
    )


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
    "discard": lambda data, op: Discard(_strict_whole(data, "instance_id", op), _attempt(data)),
    "kill": _kill,
}
