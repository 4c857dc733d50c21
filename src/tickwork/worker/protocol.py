"""The wire between the server and ``tickwork worker`` agents: JSON text frames over one
WebSocket (``/api/v1/workers/connect``), each frame a batch of messages so that thousands of
short runs a second need no frame (let alone a request) per run.

Frame: ``{"messages": [message, ...]}``. A message is an object with ``op`` (each op is a
type of ``worker/messages.py``; ``worker/message_parser.py`` parses them):

server -> agent: ``welcome`` {worker_id, log_limits?: {max_bytes, max_lines}, timing?:
{heartbeat_ms, lease_ms, grace_ms}}, ``prepare`` {request}, ``run`` {request},
``tasks`` {request, tasks: [{task, sharding_id?, sharding_num?, sharding_parameter?}]} (a page
of tasks of one distributed run: each is ``request`` with those fields replaced),
``discard`` {instance_id, attempt?}, ``kill`` {instance_id, reason, attempt?} (the run and all
its tasks; with ``attempt``, only if that is the attempt the agent holds)
agent -> server: ``hello`` {runs: [[instance_id, attempt]], tasks: [[instance_id, task_id,
attempt, task_attempt]]} (first on every connection: what it holds), ``heartbeat`` {running,
concurrency, draining, metrics?}, ``started`` {instance_id, attempt,
at}, ``log`` {instance_id, attempt, at, line}, ``progress`` {instance_id, attempt, progress},
``finished`` {instance_id, attempt, status, result, at, lost?, log_dropped?: [lines, bytes],
task_id?, task_attempt?},
``mapped`` {instance_id, attempt, task_id, task_attempt, task_name, tasks: [JSON text]}

**Fencing.** Every ``run``, ``prepare`` and ``tasks`` carries its attempt in its request
(and a task its task attempt): the attempt is the fencing token of a dispatch. ``welcome``
opens every connection, and the agent starts nothing before it; an agent reconnecting for
runs it held is routed nothing before its ``hello`` is settled. ``welcome``'s ``timing``
(``AgentTiming``) tells the agent how often to beat and how long the server waits for it: an
agent that has not heard its server for ``lease_ms`` (a frame or a pong: it pings every
``heartbeat_ms``), or that sees its own event loop stood still (frozen, ``SIGSTOP``), starts
nothing more until a new connection's ``welcome``, drops what it had not started, and kills
what it runs once the lease is out (``agent/touch.py``). An older agent ignores ``timing``
and the ``attempt`` of ``kill``; an older server sends neither, and the agent keeps the
defaults. Protocol version: unchanged (1): every addition is an optional field.

When a connection closes, the server keeps the runs the agent held for ``RESUME_GRACE_S``;
if the agent (same ``worker_id``) reconnects in time, its ``hello`` settles them: runs the
server holds for it that it does not list failed as lost (their ``run`` never arrived), runs it
lists that the server does not hold for it are killed. Otherwise they fail as lost then.

``lost: true`` in ``finished`` says the run did not fail by itself (the agent was draining or
stopping): the engine runs it again elsewhere.

``log_limits`` in ``welcome`` is what the server keeps of each attempt's log
(``domain/log_cap.py``): the agent cuts its runs' logs the same way, to send no line the
server would drop, and reports the lines it dropped in ``finished`` (``log_dropped``), after
the tail it kept. The server cuts what it receives all the same; the count only goes into
the attempt's truncation line.

``hello`` and ``heartbeat`` may carry ``job_types`` [names] too: it replaces what the agent
declared (for the runs routed from then on). An agent gets only runs of the types it runs;
a run of a type no live worker of its group runs fails saying so (docs/workers.md).
``metrics`` in a heartbeat is the worker's machine as ``domain/worker_metrics.py`` names it
(CPU load, memory, disk; ReadSchedulerxDesignateInfo shows it). It is optional: a heartbeat
without it (an older agent), or with a malformed one, leaves the worker without figures.

A heartbeat with ``draining: true`` says the agent takes no more runs (it is shutting down);
the server routes none to it from then on.

The agent names itself when it connects, in query parameters: ``namespace``, ``group``,
``worker_id``, ``address``, ``labels`` (comma-separated), ``version``, ``concurrency``,
``job_types`` (comma-separated, optional: the job types it runs; without it, tickwork's
own: shell, python, http, processor, command); and
proves it belongs to the app group with the ``x-tickwork-app-key`` header (the group's
AppKey). A wrong AppKey closes the socket with code 4403 and the reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tickwork.domain import bounded_json
from tickwork.domain.enums import ExecuteMode, JobType, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.log_cap import LogLimits
from tickwork.worker.abc import RunRequest, TaskPhase, TaskSpec

CONNECT_PATH = "/api/v1/workers/connect"
APP_KEY_HEADER = "x-tickwork-app-key"
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400
HEARTBEAT_S = 2.0
DEAD_AFTER_S = 10.0  # a worker silent this long is gone
RESUME_GRACE_S = 5.0  # a disconnected worker's runs wait this long for it to reconnect
QUIET_HEARTBEATS = 2.5
"""A worker silent for this many heartbeats (about two missed) gets no more runs, and runs
it never confirmed started go elsewhere."""


@dataclass(slots=True, frozen=True)
class AgentTiming:
    """How often an agent beats and how long the server waits for it (``welcome``'s
    ``timing``; settings ``agent_heartbeat_s``, ``agent_lease_s``, ``agent_grace_s``).

    ``lease_s``: a worker silent this long is given up (its connection closed); its runs wait
    ``grace_s`` more for it to reconnect, then fail as lost. The agent, for its part, stops
    starting work and kills its runs once it has not heard the server for ``lease_s``: before
    the server gives them to another worker (``lease_s + grace_s`` after it heard it last)."""

    heartbeat_s: float = HEARTBEAT_S
    lease_s: float = DEAD_AFTER_S
    grace_s: float = RESUME_GRACE_S

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_s < self.lease_s or self.grace_s < 0:
            raise InvalidParameter(
                "agent timing: need 0 < heartbeat < lease and grace >= 0, got "
                f"{self.heartbeat_s:g}, {self.lease_s:g}, {self.grace_s:g}",
                field="agent_lease_s",
            )

    @property
    def quiet_s(self) -> float:
        """Silent this long, a worker gets no more runs (about two missed heartbeats)."""
        return QUIET_HEARTBEATS * self.heartbeat_s

    @property
    def gap_s(self) -> float:
        """An agent whose event loop stood still this long (frozen) takes the messages read
        after it for stale: shorter than ``quiet_s``, when the server may have sent its
        unconfirmed runs elsewhere."""
        return 1.5 * self.heartbeat_s

    def to_wire(self) -> dict[str, int]:
        return {
            "heartbeat_ms": round(self.heartbeat_s * 1000),
            "lease_ms": round(self.lease_s * 1000),
            "grace_ms": round(self.grace_s * 1000),
        }

    @classmethod
    def from_wire(cls, value: Any) -> AgentTiming | None:
        """None when absent or malformed (the agent keeps the defaults)."""
        if not isinstance(value, dict):
            return None
        numbers = [wire_count(value.get(k)) for k in ("heartbeat_ms", "lease_ms", "grace_ms")]
        if any(n is None for n in numbers):
            return None
        heartbeat, lease, grace = (n / 1000 for n in numbers if n is not None)
        try:
            return cls(heartbeat, lease, grace)
        except InvalidParameter:
            return None


__all__ = [
    "APP_KEY_HEADER",
    "QUIET_HEARTBEATS",
    "AgentTiming",
    "CLOSE_BAD_REQUEST",
    "CLOSE_FORBIDDEN",
    "CONNECT_PATH",
    "DEAD_AFTER_S",
    "HEARTBEAT_S",
    "JOB_TYPES_LIMIT",
    "RESUME_GRACE_S",
    "Message",
    "decode",
    "encode",
    "job_types_from_wire",
    "log_limits_from_wire",
    "log_limits_to_wire",
    "request_from_wire",
    "request_to_wire",
    "task_from_wire",
    "task_to_wire",
    "tasks_from_wire",
    "tasks_to_wire",
    "wire_count",
]

Message = dict[str, Any]
"""A message as JSON: an object with ``op`` (``worker/messages.py`` gives it its type)."""

_REQUEST_FIELDS = {f.name for f in fields(RunRequest)} - {"designation"}
_TASK_FIELDS = {f.name for f in fields(TaskSpec)}
_TASK_OVERRIDES = ("sharding_id", "sharding_num", "sharding_parameter")


def request_to_wire(request: RunRequest) -> dict[str, Any]:
    data = asdict(request)
    data.pop("designation", None)  # the server routes; the agent need not know
    data["job_type"] = request.job_type.value
    data["execute_mode"] = request.execute_mode.value
    data["time_type"] = int(request.time_type)
    data["trigger_type"] = int(request.trigger_type)
    data["command_args"] = list(request.command_args)
    data["envs"] = [list(pair) for pair in request.envs]
    data["extra_env"] = [list(pair) for pair in request.extra_env]
    if request.task is None:
        data.pop("task", None)
    else:
        data["task"] = task_to_wire(request.task)
    return data


def task_to_wire(task: TaskSpec) -> dict[str, Any]:
    data = asdict(task)
    data["phase"] = task.phase.value
    data["results"] = [list(pair) for pair in task.results]
    data["statuses"] = [list(pair) for pair in task.statuses]
    return data


def task_from_wire(data: Any) -> TaskSpec:
    if not isinstance(data, dict):
        raise InvalidParameter("a task must be an object", field="task")
    try:
        values = {k: v for k, v in data.items() if k in _TASK_FIELDS}
        values["phase"] = TaskPhase(values["phase"])
        values["results"] = tuple((int(t), str(r)) for t, r in values.get("results", ()))
        values["statuses"] = tuple((int(t), int(s)) for t, s in values.get("statuses", ()))
        return TaskSpec(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"a task is malformed: {exc}", field="task") from None


def tasks_to_wire(requests: list[RunRequest]) -> dict[str, Any]:
    """A ``tasks`` message: a page of tasks of one distributed run (same instance)."""
    base = request_to_wire(replace(requests[0], task=None))
    items: list[dict[str, Any]] = []
    for request in requests:
        assert request.task is not None
        item: dict[str, Any] = {"task": task_to_wire(request.task)}
        for name in _TASK_OVERRIDES:
            if getattr(request, name) != base[name]:
                item[name] = getattr(request, name)
        items.append(item)
    return {"op": "tasks", "request": base, "tasks": items}


def tasks_from_wire(message: dict[str, Any]) -> list[RunRequest]:
    items = message.get("tasks")
    base_data = message.get("request")
    if not isinstance(items, list) or not isinstance(base_data, dict):
        raise InvalidParameter("a tasks message needs request and tasks", field="tasks")
    base = request_from_wire(base_data)
    requests: list[RunRequest] = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidParameter("each of tasks must be an object", field="tasks")
        overrides: dict[str, Any] = {"task": task_from_wire(item.get("task"))}
        try:
            for name in _TASK_OVERRIDES:
                if name in item:
                    value = item[name]
                    overrides[name] = str(value) if name == "sharding_parameter" else int(value)
        except (TypeError, ValueError) as exc:
            raise InvalidParameter(f"a task is malformed: {exc}", field="tasks") from None
        requests.append(replace(base, **overrides))
    return requests


def request_from_wire(data: dict[str, Any]) -> RunRequest:
    try:
        values = {k: v for k, v in data.items() if k in _REQUEST_FIELDS}
        values["job_type"] = JobType(values["job_type"])
        values["execute_mode"] = ExecuteMode(values["execute_mode"])
        values["time_type"] = TimeType(int(values["time_type"]))
        values["trigger_type"] = TriggerType(int(values["trigger_type"]))
        values["command_args"] = tuple(str(a) for a in values.get("command_args", ()))
        values["envs"] = tuple((str(k), str(v)) for k, v in values.get("envs", ()))
        values["extra_env"] = tuple((str(k), str(v)) for k, v in values.get("extra_env", ()))
        if values.get("task") is not None:
            values["task"] = task_from_wire(values["task"])
        return RunRequest(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"a run request is malformed: {exc}", field="request") from None


JOB_TYPES_LIMIT = 100  # names a worker may declare (there are 11 job types)


def job_types_from_wire(value: Any) -> frozenset[str] | None:
    """The job types a worker declares: a list of names or a comma-separated text, any case
    (``golang`` is ``go``); None when absent, empty or malformed (the worker then runs
    tickwork's own). Names tickwork does not know are kept: they match no run."""
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = value
    else:
        return None
    found: set[str] = set()
    for name in (n.strip().lower() for n in names[:JOB_TYPES_LIMIT]):
        if name:
            try:
                found.add(JobType.parse(name).value)
            except ValueError:
                found.add(name[:64])
    return frozenset(found) or None


_WIRE_INT_MAX = 2**63 - 1


def wire_count(value: Any) -> int | None:
    """``value`` if it is a whole number (not a bool) that fits the wire's integers."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _WIRE_INT_MAX:
        return None
    return value


def log_limits_to_wire(limits: LogLimits) -> dict[str, int]:
    return {"max_bytes": limits.max_bytes, "max_lines": limits.max_lines}


def log_limits_from_wire(value: Any) -> LogLimits | None:
    """The server's log limits from ``welcome``; None when absent or malformed (the agent
    then sends every line, and the server cuts)."""
    if not isinstance(value, dict):
        return None
    max_bytes, max_lines = wire_count(value.get("max_bytes")), wire_count(value.get("max_lines"))
    if max_bytes is None or max_lines is None:
        return None
    return LogLimits(max_bytes, max_lines)


def encode(messages: list[Message]) -> str:
    """A frame of messages as JSON (``messages.encode_messages`` of typed ones)."""
    return json.dumps({"messages": messages}, separators=(",", ":"), ensure_ascii=False)


def decode(frame: str | bytes) -> list[Message]:
    """The messages of a frame, as JSON (``message_parser.parse_from_*`` types each)."""
    try:
        data = bounded_json.loads(frame, field="frame")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidParameter("a frame is not JSON", field="frame") from None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InvalidParameter('a frame must be {"messages": [objects]}', field="frame")
    return messages
