"""Errors as a program written for SchedulerX meets them, through both official clients
against a real server (issue 14, items 1 and 2).

What the product refuses comes back as an answer, not an exception: HTTP 200, ``Success:
false``, an integer ``Code`` and the product's message verbatim, so that the V3 client
returns the response and the V1 client's ``do_action_with_exception`` returns the body, as
the seed's sample reads them (``getSuccess()``, ``getMessage()``). What the API gateway
refuses (signature, unknown key, unknown action, a required parameter missing) still raises.
"""

from __future__ import annotations

import json
import signal
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import RpcRequest
from aliyunsdkschedulerx2.request.v20190430 import (
    CreateJobRequest,
    ExecuteJobRequest,
    GetJobInfoRequest,
    GetJobInstanceRequest,
    ListJobsRequest,
    StopInstanceRequest,
)
from server_support import ServerProcess, base_env, free_port, until
from sx_support import SX_KEY, Refused, refused, sdk_client, v1_client

REGION = "cn-hangzhou"
NS = "sx-errors"
G = "errors.group"
OTHER = "errors.other"
SUCCESS = 4


@dataclass(frozen=True)
class World:
    """What the cases refer to: made once through the native API and the V3 client."""

    server: ServerProcess
    job: int  # an enabled api job of G
    disabled: int  # a disabled api job of G
    foreign: int  # a job of OTHER
    finished: int  # a successful instance of ``job``
    revoked: tuple[str, str]  # a key granted G and then revoked


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("sx-errors")
    env = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])
    server = ServerProcess(home, free_port(), env)
    with httpx.Client(base_url=server.url, auth=SX_KEY, timeout=30) as native:
        native.post("/api/v1/namespaces", json={"id": NS, "name": "errors"}).raise_for_status()
        for group in (G, OTHER):
            native.post(
                f"/api/v1/namespaces/{NS}/groups", json={"group_id": group, "run_on_server": True}
            ).raise_for_status()
        key = native.post("/api/v1/access-keys", json={"name": "revoked"}).json()
    sx = sdk_client(server)
    job = _create(sx, G, "echo done")
    disabled = _create(sx, G, "echo never", status=0)
    foreign = _create(sx, OTHER, "echo theirs")
    finished = sx.execute_job(
        m.ExecuteJobRequest(namespace=NS, group_id=G, job_id=job, region_id=REGION)
    ).body.data.job_instance_id
    until(lambda: _status(sx, job, finished) == SUCCESS)
    grant = {"namespace": NS, "group_id": G, "user_id": key["key_id"], "region_id": REGION}
    assert sx.grant_permission(m.GrantPermissionRequest(user_name="r", **grant)).body.success
    assert sx.revoke_permission(m.RevokePermissionRequest(**grant)).body.success
    yield World(server, job, disabled, foreign, finished, (key["key_id"], key["secret"]))
    server.stop(signal.SIGINT)


def _create(sx: Client, group: str, content: str, **extra: Any) -> int:
    answer = sx.create_job(
        m.CreateJobRequest(
            namespace=NS, group_id=group, name=content, job_type="shell", content=content,
            time_type=100, execute_mode="standalone", region_id=REGION, **extra,
        )
    ).body  # fmt: skip
    assert answer.success is True, answer.message
    return int(answer.data.job_id)


def _status(sx: Client, job_id: int, instance_id: int) -> int:
    detail = sx.get_job_instance(
        m.GetJobInstanceRequest(
            namespace=NS, group_id=G, job_id=job_id, job_instance_id=instance_id, region_id=REGION
        )
    ).body.data.job_instance_detail
    return int(detail.status)


# -- the product's refusals -----------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One refusal of the product: the same call made with either client."""

    v3: Callable[[Client, World], Any]  # the call through the V3 client
    v1: Callable[[World], tuple[RpcRequest, dict[str, Any]]]  # a V1 request and its values
    code: int
    message: Callable[[World], str]  # the exact message
    key: Callable[[World], tuple[str, str]] = lambda w: SX_KEY


CASES: dict[str, Case] = {
    "unknown GroupId": Case(
        v3=lambda sx, w: sx.list_jobs(
            m.ListJobsRequest(namespace=NS, group_id="no.such.group", region_id=REGION)
        ),
        v1=lambda w: (
            ListJobsRequest.ListJobsRequest(),
            {"Namespace": NS, "GroupId": "no.such.group"},
        ),
        code=404,
        message=lambda w: f"groupid not exist groupId: no.such.group namespace: {NS}",
    ),
    "unknown Namespace": Case(
        v3=lambda sx, w: sx.list_jobs(
            m.ListJobsRequest(namespace="no-such-ns", group_id=G, region_id=REGION)
        ),
        v1=lambda w: (ListJobsRequest.ListJobsRequest(), {"Namespace": "no-such-ns", "GroupId": G}),
        code=404,
        message=lambda w: "namespace not exist namespace: no-such-ns",
    ),
    "unknown JobId": Case(
        v3=lambda sx, w: sx.get_job_info(
            m.GetJobInfoRequest(namespace=NS, group_id=G, job_id=987654, region_id=REGION)
        ),
        v1=lambda w: (
            GetJobInfoRequest.GetJobInfoRequest(),
            {"Namespace": NS, "GroupId": G, "JobId": 987654},
        ),
        code=404,
        message=lambda w: "job 987654 does not exist",
    ),
    "job of another group": Case(
        v3=lambda sx, w: sx.execute_job(
            m.ExecuteJobRequest(namespace=NS, group_id=G, job_id=w.foreign, region_id=REGION)
        ),
        v1=lambda w: (
            ExecuteJobRequest.ExecuteJobRequest(),
            {"Namespace": NS, "GroupId": G, "JobId": w.foreign},
        ),
        code=404,
        message=lambda w: f"jobid: {w.foreign} not match groupId: {G}",  # the seed's words
    ),
    "unknown instance": Case(
        v3=lambda sx, w: sx.get_job_instance(
            m.GetJobInstanceRequest(
                namespace=NS, group_id=G, job_id=w.job, job_instance_id=987654, region_id=REGION
            )
        ),
        v1=lambda w: (
            GetJobInstanceRequest.GetJobInstanceRequest(),
            {"Namespace": NS, "GroupId": G, "JobId": w.job, "JobInstanceId": 987654},
        ),
        code=404,
        message=lambda w: "instance 987654 does not exist",
    ),
    "disabled job with CheckJobStatus": Case(
        v3=lambda sx, w: sx.execute_job(
            m.ExecuteJobRequest(
                namespace=NS,
                group_id=G,
                job_id=w.disabled,
                check_job_status=True,
                region_id=REGION,
            )
        ),  # fmt: skip
        v1=lambda w: (
            ExecuteJobRequest.ExecuteJobRequest(),
            {"Namespace": NS, "GroupId": G, "JobId": w.disabled, "CheckJobStatus": True},
        ),
        code=409,
        message=lambda w: f"job {w.disabled} is disabled",
    ),
    "stopping a finished instance": Case(
        v3=lambda sx, w: sx.stop_instance(
            m.StopInstanceRequest(
                namespace=NS, group_id=G, job_id=w.job, instance_id=w.finished, region_id=REGION
            )
        ),
        v1=lambda w: (
            StopInstanceRequest.StopInstanceRequest(),
            {"Namespace": NS, "GroupId": G, "JobId": w.job, "InstanceId": w.finished},
        ),
        code=409,
        message=lambda w: f"instance {w.finished} is already success",
    ),
    "bad cron": Case(
        v3=lambda sx, w: sx.create_job(
            m.CreateJobRequest(
                namespace=NS,
                group_id=G,
                name="bad cron",
                job_type="shell",
                content="echo",
                time_type=1,
                time_expression="0 0 25 * * ?",
                execute_mode="standalone",
                region_id=REGION,
            )
        ),  # fmt: skip
        v1=lambda w: (
            CreateJobRequest.CreateJobRequest(),
            {
                "Namespace": NS,
                "GroupId": G,
                "Name": "bad cron",
                "JobType": "shell",
                "Content": "echo",
                "TimeType": 1,
                "TimeExpression": "0 0 25 * * ?",
                "ExecuteMode": "standalone",
            },
        ),  # fmt: skip
        code=400,
        # tickwork's own words, naming the parameter (the product's are not public)
        message=lambda w: (
            "TimeExpression: invalid hours '25' at position 4: Hour values must be between 0 and 23"
        ),
    ),
    "a call after RevokePermission": Case(
        v3=lambda sx, w: sx.list_jobs(
            m.ListJobsRequest(namespace=NS, group_id=G, region_id=REGION)
        ),
        v1=lambda w: (ListJobsRequest.ListJobsRequest(), {"Namespace": NS, "GroupId": G}),
        code=403,
        message=lambda w: (
            f"access key {w.revoked[0]!r} has no right on app group {G!r} of namespace "
            f"{NS!r}; to read it needs 'read'"
        ),
        key=lambda w: w.revoked,
    ),
}


def _v1_body(world: World, case: Case) -> bytes:
    request, values = case.v1(world)
    request.set_endpoint(f"127.0.0.1:{world.server.port}")
    request.set_protocol_type("http")
    for name, value in values.items():
        getattr(request, f"set_{name}")(value)
    # raises ServerException on HTTP >= 400: a refusal of the product must not
    return _v1_do(world, request, case.key(world))


def _v1_do(world: World, request: RpcRequest, key: tuple[str, str] = SX_KEY) -> bytes:
    client = v1_client(world.server, key)
    try:
        return bytes(client.do_action_with_exception(request))
    finally:
        client.session.close()  # its keep-alive connection, not left to the collector


@pytest.mark.parametrize("name", list(CASES))
def test_a_product_refusal_reaches_the_v3_program_as_an_answer(world: World, name: str) -> None:
    case = CASES[name]
    sx = sdk_client(world.server, case.key(world))
    refusal: Refused = refused(lambda: case.v3(sx, world))  # returned, not raised
    assert (refusal.code, refusal.message) == (case.code, case.message(world))


@pytest.mark.parametrize("name", list(CASES))
def test_a_product_refusal_reaches_the_v1_program_as_the_body(world: World, name: str) -> None:
    case = CASES[name]
    body = json.loads(_v1_body(world, case))
    assert body["Success"] is False and body["RequestId"]
    assert type(body["Code"]) is int and body["Code"] == case.code
    assert body["Message"] == case.message(world)


def test_the_xml_form_carries_the_same_refusal(world: World) -> None:
    case = CASES["job of another group"]
    request, values = case.v1(world)
    for name, value in values.items():
        getattr(request, f"set_{name}")(value)
    request.set_accept_format("XML")  # do_action_with_exception would force JSON
    url = request.get_url(REGION, *SX_KEY)  # signed by aliyunsdkcore itself
    answer = httpx.request(request.get_method(), f"{world.server.url}{url}", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    assert root.tag == "ExecuteJobResponse" and root.findtext("Success") == "false"
    assert root.findtext("Code") == "404"
    assert root.findtext("Message") == case.message(world)


def test_a_refusal_changes_nothing(world: World) -> None:
    """The refused bad cron made no job (nothing stored half-written)."""
    jobs = sdk_client(world.server).list_jobs(
        m.ListJobsRequest(namespace=NS, group_id=G, job_name="bad cron", region_id=REGION)
    )
    assert jobs.body.success is True and jobs.body.data.jobs in (None, [])


# -- the gateway's refusals -------------------------------------------------------------------
def _list_jobs_v1(world: World, key: tuple[str, str], action: str = "ListJobs") -> bytes:
    request = ListJobsRequest.ListJobsRequest()
    request.set_endpoint(f"127.0.0.1:{world.server.port}")
    request.set_protocol_type("http")
    request.set_Namespace(NS)
    request.set_GroupId(G)
    request.set_action_name(action)
    return _v1_do(world, request, key)


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ((SX_KEY[0], "not-the-secret"), 400, "SignatureDoesNotMatch"),
        (("no-such-key", "whatever"), 404, "InvalidAccessKeyId.NotFound"),
    ],
)
def test_the_gateway_still_refuses_signatures_and_keys_with_an_http_error(
    world: World, key: tuple[str, str], status: int, code: str
) -> None:
    listing = m.ListJobsRequest(namespace=NS, group_id=G, region_id=REGION)
    with pytest.raises(ClientException) as v3:
        sdk_client(world.server, key).list_jobs(listing)
    assert (v3.value.status_code, v3.value.code) == (status, code)
    with pytest.raises(ServerException) as v1:
        _list_jobs_v1(world, key)
    assert (v1.value.get_http_status(), v1.value.get_error_code()) in {
        (status, code),
        # aliyunsdkcore tells a wrong secret apart itself when the strings to sign match
        (status, "InvalidAccessKeySecret"),
    }


def test_the_gateway_still_refuses_an_unknown_action(world: World) -> None:
    with pytest.raises(ServerException) as v1:
        _list_jobs_v1(world, SX_KEY, action="ListJobz")
    assert v1.value.get_http_status() == 404
    assert v1.value.get_error_code() == "InvalidAction.NotFound"


def test_the_gateway_still_refuses_a_missing_required_parameter(world: World) -> None:
    """CreateJob's Name is required in the SDK model and on the product's page: the
    gateway's MissingParameter, an HTTP 400 that both clients raise."""
    sx = sdk_client(world.server)
    with pytest.raises(ClientException) as v3:
        sx.create_job(
            m.CreateJobRequest(
                namespace=NS, group_id=G, job_type="shell", content="echo", time_type=100,
                execute_mode="standalone", region_id=REGION,
            )
        )  # fmt: skip
    assert (v3.value.status_code, v3.value.code) == (400, "MissingParameter")
    assert "Name is mandatory for this action" in v3.value.message
    case = CASES["bad cron"]
    request, values = case.v1(world)
    del values["Name"]
    values["TimeExpression"] = "0 0 3 * * ?"
    request.set_endpoint(f"127.0.0.1:{world.server.port}")
    request.set_protocol_type("http")
    for name, value in values.items():
        getattr(request, f"set_{name}")(value)
    with pytest.raises(ServerException) as v1:
        _v1_do(world, request)
    assert (v1.value.get_http_status(), v1.value.get_error_code()) == (400, "MissingParameter")
