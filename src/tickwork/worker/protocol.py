"""The wire between the server and ``tickwork worker`` agents: JSON text frames over one
WebSocket (``/api/v1/workers/connect``), each frame a batch of messages so that thousands of
short runs a second need no frame (let alone a request) per run.

Frame: ``{"messages": [message, ...]}``. A message is an object with ``op``:

server -> agent: ``welcome`` {worker_id}, ``prepare`` {request}, ``run`` {request},
``discard`` {instance_id}, ``kill`` {instance_id, reason}
agent -> server: ``heartbeat`` {running, concurrency, draining}, ``started`` {instance_id, attempt,
at}, ``log`` {instance_id, attempt, at, line}, ``progress`` {instance_id, attempt, progress},
``finished`` {instance_id, attempt, status, result, at}

A heartbeat with ``draining: true`` says the agent takes no more runs (it is shutting down);
the server routes none to it from then on.

The agent names itself when it connects, in query parameters: ``namespace``, ``group``,
``worker_id``, ``address``, ``labels`` (comma-separated), ``version``, ``concurrency``; and
proves it belongs to the app group with the ``x-tickwork-app-key`` header (the group's
AppKey). A wrong AppKey closes the socket with code 4403 and the reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from tickwork.domain.enums import ExecuteMode, JobType, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter
from tickwork.worker.abc import RunRequest

CONNECT_PATH = "/api/v1/workers/connect"
APP_KEY_HEADER = "x-tickwork-app-key"
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400
HEARTBEAT_S = 2.0
DEAD_AFTER_S = 10.0  # a worker silent this long is gone

Message = dict[str, Any]

_REQUEST_FIELDS = {f.name for f in fields(RunRequest)} - {"designation"}


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
    return data


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
        return RunRequest(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"a run request is malformed: {exc}", field="request") from None


def encode(messages: list[Message]) -> str:
    return json.dumps({"messages": messages}, separators=(",", ":"), ensure_ascii=False)


def decode(frame: str | bytes) -> list[Message]:
    try:
        data = json.loads(frame)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidParameter("a frame is not JSON", field="frame") from None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InvalidParameter('a frame must be {"messages": [objects]}', field="frame")
    return messages
