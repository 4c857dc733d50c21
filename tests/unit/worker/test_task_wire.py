"""Tasks of distributed runs on the wire between server and agents."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tickwork.domain.enums import ExecuteMode, JobType, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter
from tickwork.worker.abc import RunRequest, TaskPhase, TaskSpec
from tickwork.worker.protocol import (
    decode,
    encode,
    request_from_wire,
    request_to_wire,
    tasks_from_wire,
    tasks_to_wire,
)

BASE = RunRequest(
    instance_id=7, job_id=3, job_name="sum", namespace="ns", group_id="g",
    job_type=JobType.PROCESSOR, execute_mode=ExecuteMode.GRID, time_type=TimeType.API,
    trigger_type=TriggerType.API, schedule_time=1000, data_time=1000, attempt=1,
    max_attempt=2, class_name="m:C", job_parameters="10",
)  # fmt: skip


def test_a_page_of_tasks_travels_as_one_message_and_comes_back_whole() -> None:
    pages = [
        replace(BASE, task=TaskSpec(1, TaskPhase.SUB, "Number", '{"n":1}', 0, 5, "task 1")),
        replace(BASE, task=TaskSpec(2, TaskPhase.SUB, "Number", '{"n":2}', 3, 5, "task 2")),
        replace(
            BASE,
            task=TaskSpec(3, TaskPhase.PART, label="shard 9"),
            sharding_id=9,
            sharding_num=3,
            sharding_parameter="Wuhan",
        ),
    ]
    message = tasks_to_wire(pages)
    assert message["op"] == "tasks"
    assert "task" not in message["request"]  # the shared part is sent once
    assert message["tasks"][0] == {"task": message["tasks"][0]["task"]}  # nothing else differs
    (received,) = decode(encode([message]))
    assert tasks_from_wire(received) == pages


def test_a_reduce_task_carries_every_result_and_status() -> None:
    request = replace(
        BASE,
        task=TaskSpec(
            11, TaskPhase.REDUCE, label="reduce", results=((1, "a"), (2, "b")), statuses=((1, 4),)
        ),
    )
    assert request_from_wire(request_to_wire(request)) == request


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"op": "tasks", "request": {}, "tasks": []}, "request"),
        ({"op": "tasks", "tasks": [{"task": {}}]}, "task"),
        ({"op": "tasks", "request": "x", "tasks": [{"task": {}}]}, "tasks"),
        ({"op": "tasks", "tasks": ["x"]}, "tasks"),
        ({"op": "tasks", "tasks": [{"task": {"task_id": 1}}]}, "task"),
        ({"op": "tasks", "tasks": [{"task": {"task_id": 1, "phase": "nope"}}]}, "task"),
        ({"op": "tasks", "tasks": [{"task": "x"}]}, "task"),
        (
            {
                "op": "tasks",
                "tasks": [{"task": {"task_id": 1, "phase": "sub"}, "sharding_id": "x"}],
            },
            "tasks",
        ),
    ],
)
def test_malformed_tasks_are_refused_naming_the_part(
    message: dict[str, object], field: str
) -> None:
    if "request" not in message:
        message["request"] = request_to_wire(BASE)
    with pytest.raises(InvalidParameter) as caught:
        tasks_from_wire(message)
    assert caught.value.field == field


def test_a_frame_nested_too_deep_is_refused_naming_the_frame() -> None:
    frame = '{"messages": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    with pytest.raises(InvalidParameter) as caught:
        decode(frame)
    assert caught.value.field == "frame"
    assert "nested deeper than 64" in caught.value.message
