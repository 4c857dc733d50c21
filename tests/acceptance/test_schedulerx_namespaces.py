"""SchedulerX through the official clients: regions, namespaces, app groups, their workers and
calendars, with the errors a client sees (HTTP status, code, message) and an XML answer."""

from __future__ import annotations

import ipaddress
import json
import signal
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from aliyunsdkschedulerx2.request.v20190430.GetAppGroupRequest import (
    GetAppGroupRequest as V1GetAppGroupRequest,
)
from darabonba.runtime import RuntimeOptions
from server_support import ServerProcess, base_env, free_port
from sx_support import SX_KEY, ok, refused, sdk_client

REGION = "cn-hangzhou"


@pytest.fixture(scope="module")
def native(sx_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sx_server.url, auth=SX_KEY, timeout=30) as client:
        yield client


def fails(call: Callable[[], Any]) -> AlibabaCloudException:
    with pytest.raises(AlibabaCloudException) as caught:
        call()
    return caught.value


def message_of(error: AlibabaCloudException) -> str:
    data = error.data or {}
    return str(data.get("Message", ""))


def namespace(sx: Client, uid: str, name: str | None = None) -> str:
    request = m.CreateNamespaceRequest(name=name or uid, uid=uid, region_id=REGION)
    return str(ok(sx.create_namespace(request)).body.data.namespace_uid)


def app_group(sx: Client, ns: str, group_id: str, **extra: Any) -> m.CreateAppGroupResponseBody:
    request = m.CreateAppGroupRequest(
        namespace=ns, group_id=group_id, app_name=f"app {group_id}", region_id=REGION, **extra
    )
    return ok(sx.create_app_group(request)).body


# -- regions ---------------------------------------------------------------------------------
def test_describe_regions_names_this_server(sx: Client, sx_server: ServerProcess) -> None:
    body = sx.describe_regions(m.DescribeRegionsRequest(region_id=REGION)).body
    assert body.success and body.code == 200
    assert [r.region_id for r in body.regions] == [REGION]
    assert body.regions[0].region_endpoint == f"127.0.0.1:{sx_server.port}"
    assert body.regions[0].local_name

    other = sx.describe_regions(m.DescribeRegionsRequest(region_id="cn-shanghai")).body
    assert [r.region_id for r in other.regions] == [REGION, "cn-shanghai"]


# -- namespaces ------------------------------------------------------------------------------
def test_namespace_lifecycle(sx: Client) -> None:
    created = sx.create_namespace(
        m.CreateNamespaceRequest(
            name="orders", description="order jobs", uid="ns-orders", region_id=REGION
        )
    ).body
    assert created.success and created.data.namespace_uid == "ns-orders"
    generated = namespace(sx, "", "billing")  # no Uid: tickwork makes one
    assert len(generated) == 36 and generated != "ns-orders"

    listed = sx.list_namespaces(m.ListNamespacesRequest(region_id=REGION)).body.data.namespaces
    by_uid = {n.uid: n for n in listed}
    assert by_uid["ns-orders"].name == "orders"
    assert by_uid["ns-orders"].description == "order jobs"
    assert by_uid[generated].name == "billing"
    assert "default" in by_uid

    only = sx.list_namespaces(
        m.ListNamespacesRequest(namespace_name="ORD", region_id=REGION)
    ).body.data.namespaces
    assert [n.uid for n in only] == ["ns-orders"]
    by_id = sx.list_namespaces(
        m.ListNamespacesRequest(namespace=generated, region_id=REGION)
    ).body.data.namespaces
    assert [n.name for n in by_id] == ["billing"]

    updated = sx.update_namespace(
        m.UpdateNamespaceRequest(
            namespace="ns-orders", namespace_name="orders-2", description="new", region_id=REGION
        )
    ).body
    assert updated.success
    listed = sx.list_namespaces(
        m.ListNamespacesRequest(namespace="ns-orders", region_id=REGION)
    ).body.data.namespaces
    assert (listed[0].name, listed[0].description) == ("orders-2", "new")

    assert sx.delete_namespace(
        m.DeleteNamespaceRequest(namespace=generated, region_id=REGION)
    ).body.success
    remaining = sx.list_namespaces(m.ListNamespacesRequest(region_id=REGION)).body.data
    assert generated not in {n.uid for n in remaining.namespaces}


def test_namespace_errors(sx: Client) -> None:
    missing = fails(lambda: sx.create_namespace(m.CreateNamespaceRequest(region_id=REGION)))
    assert (missing.status_code, missing.code) == (400, "MissingParameter")
    assert "Name" in message_of(missing)

    namespace(sx, "ns-twice")
    twice = refused(lambda: namespace(sx, "ns-twice"))
    assert twice.code == 409
    assert "ns-twice" in twice.message and "Uid" in twice.message

    bad_uid = refused(lambda: namespace(sx, "has space"))
    assert bad_uid.code == 400
    assert bad_uid.message.startswith("Uid: ")

    unknown = refused(
        lambda: sx.update_namespace(
            m.UpdateNamespaceRequest(namespace="ns-nowhere", description="x", region_id=REGION)
        )
    )
    assert unknown.code == 404
    assert unknown.message == "namespace not exist namespace: ns-nowhere"

    blank_name = refused(
        lambda: sx.update_namespace(
            m.UpdateNamespaceRequest(namespace="ns-twice", namespace_name=" ", region_id=REGION)
        )
    )
    assert blank_name.code == 400
    assert "NamespaceName" in blank_name.message

    no_id = fails(lambda: sx.delete_namespace(m.DeleteNamespaceRequest(region_id=REGION)))
    assert (no_id.status_code, no_id.code) == (400, "MissingParameter")
    assert "Namespace" in message_of(no_id)

    app_group(sx, "ns-twice", "holds")
    busy = refused(
        lambda: sx.delete_namespace(
            m.DeleteNamespaceRequest(namespace="ns-twice", region_id=REGION)
        )
    )
    assert busy.code == 409
    assert "app group" in busy.message


# -- app groups ------------------------------------------------------------------------------
def test_app_group_lifecycle(sx: Client, native: httpx.Client) -> None:
    ns = namespace(sx, "ns-groups")
    chosen = app_group(
        sx,
        ns,
        "orders.defaultGroup",
        description="orders",
        app_key="my-own-app-key-123",
        max_jobs=100,
        app_type=1,
        app_version=2,
        enable_log=True,
        schedule_busy_workers=False,
        monitor_config_json=json.dumps({"sendChannel": "mail"}),
    )
    assert chosen.success and chosen.data.app_key == "my-own-app-key-123"
    assert isinstance(chosen.data.app_group_id, int) and chosen.data.app_group_id > 0
    generated = app_group(sx, ns, "billing")
    assert len(generated.data.app_key) >= 24
    assert generated.data.app_group_id != chosen.data.app_group_id

    got = sx.get_app_group(
        m.GetAppGroupRequest(namespace=ns, group_id="orders.defaultGroup", region_id=REGION)
    ).body.data
    assert (got.group_id, got.namespace, got.app_name) == (
        "orders.defaultGroup",
        ns,
        "app orders.defaultGroup",
    )
    assert (got.description, got.app_key, got.cur_jobs) == ("orders", "my-own-app-key-123", 0)

    job = native.post(
        "/api/v1/jobs",
        json={
            "namespace": ns,
            "group_id": "orders.defaultGroup",
            "name": "counted",
            "job_type": "shell",
            "content": "echo hi",
            "time_type": "api",
        },
    )
    assert job.status_code == 201, job.text
    got = sx.get_app_group(
        m.GetAppGroupRequest(namespace=ns, group_id="orders.defaultGroup", region_id=REGION)
    ).body.data
    assert got.cur_jobs == 1

    assert sx.update_app_group(
        m.UpdateAppGroupRequest(
            namespace=ns,
            group_id="billing",
            description="bills",
            max_concurrency=5,
            region_id=REGION,
        )
    ).body.success

    groups = sx.list_groups(m.ListGroupsRequest(namespace=ns, region_id=REGION)).body.data
    by_id = {g.group_id: g for g in groups.app_groups}
    assert set(by_id) == {"orders.defaultGroup", "billing"}
    assert by_id["billing"].description == "bills"
    assert by_id["billing"].app_key == generated.data.app_key
    assert by_id["billing"].app_group_id == generated.data.app_group_id
    assert by_id["billing"].namespace == ns
    filtered = sx.list_groups(
        m.ListGroupsRequest(namespace=ns, app_group_name="BILL", region_id=REGION)
    ).body.data
    assert [g.group_id for g in filtered.app_groups] == ["billing"]

    # a group that holds jobs goes only with DeleteJobs
    holding = m.DeleteAppGroupRequest(
        namespace=ns, group_id="orders.defaultGroup", region_id=REGION
    )
    busy = refused(lambda: sx.delete_app_group(holding))
    assert busy.code == 409
    assert "DeleteJobs" in busy.message
    holding.delete_jobs = True
    assert sx.delete_app_group(holding).body.success
    assert native.get(f"/api/v1/jobs/{job.json()['id']}").status_code == 404
    assert sx.delete_app_group(
        m.DeleteAppGroupRequest(namespace=ns, group_id="billing", region_id=REGION)
    ).body.success
    empty = sx.list_groups(m.ListGroupsRequest(namespace=ns, region_id=REGION)).body.data
    assert empty.app_groups == []


def test_app_group_errors(sx: Client) -> None:
    ns = namespace(sx, "ns-group-errors")
    app_group(sx, ns, "present")

    unknown = refused(
        lambda: sx.get_app_group(m.GetAppGroupRequest(namespace=ns, group_id="absent"))
    )
    assert unknown.code == 404
    assert unknown.message == f"groupid not exist groupId: absent namespace: {ns}"
    for call in (
        lambda: sx.update_app_group(
            m.UpdateAppGroupRequest(namespace=ns, group_id="absent", description="x")
        ),
        lambda: sx.delete_app_group(m.DeleteAppGroupRequest(namespace=ns, group_id="absent")),
        lambda: sx.get_worker_list(m.GetWorkerListRequest(namespace=ns, group_id="absent")),
    ):
        error = refused(call)
        assert error.code == 404
        assert "groupId: absent" in error.message

    no_namespace = refused(
        lambda: sx.list_groups(m.ListGroupsRequest(namespace="ns-absent", region_id=REGION))
    )
    assert no_namespace.code == 404
    assert no_namespace.message == "namespace not exist namespace: ns-absent"

    twice = refused(lambda: app_group(sx, ns, "present"))
    assert twice.code == 409
    assert twice.message == f"groupId already exists groupId: present namespace: {ns}"

    no_name = fails(
        lambda: sx.create_app_group(
            m.CreateAppGroupRequest(namespace=ns, group_id="nameless", region_id=REGION)
        )
    )
    assert (no_name.status_code, no_name.code) == (400, "MissingParameter")
    assert "AppName" in message_of(no_name)

    for extra, parameter in (
        ({"app_key": "short"}, "AppKey"),
        ({"app_type": 7}, "AppType"),
        ({"max_jobs": 0}, "MaxJobs"),
    ):
        bad = refused(lambda extra=extra: app_group(sx, ns, "bad", **extra))
        assert bad.code == 400
        assert parameter in bad.message

    bad_flag = refused(
        lambda: sx.delete_app_group(
            m.DeleteAppGroupRequest(namespace=ns, group_id="present", delete_jobs="perhaps")
        )
    )
    assert bad_flag.code == 400
    assert "DeleteJobs" in bad_flag.message


def test_get_worker_list_gives_the_servers_worker(sx: Client, sx_server: ServerProcess) -> None:
    workers = sx.get_worker_list(
        m.GetWorkerListRequest(namespace="default", group_id="default", region_id=REGION)
    ).body.data.worker_infos
    assert len(workers) == 1
    worker = workers[0]
    # ${worker_id}@${worker_ip}:${worker_port}, the server's address and port
    assert worker.worker_address == f"in-process@{worker.ip}:{sx_server.port}"
    assert ipaddress.ip_address(worker.ip)
    assert worker.port == sx_server.port
    assert worker.starter == "tickwork-server" and worker.version


def test_a_server_without_worker_lists_none(tmp_path: Path) -> None:
    env = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])
    server = ServerProcess(tmp_path, free_port(), env, "--no-worker")
    try:
        workers = sdk_client(server).get_worker_list(
            m.GetWorkerListRequest(namespace="default", group_id="default", region_id=REGION)
        )
        assert workers.body.success and workers.body.data.worker_infos == []
    finally:
        server.stop(signal.SIGINT)


# -- calendars -------------------------------------------------------------------------------
def _content(*months: tuple[int, list[int]]) -> str:
    return json.dumps([{"month": month, "days": days} for month, days in months])


def _read(sx: Client, name: str, **extra: Any) -> m.ReadSchedulerxCalendarResponseBodyData:
    request = m.ReadSchedulerxCalendarRequest(
        calendar_name=name, fetch_calendar_detail=True, region_id=REGION, **extra
    )
    return sx.read_schedulerx_calendar(request).body.data


def test_calendar_lifecycle(sx: Client) -> None:
    created = sx.create_schedulerx_calendar(
        m.CreateSchedulerxCalendarRequest(
            calendar_name="workdays",
            year=2031,
            month_days_content=_content((1, [2, 3, 6]), (2, [3, 4])),
            region_id=REGION,
        )
    ).body
    assert created.success and created.code == 200
    sx.create_schedulerx_calendar(
        m.CreateSchedulerxCalendarRequest(
            calendar_name="workdays",
            year=2032,
            month_days_content=_content((3, [1])),
            region_id=REGION,
        )
    )

    data = _read(sx, "workdays", year=2031)
    assert data.total == 1 and data.next_token == ""
    record = data.records[0]
    assert (record.calendar_name, record.year, record.system_calendar) == (
        "workdays",
        2031,
        False,
    )
    assert json.loads(record.month_days_content) == [
        {"month": 1, "days": [2, 3, 6]},
        {"month": 2, "days": [3, 4]},
    ]
    brief = sx.read_schedulerx_calendar(
        m.ReadSchedulerxCalendarRequest(calendar_name="workdays", region_id=REGION)
    ).body.data
    assert [(r.year, r.month_days_content) for r in brief.records] == [
        (2031, None),
        (2032, None),
    ]

    # paging with MaxResults / NextToken
    first = _read(sx, "workdays", max_results=1)
    assert first.total == 2 and [r.year for r in first.records] == [2031] and first.next_token
    second = _read(sx, "workdays", max_results=1, next_token=first.next_token)
    assert [r.year for r in second.records] == [2032] and second.next_token == ""

    # incremental: only the months given change
    sx.manage_schedulerx_calendar(
        m.ManageSchedulerxCalendarRequest(
            calendar_name="workdays",
            year=2031,
            month_days_content=_content((2, [7]), (5, [1, 1, 9])),
            incremental=True,
            region_id=REGION,
        )
    )
    months = json.loads(_read(sx, "workdays", year=2031).records[0].month_days_content)
    assert months == [
        {"month": 1, "days": [2, 3, 6]},
        {"month": 2, "days": [7]},
        {"month": 5, "days": [1, 9]},
    ]
    # not incremental: the months given are the whole year
    sx.manage_schedulerx_calendar(
        m.ManageSchedulerxCalendarRequest(
            calendar_name="workdays",
            year=2031,
            month_days_content=_content((12, [24])),
            region_id=REGION,
        )
    )
    months = json.loads(_read(sx, "workdays", year=2031).records[0].month_days_content)
    assert months == [{"month": 12, "days": [24]}]

    assert sx.delete_schedulerx_calendar(
        m.DeleteSchedulerxCalendarRequest(calendar_name="workdays", year=2031, region_id=REGION)
    ).body.success
    assert [r.year for r in _read(sx, "workdays").records] == [2032]


def test_calendar_errors(sx: Client) -> None:
    def create(content: str, name: str = "holidays", year: int = 2030) -> Any:
        return sx.create_schedulerx_calendar(
            m.CreateSchedulerxCalendarRequest(
                calendar_name=name, year=year, month_days_content=content, region_id=REGION
            )
        )

    bad_day = refused(lambda: create(_content((2, [28, 30]))))
    assert bad_day.code == 400
    assert bad_day.message == "MonthDaysContent: day 30 does not exist in 2030-02"

    for content, words in (
        ("not json", "JSON array"),
        ('{"month": 1}', "JSON array"),
        ('[{"days": [1]}]', '"month"'),
        ('[{"month": 1, "days": ["x"]}]', "not a whole number"),
        (_content((13, [1])), "month 13"),
    ):
        error = refused(lambda content=content: create(content))
        assert error.code == 400, content
        assert "MonthDaysContent" in error.message and words in error.message, content

    bad_year = refused(lambda: create(_content((1, [1])), year=1900))
    assert bad_year.code == 400
    assert bad_year.message.startswith("Year: ")

    no_content = fails(
        lambda: sx.create_schedulerx_calendar(
            m.CreateSchedulerxCalendarRequest(calendar_name="x", year=2030, region_id=REGION)
        )
    )
    assert (no_content.status_code, no_content.code) == (400, "MissingParameter")
    assert "MonthDaysContent" in message_of(no_content)

    create(_content((1, [1])))
    twice = refused(lambda: create(_content((1, [1]))))
    assert twice.code == 409
    assert "CalendarName: holidays Year: 2030" in twice.message

    for call in (
        lambda: sx.manage_schedulerx_calendar(
            m.ManageSchedulerxCalendarRequest(
                calendar_name="holidays", year=2029, month_days_content="[]", region_id=REGION
            )
        ),
        lambda: sx.delete_schedulerx_calendar(
            m.DeleteSchedulerxCalendarRequest(calendar_name="nowhere", year=2030, region_id=REGION)
        ),
    ):
        error = refused(call)
        assert error.code == 404
        assert error.message.startswith("calendar not exist CalendarName: ")

    token = refused(
        lambda: sx.read_schedulerx_calendar(
            m.ReadSchedulerxCalendarRequest(next_token="bogus", region_id=REGION)
        )
    )
    assert token.code == 400
    assert "NextToken" in token.message


# -- XML and V1 ------------------------------------------------------------------------------
def test_xml_answer_through_the_sdk(sx: Client) -> None:
    """The V3 client signs a call that asks for Format=XML and hands back the raw body."""
    namespace(sx, "ns-xml", "xml <&> name")
    params = Params(
        action="ListNamespaces",
        version="2019-04-30",
        protocol="HTTP",
        pathname="/",
        method="GET",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="string",
    )
    request = OpenApiRequest(query={"Format": "XML", "Namespace": "ns-xml", "RegionId": REGION})
    answer = sx.call_api(params, request, RuntimeOptions())
    assert answer["statusCode"] == 200
    assert answer["headers"]["content-type"].startswith("application/xml")
    root = ET.fromstring(answer["body"])
    assert root.tag == "ListNamespacesResponse"
    assert root.findtext("Success") == "true" and root.findtext("Code") == "200"
    namespaces = root.findall("Data/Namespaces")
    assert [(n.findtext("UId"), n.findtext("Name")) for n in namespaces] == [
        ("ns-xml", "xml <&> name")
    ]


def test_v1_signed_xml_answers(sx: Client, sx_server: ServerProcess) -> None:
    """A V1 (HMAC-SHA1) call signed by aliyunsdkcore's own helpers, asking for XML: the answer
    and an error both come as XML documents."""
    ns = namespace(sx, "ns-v1")
    app_group(sx, ns, "v1-group", app_key="v1-group-key-0001")

    def get_app_group(group_id: str) -> httpx.Response:
        request = V1GetAppGroupRequest()
        request.set_accept_format("XML")
        request.set_Namespace(ns)
        request.set_GroupId(group_id)
        url = request.get_url(REGION, *SX_KEY)
        return httpx.request(request.get_method(), f"{sx_server.url}{url}", timeout=30)

    found = get_app_group("v1-group")
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(found.content)
    assert root.tag == "GetAppGroupResponse" and root.findtext("Success") == "true"
    assert root.findtext("Data/AppKey") == "v1-group-key-0001"
    assert root.findtext("Data/GroupId") == "v1-group"

    missing = get_app_group("v1-absent")
    assert missing.status_code == 200  # the product's refusal, inside the envelope
    error = ET.fromstring(missing.content)
    assert error.tag == "GetAppGroupResponse" and error.findtext("Success") == "false"
    assert error.findtext("Code") == "404"
    assert error.findtext("Message") == f"groupid not exist groupId: v1-absent namespace: {ns}"
