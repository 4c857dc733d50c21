"""Notification policies (Create/Manage/Read/DeleteSchedulerxNotificationPolicy): stored and
read back; sending alerts comes with the alerting work."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.registry import Call, action
from tickwork.api.schedulerx.times import sx_time
from tickwork.api.schedulerx.zones import call_zone
from tickwork.domain.models import NotificationPolicy


def _record(policy: NotificationPolicy, zone: str) -> dict[str, Any]:
    """A policy as the model has it; its times in the call's region's zone (no job)."""
    return {
        "PolicyName": policy.name,
        "Description": policy.description,
        "ChannelTimeRange": policy.channel_time_range,
        "CreateTime": sx_time(policy.created_at, zone),
        "UpdateTime": sx_time(policy.updated_at, zone),
        "Creator": "",
        "Updater": "",
        "ReferenceApps": [],
    }


@action("CreateSchedulerxNotificationPolicy")
async def create_policy(call: Call) -> dict[str, Any]:
    p = call.params
    await call.services.policies.create(
        call.caller,
        p.req("PolicyName"),
        p.str("ChannelTimeRange") or "",
        p.str("Description") or "",
    )
    return {}


@action("ManageSchedulerxNotificationPolicy")
async def manage_policy(call: Call) -> dict[str, Any]:
    p = call.params
    await call.services.policies.update(
        call.caller, p.req("PolicyName"), p.str("ChannelTimeRange"), p.str("Description")
    )
    return {}


@action("ReadSchedulerxNotificationPolicy")
async def read_policy(call: Call) -> dict[str, Any]:
    p = call.params
    policies = await call.services.policies.find(call.caller, p.str("PolicyName") or None)
    start = p.int("NextToken", 0, minimum=0) or 0
    size = p.int("MaxResults", 20, minimum=1, maximum=100) or 20
    page = policies[start : start + size]
    following = start + size if start + size < len(policies) else None
    return {
        "Data": {
            "Records": [_record(x, call_zone(call)) for x in page],
            "Total": len(policies),
            "MaxResults": size,
            "NextToken": "" if following is None else str(following),
        }
    }


@action("DeleteSchedulerxNotificationPolicy")
async def delete_policy(call: Call) -> dict[str, Any]:
    await call.services.policies.delete(call.caller, call.params.req("PolicyName"))
    return {}
