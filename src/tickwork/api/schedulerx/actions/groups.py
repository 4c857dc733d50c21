"""App groups (CreateAppGroup, GetAppGroup, UpdateAppGroup, DeleteAppGroup, ListGroups) and
their workers (GetWorkerList).

tickwork keeps a group's id, name, description and AppKey, and the settings GetAppGroup and
ListGroups show (AppVersion, MaxJobs, EnableLog, MonitorConfigJson, MonitorContactsJson,
NotificationPolicyName: ``service/group_settings.py``), which read back as written. Those no
answer shows (AppType, MaxConcurrency, ScheduleBusyWorkers, NamespaceName, NamespaceSource)
are checked for their type, then ignored (docs/schedulerx.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

from tickwork.api.schedulerx.actions.namespaces import schedulerx_errors
from tickwork.api.schedulerx.actions.workers import worker_info_out
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.errors import AlreadyExists, InvalidParameter, InvalidState
from tickwork.domain.models import AppGroup
from tickwork.domain.queries import JobFilter
from tickwork.service.group_settings import GroupSettings


def app_group_id(group: AppGroup) -> int:
    """The numeric AppGroupId of the SDK: tickwork names groups by (namespace, GroupId) only,
    so this is a stable 48-bit number derived from them (safe in JSON, never reused for
    another group in practice)."""
    digest = hashlib.sha256(f"{group.namespace}\n{group.group_id}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def _check_ignored(call: Call) -> None:
    """Settings tickwork accepts and ignores: still refused when malformed."""
    p = call.params
    app_type = p.int("AppType")
    if app_type is not None and app_type not in (1, 2):
        raise InvalidParameter(f"AppType must be 1 or 2, got {app_type}", field="AppType")
    p.int("MaxConcurrency", minimum=1)
    p.bool("ScheduleBusyWorkers")


# the service's names of the settings -> the SchedulerX parameters (for its errors)
_SETTING_FIELDS = {
    "app_version": "AppVersion",
    "max_jobs": "MaxJobs",
    "monitor_config": "MonitorConfigJson",
    "monitor_contacts": "MonitorContactsJson",
    "notification_policy": "NotificationPolicyName",
}


def _settings(call: Call, *, creating: bool) -> GroupSettings:
    """The settings the call gives (the service checks their values). MaxJobs is set when
    the group is made: UpdateAppGroup's model has no such parameter."""
    p = call.params
    return GroupSettings(
        app_version=p.int("AppVersion"),
        max_jobs=p.int("MaxJobs") if creating else None,
        enable_log=p.bool("EnableLog"),
        monitor_config=p.str("MonitorConfigJson"),
        monitor_contacts=p.str("MonitorContactsJson"),
        notification_policy=p.str("NotificationPolicyName"),
    )


def _settings_out(group: AppGroup) -> dict[str, Any]:
    """GetAppGroup's settings as its model types them; those never given are left out."""
    out: dict[str, Any] = {
        # tickwork keeps the runs' logs whatever this says; unset reads true for that reason
        "EnableLog": True if group.enable_log is None else group.enable_log,
    }
    if group.app_version is not None:
        out["AppVersion"] = str(group.app_version)  # a string in GetAppGroup's model
    if group.max_jobs is not None:
        out["MaxJobs"] = group.max_jobs
    if group.monitor_config:
        out["MonitorConfigJson"] = group.monitor_config
    if group.monitor_contacts:
        out["MonitorContactsJson"] = group.monitor_contacts
    if group.notification_policy:
        out["NotificationPolicyName"] = group.notification_policy
    return out


def _ids(call: Call) -> tuple[str, str]:
    return call.params.req("Namespace"), call.params.req("GroupId")


@action("CreateAppGroup")
async def create_app_group(call: Call) -> dict[str, Any]:
    p = call.params
    namespace, group_id = _ids(call)
    app_name = p.req("AppName")
    _check_ignored(call)
    app_key = p.str("AppKey") or None
    try:
        with schedulerx_errors(
            namespace=namespace,
            fields={"group_id": "GroupId", "app_key": "AppKey", **_SETTING_FIELDS},
        ):
            group = await call.services.namespaces.create_group(
                call.caller,
                namespace,
                group_id,
                app_name,
                p.str("Description") or "",
                app_key=app_key,
                settings=_settings(call, creating=True),
            )
    except AlreadyExists as exc:
        raise AlreadyExists(
            f"groupId already exists groupId: {group_id} namespace: {namespace}",
            field="GroupId",
        ) from exc
    return {"Data": {"AppGroupId": app_group_id(group), "AppKey": group.app_key}}


@action("GetAppGroup")
async def get_app_group(call: Call) -> dict[str, Any]:
    namespace, group_id = _ids(call)
    with schedulerx_errors(namespace=namespace, group_id=group_id):
        group = await call.services.namespaces.get_group(call.caller, namespace, group_id)
    jobs = await call.services.jobs.find(
        call.caller, JobFilter(namespace=namespace, group_id=group_id, page=1, page_size=1)
    )
    return {
        "Data": {
            "GroupId": group.group_id,
            "Namespace": group.namespace,
            "AppName": group.app_name,
            "Description": group.description,
            "AppKey": group.app_key,
            "CurJobs": jobs.total,
            **_settings_out(group),
        }
    }


@action("UpdateAppGroup")
async def update_app_group(call: Call) -> dict[str, Any]:
    namespace, group_id = _ids(call)
    _check_ignored(call)
    with schedulerx_errors(namespace=namespace, group_id=group_id, fields=_SETTING_FIELDS):
        await call.services.namespaces.update_group(
            call.caller,
            namespace,
            group_id,
            description=call.params.str("Description"),
            settings=_settings(call, creating=False),
        )
    return {}


@action("DeleteAppGroup")
async def delete_app_group(call: Call) -> dict[str, Any]:
    namespace, group_id = _ids(call)
    delete_jobs = call.params.bool("DeleteJobs", False)
    with schedulerx_errors(namespace=namespace, group_id=group_id):
        if delete_jobs:
            await call.services.jobs.delete_group_jobs(call.caller, namespace, group_id)
        try:
            await call.services.namespaces.delete_group(call.caller, namespace, group_id)
        except InvalidState as exc:
            raise InvalidState(
                f"{exc.message}, or call DeleteAppGroup with DeleteJobs=true", field="DeleteJobs"
            ) from exc
    return {}


@action("ListGroups")
async def list_groups(call: Call) -> dict[str, Any]:
    namespace = call.params.req("Namespace")
    wanted = (call.params.str("AppGroupName") or "").strip().lower()
    with schedulerx_errors(namespace=namespace):
        groups = await call.services.namespaces.list_groups(call.caller, namespace)
    visible = [
        g
        for g in groups
        if not wanted or wanted in g.app_name.lower() or wanted in g.group_id.lower()
    ]
    return {"Data": {"AppGroups": [_group_out(g) for g in visible]}}


def _group_out(group: AppGroup) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AppGroupId": app_group_id(group),
        "GroupId": group.group_id,
        "Namespace": group.namespace,
        "AppName": group.app_name,
        "Description": group.description,
        "AppKey": group.app_key,
        "EnableLog": True if group.enable_log is None else group.enable_log,
    }
    if group.app_version is not None:
        out["AppVersion"] = group.app_version  # a number in ListGroups' model
    return out


@action("GetWorkerList")
async def get_worker_list(call: Call) -> dict[str, Any]:
    namespace, group_id = _ids(call)
    with schedulerx_errors(namespace=namespace, group_id=group_id):
        workers = await call.services.namespaces.workers(call.caller, namespace, group_id)
    return {"Data": {"WorkerInfos": [worker_info_out(w) for w in workers]}}
