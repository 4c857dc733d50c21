"""CreateRouteStrategy, DeleteRouteStrategy and BatchDeleteRouteStrategy through the official
client against a real server; what is stored is read back through the native API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from server_support import ServerProcess
from sx_support import SX_KEY, refused, sdk_client

NS, GROUP, REGION = "default", "default", "cn-hangzhou"
# The public documentation's example: target is a string holding a JSON list.
CANARY = json.dumps(
    [
        {"percentage": 30, "target": '["blue"]', "targetType": "label"},
        {"percentage": 70, "target": ["green", "teal"], "targetType": "label"},
    ]
)


@pytest.fixture(scope="module")
def native(sx_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sx_server.url, auth=SX_KEY, timeout=30) as client:
        yield client


def fails(call: Callable[[], object]) -> AlibabaCloudException:
    with pytest.raises(AlibabaCloudException) as caught:
        call()
    return caught.value


def new_job(native: httpx.Client, name: str, group: str = GROUP) -> int:
    body = {"name": name, "group_id": group, "job_type": "shell", "content": "echo ran"}
    created = native.post("/api/v1/jobs", json={**body, "time_type": "api"})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def create(
    sx: Client,
    job_id: int,
    content: str | None = CANARY,
    *,
    name: str | None = "canary",
    kind: int | None = 3,
    status: int | None = 1,
    group: str = GROUP,
) -> Any:
    return sx.create_route_strategy(
        m.CreateRouteStrategyRequest(
            namespace=NS,
            group_id=group,
            job_id=job_id,
            name=name,
            type=kind,
            status=status,
            strategy_content=content,
            region_id=REGION,
        )
    )


def stored(native: httpx.Client, job_id: int, group: str = GROUP) -> dict[str, Any] | None:
    got = native.get(f"/api/v1/namespaces/{NS}/groups/{group}/jobs/{job_id}/route-strategy")
    if got.status_code == 404:
        return None
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_create_replace_and_delete_a_route_strategy(sx: Client, native: httpx.Client) -> None:
    job_id = new_job(native, "routed")
    answer = create(sx, job_id).body
    assert answer.success is True and answer.code == 200
    assert stored(native, job_id) == {
        "name": "canary",
        "type": 3,
        "status": "enabled",
        "entries": [
            {"percentage": 30, "target": ["blue"], "target_type": "label"},
            {"percentage": 70, "target": ["green", "teal"], "target_type": "label"},
        ],
    }

    # a job has one route strategy: a new Create replaces it (here: workers, disabled, and
    # percentages written as strings, a comma-separated target)
    workers = [
        {"percentage": "100", "target": "10.0.0.1:7000, 10.0.0.2:7000", "targetType": "worker"}
    ]
    create(sx, job_id, json.dumps(workers), name="by-ip", status=0)
    assert stored(native, job_id) == {
        "name": "by-ip",
        "type": 3,
        "status": "disabled",
        "entries": [
            {
                "percentage": 100,
                "target": ["10.0.0.1:7000", "10.0.0.2:7000"],
                "target_type": "worker",
            }
        ],
    }

    deleted = sx.delete_route_strategy(
        m.DeleteRouteStrategyRequest(namespace=NS, group_id=GROUP, job_id=job_id, region_id=REGION)
    ).body
    assert deleted.success is True
    assert stored(native, job_id) is None
    # deleting again is not an error: there is nothing left to remove
    sx.delete_route_strategy(
        m.DeleteRouteStrategyRequest(namespace=NS, group_id=GROUP, job_id=job_id, region_id=REGION)
    )
    # the job itself is untouched and still runs
    assert native.get(f"/api/v1/jobs/{job_id}").json()["name"] == "routed"


def test_batch_delete_removes_every_listed_jobs_strategy(sx: Client, native: httpx.Client) -> None:
    first, second, untouched = (new_job(native, f"batch-{i}") for i in range(3))
    for job_id in (first, second, untouched):
        create(sx, job_id)
    request = m.BatchDeleteRouteStrategyRequest(
        namespace=NS, group_id=GROUP, job_id_list=[first, second], region_id=REGION
    )
    assert sx.batch_delete_route_strategy(request).body.success is True
    assert stored(native, first) is None and stored(native, second) is None
    assert stored(native, untouched) is not None

    # all or nothing: one id of another group fails the call before anything is removed
    native.post(f"/api/v1/namespaces/{NS}/groups", json={"group_id": "routes-other"})
    foreign = new_job(native, "foreign", group="routes-other")
    mismatched = refused(
        lambda: sx.batch_delete_route_strategy(
            m.BatchDeleteRouteStrategyRequest(
                namespace=NS, group_id=GROUP, job_id_list=[untouched, foreign], region_id=REGION
            )
        )
    )
    assert mismatched.code == 404
    assert mismatched.message == f"jobid: {foreign} not match groupId: {GROUP}"
    assert stored(native, untouched) is not None
    # JobIdList is optional in the SDK's BatchDeleteRouteStrategy: the product's refusal
    empty = refused(
        lambda: sx.batch_delete_route_strategy(
            m.BatchDeleteRouteStrategyRequest(namespace=NS, group_id=GROUP, region_id=REGION)
        )
    )
    assert empty.code == 400 and "JobIdList" in empty.message


@pytest.mark.parametrize(
    ("content", "changes", "parameter", "words"),
    [
        (
            json.dumps([{"percentage": 30, "target": ["a"], "targetType": "label"}] * 2),
            {},
            "StrategyContent",
            "sum to 100, got 60",
        ),
        ('[{"percentage": 30, "target": ', {}, "StrategyContent", "not valid JSON"),
        ('{"percentage": 100}', {}, "StrategyContent", "JSON list"),
        (
            json.dumps([{"percentage": 100.5, "target": ["a"], "targetType": "label"}]),
            {},
            "StrategyContent",
            "the percentage must be an integer",
        ),
        (
            json.dumps([{"percentage": 150, "target": ["a"], "targetType": "label"}]),
            {},
            "StrategyContent",
            "0..100",
        ),
        (
            json.dumps([{"percentage": 100, "target": ["a"], "targetType": "host"}]),
            {},
            "StrategyContent",
            "'label' or 'worker'",
        ),
        (
            json.dumps([{"percentage": 100, "target": [], "targetType": "label"}]),
            {},
            "StrategyContent",
            "non-empty list",
        ),
        (
            json.dumps([{"percentage": 100, "targetType": "label"}]),
            {},
            "StrategyContent",
            "has no target",
        ),
        ("[]", {}, "StrategyContent", "at least one entry"),
        (None, {}, "StrategyContent", "mandatory"),
        (CANARY, {"kind": 1}, "Type", "the only Type is 3"),
        (CANARY, {"status": 2}, "Status", "0 (disabled) or 1 (enabled)"),
        (CANARY, {"name": "  "}, "Name", "must not be empty"),
    ],
)
def test_bad_input_names_the_parameter_and_stores_nothing(
    sx: Client,
    native: httpx.Client,
    content: str | None,
    changes: dict[str, Any],
    parameter: str,
    words: str,
) -> None:
    job_id = new_job(native, "badly-routed")
    bad = refused(lambda: create(sx, job_id, content, **changes))
    assert bad.code == 400
    assert parameter in bad.message and words in bad.message, bad.message
    assert stored(native, job_id) is None


def test_a_strategy_without_a_name_is_refused_by_the_gateway(
    sx: Client, native: httpx.Client
) -> None:
    """Name is required in the SDK model: the gateway's MissingParameter, an HTTP error."""
    job_id = new_job(native, "unnamed-routing")
    missing = fails(lambda: create(sx, job_id, name=None))
    assert (missing.status_code, missing.code) == (400, "MissingParameter")
    assert "Name is mandatory" in missing.message
    assert stored(native, job_id) is None


def test_a_bad_create_keeps_the_strategy_a_job_had(sx: Client, native: httpx.Client) -> None:
    job_id = new_job(native, "kept-routing")
    create(sx, job_id)
    bad = json.dumps([{"percentage": 90, "target": ["a"], "targetType": "label"}])
    assert refused(lambda: create(sx, job_id, bad)).code == 400
    kept = stored(native, job_id)
    assert kept is not None and kept["name"] == "canary"


def test_unknown_jobs_and_groups(sx: Client, native: httpx.Client) -> None:
    missing = refused(lambda: create(sx, 987654))
    assert missing.code == 404 and missing.message == "job 987654 does not exist"
    native.post(f"/api/v1/namespaces/{NS}/groups", json={"group_id": "routes-elsewhere"})
    foreign = new_job(native, "elsewhere", group="routes-elsewhere")
    wrong_group = refused(lambda: create(sx, foreign))
    assert wrong_group.code == 404
    assert wrong_group.message == f"jobid: {foreign} not match groupId: {GROUP}"
    no_group = refused(lambda: create(sx, foreign, group="no-such-group"))
    assert no_group.code == 404
    assert no_group.message == f"groupid not exist groupId: no-such-group namespace: {NS}"
    # JobId is optional in the SDK's DeleteRouteStrategy: the product's refusal
    no_job_id = refused(
        lambda: sx.delete_route_strategy(
            m.DeleteRouteStrategyRequest(namespace=NS, group_id=GROUP, region_id=REGION)
        )
    )
    assert no_job_id.code == 400 and "JobId" in no_job_id.message


def test_a_key_needs_a_right_on_the_group(sx_server: ServerProcess, native: httpx.Client) -> None:
    job_id = new_job(native, "guarded-routing")
    key = native.post("/api/v1/access-keys", json={"name": "no-rights"}).json()
    scoped = sdk_client(sx_server, (key["key_id"], key["secret"]))
    no_right = refused(lambda: create(scoped, job_id))
    assert no_right.code == 403
    assert stored(native, job_id) is None
