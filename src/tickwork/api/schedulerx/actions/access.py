"""GrantPermission and RevokePermission: rights of access keys on app groups.

**Decision**: the SchedulerX ``UserId`` is a tickwork access key id (keys are made with the
native API, ``POST /api/v1/access-keys``); the right covers the app group ``GroupId`` of
``Namespace`` and is ``manage`` (SchedulerX grants a user the whole app group, AppKey
included; the native API grants lesser rights); ``GrantOption`` lets that key grant it on.
"""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.registry import Call, action


@action("GrantPermission")
async def grant_permission(call: Call) -> dict[str, Any]:
    p = call.params
    namespace, group_id = p.req("Namespace"), p.req("GroupId")
    await call.services.namespaces.get_group(call.caller, namespace, group_id)
    await call.services.permissions.grant(
        call.caller, p.req("UserId"), namespace, group_id, bool(p.bool("GrantOption", False))
    )
    return {}


@action("RevokePermission")
async def revoke_permission(call: Call) -> dict[str, Any]:
    p = call.params
    namespace, group_id = p.req("Namespace"), p.req("GroupId")
    await call.services.permissions.revoke(call.caller, p.req("UserId"), namespace, group_id)
    return {}
