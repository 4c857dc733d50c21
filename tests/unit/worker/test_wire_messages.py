"""The typed messages of the agents' wire (worker/messages.py, worker/message_parser.py):
each encodes to the JSON that servers and agents of every version send (pinned here, byte for
byte, as the code before the types wrote them), parses back to itself, and a bad one is
refused naming its field."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import RunOutcome, RunRequest, TaskPhase, TaskSpec
from tickwork.worker.message_parser import parse_from_agent, parse_from_server
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
    encode_messages,
)
from tickwork.worker.protocol import AgentTiming, decode

REQUEST = RunRequest(
    instance_id=7, job_id=1, job_name="j", namespace="ns", group_id="g", job_type=JobType.SHELL,
    execute_mode=ExecuteMode.STANDALONE, time_type=TimeType.CRON,
    trigger_type=TriggerType.SCHEDULED, schedule_time=1000, data_time=1000, attempt=1,
    max_attempt=3, content="echo é", envs=(("A", "b"),),
)  # fmt: skip
FIGURES = WorkerMetrics(cpu_load1=0.5, cpu_processors=2)
WIRE_REQUEST = (
    '{"instance_id":7,"job_id":1,"job_name":"j","namespace":"ns","group_id":"g",'
    '"job_type":"shell","execute_mode":"standalone","time_type":1,"trigger_type":1,'
    '"schedule_time":1000,"data_time":1000,"attempt":1,"max_attempt":3,"content":"echo é",'
    '"class_name":"","job_parameters":"","instance_parameters":"","timeout":null,"timezone":"",'
    '"command":"","command_args":[],"envs":[["A","b"]],"sharding_id":%d,"sharding_num":%d,'
    '"sharding_parameter":"","extra_env":[]}'
)
TASKS = tuple(
    replace(
        REQUEST,
        task=TaskSpec(task_id=i, phase=TaskPhase.PART, label=f"shard {i}"),
        sharding_id=i,
        sharding_num=2,
    )
    for i in (1, 2)
)

FROM_AGENT: list[tuple[AgentMessage, str]] = [
    (Started(7, 1, 1000), '{"op":"started","instance_id":7,"attempt":1,"at":1000}'),
    (
        Started(7, 1, 1000, (3, 2)),
        '{"op":"started","instance_id":7,"attempt":1,"at":1000,"task_id":3,"task_attempt":2}',
    ),
    (
        Log(7, 1, 1001, 'héllo "x"'),
        '{"op":"log","instance_id":7,"attempt":1,"at":1001,"line":"héllo \\"x\\""}',
    ),
    (Progress(7, 1, "50%"), '{"op":"progress","instance_id":7,"attempt":1,"progress":"50%"}'),
    (
        Finished(7, 1, RunOutcome(InstanceStatus.SUCCESS, "ok"), 1002),
        '{"op":"finished","instance_id":7,"attempt":1,"status":4,"result":"ok","at":1002}',
    ),
    (
        Finished(
            7,
            1,
            RunOutcome(InstanceStatus.FAILED, "gone", lost=True, dropped_lines=3, dropped_bytes=30),
            1003,
            (3, 2),
        ),
        '{"op":"finished","instance_id":7,"attempt":1,"status":5,"result":"gone","at":1003,'
        '"lost":true,"log_dropped":[3,30],"task_id":3,"task_attempt":2}',
    ),
    (
        Mapped(7, 1, (3, 2), "parts", ['{"a":1}', "2"]),
        '{"op":"mapped","instance_id":7,"attempt":1,"task_id":3,"task_attempt":2,'
        '"task_name":"parts","tasks":["{\\"a\\":1}","2"]}',
    ),
    (
        Heartbeat(2, 4, metrics=FIGURES),
        '{"op":"heartbeat","running":2,"concurrency":4,"draining":false,"metrics":'
        '{"cpu_load1":0.5,"cpu_load5":0.0,"cpu_processors":2,"heap1_usage":0.0,'
        '"heap5_usage":0.0,"heap1_used":0.0,"heap_max":0,"disk_usage":0.0,"disk_used":0,'
        '"disk_max":0,"exec_count":0}}',
    ),
    (
        Heartbeat(0, 4, draining=True),
        '{"op":"heartbeat","running":0,"concurrency":4,"draining":true}',
    ),
    (Hello(((7, 1),), ((9, 3, 0, 2),)), '{"op":"hello","runs":[[7,1]],"tasks":[[9,3,0,2]]}'),
]

FROM_SERVER: list[tuple[ServerMessage, str]] = [
    (Run(REQUEST), '{"op":"run","request":' + WIRE_REQUEST % (0, 1) + "}"),
    (Prepare(REQUEST), '{"op":"prepare","request":' + WIRE_REQUEST % (0, 1) + "}"),
    (
        Tasks(TASKS),
        '{"op":"tasks","request":' + WIRE_REQUEST % (1, 2) + ',"tasks":[{"task":{"task_id":1,'
        '"phase":"part","name":"","body":"","attempt":0,"consumers":0,"label":"shard 1",'
        '"results":[],"statuses":[]}},{"task":{"task_id":2,"phase":"part","name":"","body":"",'
        '"attempt":0,"consumers":0,"label":"shard 2","results":[],"statuses":[]},'
        '"sharding_id":2}]}',
    ),
    (
        Welcome("w-1", LogLimits(100, 10)),
        '{"op":"welcome","worker_id":"w-1","log_limits":{"max_bytes":100,"max_lines":10}}',
    ),
    (Discard(7), '{"op":"discard","instance_id":7}'),
    (Kill(7, "stopped by alice"), '{"op":"kill","instance_id":7,"reason":"stopped by alice"}'),
    # issue 21: the fencing token and the timing, optional fields an older agent ignores
    (Discard(7, 2), '{"op":"discard","instance_id":7,"attempt":2}'),
    (Kill(7, "stale", 1), '{"op":"kill","instance_id":7,"reason":"stale","attempt":1}'),
    (
        Welcome("w-1", None, AgentTiming(1.0, 4.0, 2.0)),
        '{"op":"welcome","worker_id":"w-1","timing":'
        '{"heartbeat_ms":1000,"lease_ms":4000,"grace_ms":2000}}',
    ),
]


@pytest.mark.parametrize(("message", "wire"), FROM_AGENT, ids=lambda v: getattr(v, "op", ""))
def test_an_agents_message_is_the_json_it_always_was(message: AgentMessage, wire: str) -> None:
    frame = encode_messages([message])
    assert frame == '{"messages":[' + wire + "]}"
    (data,) = decode(frame)
    assert parse_from_agent(data) == message


@pytest.mark.parametrize(("message", "wire"), FROM_SERVER, ids=lambda v: getattr(v, "op", ""))
def test_a_servers_message_is_the_json_it_always_was(message: ServerMessage, wire: str) -> None:
    frame = encode_messages([message])
    assert frame == '{"messages":[' + wire + "]}"
    (data,) = decode(frame)
    assert parse_from_server(data) == message


def test_a_frame_holds_messages_in_order() -> None:
    frame = encode_messages([Started(7, 1, 1000), Log(7, 1, 1001, "x")])
    assert [m["op"] for m in json.loads(frame)["messages"]] == ["started", "log"]


def test_what_agents_always_sent_is_read_as_before() -> None:
    # numbers as text, a hello that says nothing, a finished without result
    assert parse_from_agent(
        {"op": "log", "instance_id": "7", "attempt": 1, "at": 5, "line": 12}
    ) == Log(7, 1, 5, "12")
    assert parse_from_agent({"op": "hello"}) == Hello()
    assert parse_from_agent(
        {"op": "finished", "instance_id": 7, "attempt": 0, "status": 4, "at": 1}
    ) == Finished(7, 0, RunOutcome(InstanceStatus.SUCCESS, ""), 1)
    assert parse_from_agent({"op": "heartbeat"}) == Heartbeat(0, 0)
    assert parse_from_server({"op": "kill", "instance_id": 3}) == Kill(3, "killed")
    assert parse_from_server({"op": "welcome"}) == Welcome("")


def test_optional_parts_that_are_malformed_read_as_absent() -> None:
    beat = parse_from_agent(
        {"op": "heartbeat", "running": 1, "metrics": {"cpu_load1": "garbage"}, "job_types": 3}
    )
    assert beat == Heartbeat(1, 0, metrics=None, job_types=OWN_TYPE_NAMES)
    declared = parse_from_agent({"op": "hello", "job_types": ["Java", "golang"]})
    assert declared == Hello(job_types=frozenset({"java", "go"}))
    finished = parse_from_agent(
        {"op": "finished", "instance_id": 7, "attempt": 0, "status": 4, "at": 1,
         "log_dropped": [-1, 5]}
    )  # fmt: skip
    assert isinstance(finished, Finished) and finished.outcome.dropped_lines == 0
    welcome = parse_from_server({"op": "welcome", "worker_id": "w", "log_limits": "lots"})
    assert welcome == Welcome("w", None)
    timing = {"heartbeat_ms": 5000, "lease_ms": 1000, "grace_ms": 0}  # heartbeat > lease
    assert parse_from_server({"op": "welcome", "timing": timing}) == Welcome("")
    assert parse_from_server({"op": "kill", "instance_id": 3, "attempt": "x"}) == Kill(3, "killed")


def run_of(**changes: Any) -> dict[str, Any]:
    data = json.loads(encode_messages([Run(REQUEST)]))["messages"][0]
    data.update(changes)
    return data


BAD_FROM_AGENT: list[tuple[dict[str, Any], str, str]] = [
    ({"op": "mystery"}, "op", "unknown message op 'mystery'"),
    ({"instance_id": 7}, "op", "unknown message op None"),
    ({"op": "run", "request": {}}, "op", "unknown message op 'run'"),  # the server's op
    (
        {"op": "started", "attempt": 1, "at": 1},
        "instance_id",
        "a started message needs instance_id",
    ),
    (
        {"op": "log", "instance_id": "x", "attempt": 1, "at": 1, "line": ""},
        "instance_id",
        "instance_id of a log message must be a whole number, got 'x'",
    ),
    ({"op": "log", "instance_id": 7, "attempt": 1, "at": 1}, "line", "needs line"),
    (
        {"op": "finished", "instance_id": 7, "attempt": 1, "at": 1, "status": 42},
        "status",
        "status of a finished message is no instance status: 42",
    ),
    (
        {"op": "finished", "instance_id": 7, "attempt": 1, "at": 1, "status": 4, "task_id": []},
        "task_id",
        "task_id of a finished message must be a whole number",
    ),
    (
        {"op": "mapped", "instance_id": 7, "attempt": 1, "task_name": "x", "tasks": []},
        "task_id",
        "a mapped message needs task_id",
    ),
    (
        {
            "op": "mapped",
            "instance_id": 7,
            "attempt": 1,
            "task_id": 1,
            "task_name": "x",
            "tasks": [{"a": 1}],
        },
        "tasks",
        "tasks of a mapped message must be a list of JSON texts",
    ),  # fmt: skip
    ({"op": "hello", "runs": [[1, 2, 3]]}, "runs", "runs of a hello message must be a list"),
    ({"op": "hello", "tasks": "x"}, "tasks", "tasks of a hello message must be a list"),
    (
        {"op": "heartbeat", "running": float("inf")},
        "running",
        "running of a heartbeat message must be a whole number, got inf",
    ),
]


@pytest.mark.parametrize(("data", "field", "says"), BAD_FROM_AGENT)
def test_a_bad_message_from_an_agent_is_refused_naming_the_field(
    data: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_from_agent(data)
    assert caught.value.field == field
    assert says in caught.value.message


BAD_FROM_SERVER: list[tuple[dict[str, Any], str, str]] = [
    ({"op": "hello"}, "op", "unknown message op 'hello'"),
    ({"op": "run"}, "request", "a run message needs request"),
    ({"op": "prepare", "request": [1]}, "request", "request of a prepare message must be an"),
    (run_of(request={"instance_id": 1}), "request", "a run request is malformed"),
    ({"op": "kill", "instance_id": "7"}, "instance_id", "must be a number, got '7'"),
    ({"op": "discard", "instance_id": True}, "instance_id", "must be a number, got True"),
    ({"op": "tasks", "request": {}}, "tasks", "a tasks message needs request and tasks"),
]


@pytest.mark.parametrize(("data", "field", "says"), BAD_FROM_SERVER)
def test_a_bad_message_from_a_server_is_refused_naming_the_field(
    data: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_from_server(data)
    assert caught.value.field == field
    assert says in caught.value.message
