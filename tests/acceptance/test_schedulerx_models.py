"""SchedulerX through the official clients: what was stored comes back, with the types and
values of the SDK's response models (issue 14, items 4 and 5). App groups' settings here;
workers, designations and instances in test_schedulerx_worker_models.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.CreateAppGroupRequest import (
    CreateAppGroupRequest as V1CreateAppGroup,
)
from aliyunsdkschedulerx2.request.v20190430.GetAppGroupRequest import (
    GetAppGroupRequest as V1GetAppGroup,
)
from aliyunsdkschedulerx2.request.v20190430.ListGroupsRequest import (
    ListGroupsRequest as V1ListGroups,
)
from server_support import ServerProcess
from sx_support import refused

REGION = "cn-hangzhou"
MONITOR = json.dumps({"sendChannel": "ding,mail", "alarmType": "Contacts", "webhookIsAtAll": False})
CONTACTS = json.dumps([{"userName": "ops", "userPhone": "1380000****"}])


def refusal(call: Callable[[], Any]) -> str:
    """The message of a call the product refused: HTTP 200, ``Success: false``, an integer
    ``Code`` (``sx_support.refused``)."""
    return refused(call).message


def v1(client: AcsClient, server: ServerProcess, request: Any) -> dict[str, Any]:
    """A V1 call to the server (the client's own endpoint resolver would ask the cloud)."""
    request.set_endpoint(f"127.0.0.1:{server.port}")
    request.set_protocol_type("http")
    return dict(json.loads(client.do_action_with_exception(request)))


def namespace(sx: Client) -> str:
    uid = f"models-{uuid.uuid4().hex[:10]}"
    sx.create_namespace(m.CreateNamespaceRequest(name=uid, uid=uid, region_id=REGION))
    return uid


def get_group(sx: Client, ns: str, group_id: str) -> m.GetAppGroupResponseBodyData:
    request = m.GetAppGroupRequest(namespace=ns, group_id=group_id, region_id=REGION)
    return sx.get_app_group(request).body.data


def listed(sx: Client, ns: str, group_id: str) -> m.ListGroupsResponseBodyDataAppGroups:
    body = sx.list_groups(m.ListGroupsRequest(namespace=ns, region_id=REGION)).body
    (found,) = [g for g in body.data.app_groups if g.group_id == group_id]
    return found


def test_app_group_settings_read_back_as_written(sx: Client) -> None:
    ns = namespace(sx)
    sx.create_app_group(
        m.CreateAppGroupRequest(
            namespace=ns, group_id="billing", app_name="Billing", region_id=REGION,
            app_version=2, max_jobs=300, enable_log=False, monitor_config_json=MONITOR,
            monitor_contacts_json=CONTACTS, notification_policy_name="night-shift",
        )
    )  # fmt: skip
    data = get_group(sx, ns, "billing")
    # GetAppGroup's model types AppVersion a string, MaxJobs a number
    assert data.app_version == "2"
    assert data.max_jobs == 300
    assert data.enable_log is False
    assert data.monitor_config_json == MONITOR
    assert data.monitor_contacts_json == CONTACTS
    assert data.notification_policy_name == "night-shift"
    row = listed(sx, ns, "billing")
    assert row.app_version == 2  # ListGroups' model types it a number
    assert row.enable_log is False


def test_update_app_group_changes_only_what_it_gives(sx: Client) -> None:
    ns = namespace(sx)
    sx.create_app_group(
        m.CreateAppGroupRequest(
            namespace=ns, group_id="orders", app_name="Orders", region_id=REGION,
            app_version=1, max_jobs=50, monitor_config_json=MONITOR,
        )
    )  # fmt: skip
    # UpdateAppGroup's model has no MaxJobs: it stays as created
    changed = json.dumps({"sendChannel": "sms"})
    sx.update_app_group(
        m.UpdateAppGroupRequest(
            namespace=ns, group_id="orders", region_id=REGION, app_version=2,
            monitor_config_json=changed, monitor_contacts_json=CONTACTS,
            notification_policy_name="day", enable_log=True,
        )
    )  # fmt: skip
    data = get_group(sx, ns, "orders")
    assert (data.app_version, data.max_jobs, data.enable_log) == ("2", 50, True)
    assert data.monitor_config_json == changed
    assert data.monitor_contacts_json == CONTACTS
    assert data.notification_policy_name == "day"
    assert listed(sx, ns, "orders").app_version == 2


def test_settings_never_given_are_left_out(sx: Client) -> None:
    ns = namespace(sx)
    sx.create_app_group(
        m.CreateAppGroupRequest(namespace=ns, group_id="plain", app_name="P", region_id=REGION)
    )
    data = get_group(sx, ns, "plain")
    assert data.max_jobs is None and data.app_version is None
    assert data.monitor_config_json is None and data.notification_policy_name is None
    assert data.enable_log is True  # tickwork keeps the runs' logs


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("monitor_config_json", "{not json", "MonitorConfigJson"),
        ("monitor_contacts_json", '"a string"', "MonitorContactsJson"),
        ("app_version", 3, "AppVersion"),
        ("max_jobs", 0, "MaxJobs"),
    ],
)
def test_a_bad_setting_is_refused_naming_it_and_nothing_is_stored(
    sx: Client, field: str, value: Any, words: str
) -> None:
    ns = namespace(sx)
    request = m.CreateAppGroupRequest(
        namespace=ns, group_id="bad", app_name="Bad", region_id=REGION, **{field: value}
    )
    assert words in refusal(lambda: sx.create_app_group(request))
    assert refusal(lambda: sx.get_app_group(
        m.GetAppGroupRequest(namespace=ns, group_id="bad", region_id=REGION)
    ))  # fmt: skip
    if field == "max_jobs":
        return  # UpdateAppGroup has no MaxJobs
    sx.create_app_group(
        m.CreateAppGroupRequest(
            namespace=ns, group_id="ok", app_name="Ok", region_id=REGION,
            notification_policy_name="kept",
        )
    )  # fmt: skip
    # the bad value beside a good one: the refused update changes neither
    changes: dict[str, Any] = {"notification_policy_name": "changed", field: value}
    update = m.UpdateAppGroupRequest(namespace=ns, group_id="ok", region_id=REGION, **changes)
    assert words in refusal(lambda: sx.update_app_group(update))
    assert get_group(sx, ns, "ok").notification_policy_name == "kept"


def test_the_v1_client_reads_the_settings_back(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess
) -> None:
    ns = namespace(sx)
    create = V1CreateAppGroup()
    for setter, value in (
        (create.set_Namespace, ns), (create.set_GroupId, "v1group"),
        (create.set_AppName, "V1"), (create.set_AppVersion, 2), (create.set_MaxJobs, 12),
        (create.set_MonitorConfigJson, MONITOR), (create.set_MonitorContactsJson, CONTACTS),
        (create.set_NotificationPolicyName, "p1"),
    ):  # fmt: skip
        setter(value)
    assert v1(sx_v1, sx_server, create)["Success"] is True
    get = V1GetAppGroup()
    get.set_Namespace(ns)
    get.set_GroupId("v1group")
    data = v1(sx_v1, sx_server, get)["Data"]
    assert data["AppVersion"] == "2" and data["MaxJobs"] == 12
    assert data["MonitorConfigJson"] == MONITOR and data["MonitorContactsJson"] == CONTACTS
    assert data["NotificationPolicyName"] == "p1"
    groups = V1ListGroups()
    groups.set_Namespace(ns)
    rows = v1(sx_v1, sx_server, groups)["Data"]["AppGroups"]
    assert [(g["GroupId"], g["AppVersion"]) for g in rows] == [("v1group", 2)]
