"""Conversion between domain entities and table rows (enums to numbers, lists to JSON)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import sqlalchemy as sa

from tickwork.domain.enums import (
    ExecuteMode,
    InstanceStatus,
    JobStatus,
    JobType,
    MisfirePolicy,
    TimeType,
    TriggerType,
)
from tickwork.domain.models import (
    AccessKey,
    AppGroup,
    Calendar,
    CalendarMonth,
    ContactInfo,
    Designation,
    Instance,
    Job,
    LogLine,
    Namespace,
    RouteEntry,
    RouteStrategy,
)

Row = dict[str, Any]

_JOB_FIELDS = tuple(f.name for f in fields(Job))
_INSTANCE_FIELDS = tuple(f.name for f in fields(Instance))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def access_key_row(key: AccessKey) -> Row:
    return {
        "key_id": key.key_id,
        "secret": key.secret,
        "name": key.name,
        "is_admin": key.is_admin,
        "created_at": key.created_at,
    }


def access_key_from(row: sa.RowMapping) -> AccessKey:
    return AccessKey(
        key_id=row["key_id"],
        secret=row["secret"],
        name=row["name"],
        is_admin=bool(row["is_admin"]),
        created_at=row["created_at"],
    )


def namespace_row(ns: Namespace) -> Row:
    return {
        "id": ns.id,
        "name": ns.name,
        "description": ns.description,
        "created_at": ns.created_at,
    }


def namespace_from(row: sa.RowMapping) -> Namespace:
    return Namespace(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        created_at=row["created_at"],
    )


def group_row(group: AppGroup) -> Row:
    return {
        "namespace": group.namespace,
        "group_id": group.group_id,
        "app_key": group.app_key,
        "app_name": group.app_name,
        "description": group.description,
        "created_at": group.created_at,
        "run_on_server": group.run_on_server,
        **group_settings_row(group),
    }


def group_settings_row(group: AppGroup) -> Row:
    """The SchedulerX settings of a group (NULL for those never given)."""
    return {
        "app_version": group.app_version,
        "max_jobs": group.max_jobs,
        "enable_log": group.enable_log,
        "monitor_config": group.monitor_config or None,
        "monitor_contacts": group.monitor_contacts or None,
        "notification_policy": group.notification_policy or None,
    }


def group_from(row: sa.RowMapping) -> AppGroup:
    return AppGroup(
        namespace=row["namespace"],
        group_id=row["group_id"],
        app_key=row["app_key"],
        app_name=row["app_name"],
        description=row["description"],
        created_at=row["created_at"],
        run_on_server=bool(row["run_on_server"]),
        app_version=row["app_version"],
        max_jobs=row["max_jobs"],
        enable_log=None if row["enable_log"] is None else bool(row["enable_log"]),
        monitor_config=row["monitor_config"] or "",
        monitor_contacts=row["monitor_contacts"] or "",
        notification_policy=row["notification_policy"] or "",
    )


def calendar_row(cal: Calendar) -> Row:
    months = [{"month": m.month, "days": list(m.days)} for m in cal.months]
    return {
        "namespace": cal.namespace,
        "name": cal.name,
        "year": cal.year,
        "months": _json(months),
        "description": cal.description,
    }


def calendar_from(row: sa.RowMapping) -> Calendar:
    months = [
        CalendarMonth(month=int(m["month"]), days=[int(d) for d in m["days"]])
        for m in json.loads(row["months"])
    ]
    return Calendar(
        namespace=row["namespace"],
        name=row["name"],
        year=row["year"],
        months=months,
        description=row["description"],
    )


def job_row(job: Job) -> Row:
    """Every column but ``id``."""
    row: Row = {name: getattr(job, name) for name in _JOB_FIELDS if name != "id"}
    row["job_type"] = job.job_type.value
    row["time_type"] = int(job.time_type)
    row["execute_mode"] = job.execute_mode.value
    row["status"] = int(job.status)
    row["misfire_policy"] = job.misfire_policy.value
    row["contact_info"] = _json(
        [
            {
                "user_name": c.user_name,
                "user_phone": c.user_phone,
                "user_mail": c.user_mail,
                "ding": c.ding,
            }
            for c in job.contact_info
        ]
    )
    row["command_args"] = _json(list(job.command_args))
    row["envs"] = _json(dict(job.envs))
    row["designation"] = designation_json(job.designation)
    row["route_strategy"] = _route_strategy_json(job.route_strategy)
    return row


def _route_strategy_json(strategy: RouteStrategy | None) -> str | None:
    if strategy is None:
        return None
    return _json(
        {
            "name": strategy.name,
            "kind": strategy.kind,
            "status": strategy.status,
            "entries": [
                {
                    "percentage": e.percentage,
                    "targets": list(e.targets),
                    "target_type": e.target_type,
                }
                for e in strategy.entries
            ],
        }
    )


def _route_strategy_from(text: str | None) -> RouteStrategy | None:
    if not text:
        return None
    s = json.loads(text)
    return RouteStrategy(
        name=str(s["name"]),
        kind=int(s["kind"]),
        status=int(s["status"]),
        entries=[
            RouteEntry(
                percentage=int(e["percentage"]),
                targets=[str(t) for t in e["targets"]],
                target_type=str(e["target_type"]),
            )
            for e in s["entries"]
        ],
    )


def job_from(row: sa.RowMapping) -> Job:
    values: Row = {name: row[name] for name in _JOB_FIELDS}
    values["job_type"] = JobType(row["job_type"])
    values["time_type"] = TimeType(row["time_type"])
    values["execute_mode"] = ExecuteMode(row["execute_mode"])
    values["status"] = JobStatus(row["status"])
    values["misfire_policy"] = MisfirePolicy(row["misfire_policy"])
    for flag in (
        "timeout_enable",
        "timeout_kill_enable",
        "fail_enable",
        "miss_worker_enable",
        "success_notice_enable",
    ):
        values[flag] = bool(row[flag])
    values["contact_info"] = [ContactInfo(**c) for c in json.loads(row["contact_info"])]
    values["command_args"] = [str(a) for a in json.loads(row["command_args"])]
    values["envs"] = {str(k): str(v) for k, v in json.loads(row["envs"]).items()}
    values["designation"] = designation_from(row["designation"])
    values["route_strategy"] = _route_strategy_from(row["route_strategy"])
    return Job(**values)


def instance_row(inst: Instance) -> Row:
    """Every column but ``id``."""
    row: Row = {name: getattr(inst, name) for name in _INSTANCE_FIELDS if name != "id"}
    row["trigger_type"] = int(inst.trigger_type)
    row["time_type"] = int(inst.time_type)
    row["status"] = int(inst.status)
    row["designation"] = designation_json(inst.designation)
    return row


def instance_from(row: sa.RowMapping) -> Instance:
    values: Row = {name: row[name] for name in _INSTANCE_FIELDS}
    values["trigger_type"] = TriggerType(row["trigger_type"])
    values["time_type"] = TimeType(row["time_type"])
    values["status"] = InstanceStatus(row["status"])
    values["designation"] = designation_from(row["designation"])
    return Instance(**values)


def designation_json(d: Designation | None) -> str | None:
    if d is None:
        return None
    return _json(
        {"kind": d.kind, "workers": d.workers, "labels": d.labels, "transferable": d.transferable}
    )


def designation_from(text: str | None) -> Designation | None:
    if not text:
        return None
    d = json.loads(text)
    return Designation(
        kind=int(d["kind"]),
        workers=[str(w) for w in d.get("workers", [])],
        labels=[str(label) for label in d.get("labels", [])],
        transferable=bool(d.get("transferable", True)),
    )


def log_row(line: LogLine) -> Row:
    return {
        "instance_id": line.instance_id,
        "time": line.time,
        "attempt": line.attempt,
        "line": line.line,
    }


def log_from(row: sa.RowMapping) -> LogLine:
    return LogLine(
        instance_id=row["instance_id"],
        time=row["time"],
        line=row["line"],
        attempt=row["attempt"],
        seq=row["seq"],
    )
