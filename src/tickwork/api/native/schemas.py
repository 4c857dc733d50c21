"""Request and response shapes of the native API, and their translation to the domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickwork.api.native.bounds import Ident, Int32, Int64, Text
from tickwork.api.timefmt import from_datetime, to_iso
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
    AppGroup,
    Calendar,
    CalendarMonth,
    ContactInfo,
    Instance,
    Job,
    LogLine,
    Namespace,
    RouteEntry,
    RouteStrategy,
)

TimeTypeName = Literal["cron", "fixed_rate", "second_delay", "one_time", "api", "none"]
StatusName = Literal["enabled", "disabled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NamespaceIn(Strict):
    id: Ident | None = None
    name: Text
    description: Text = ""


class NamespacePatch(Strict):
    name: Text | None = None
    description: Text | None = None


class GroupIn(Strict):
    group_id: Ident
    app_name: Text = ""
    description: Text = ""
    run_on_server: bool = Field(
        False,
        description="The server's own worker may run the group's jobs (code on the server's "
        "host): admin keys only. Otherwise its runs wait for worker agents of the group.",
    )


class GroupPatch(Strict):
    app_name: Text | None = None
    description: Text | None = None
    run_on_server: bool | None = Field(
        None,
        description="Change whether the server's own worker may run the group's jobs "
        "(admin keys only).",
    )


class MonthIn(Strict):
    month: Int64
    days: list[Int64]


class CalendarIn(Strict):
    months: list[MonthIn]
    description: Text = ""


class ContactIn(Strict):
    user_name: Text = ""
    user_phone: Text = ""
    user_mail: Text = ""
    ding: Text = ""


class JobFields(Strict):
    """Every field of a job a caller may set; None means "not given"."""

    name: Ident | None = None
    description: Text | None = None
    job_type: JobType | None = None
    execute_mode: ExecuteMode | None = None
    class_name: Text | None = None
    content: Text | None = None
    parameters: Text | None = None
    time_type: TimeTypeName | None = None
    time_expression: Text | None = None
    timezone: Ident | None = None
    calendar: Ident | None = None
    data_offset: Int32 | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    misfire_policy: MisfirePolicy | None = None
    max_concurrency: Int32 | None = None
    max_attempt: Int32 | None = None
    attempt_interval: Int32 | None = None
    timeout: Int32 | None = None
    timeout_enable: bool | None = None
    timeout_kill_enable: bool | None = None
    fail_enable: bool | None = None
    fail_times: Int32 | None = None
    miss_worker_enable: bool | None = None
    success_notice_enable: bool | None = None
    send_channel: Text | None = None
    contact_info: list[ContactIn] | None = None
    page_size: Int32 | None = None
    consumer_size: Int32 | None = None
    queue_size: Int32 | None = None
    dispatcher_size: Int32 | None = None
    task_max_attempt: Int32 | None = None
    task_attempt_interval: Int32 | None = None
    command: Text | None = None
    command_args: list[Text] | None = None
    envs: dict[Ident, Text] | None = None
    replicas: Int32 | None = None
    history_limit: Int32 | None = None
    status: StatusName | None = None
    x_attrs: Text | None = None

    def changes(self) -> dict[str, Any]:
        """The given fields, as domain values (for an update)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "time_type" and value is not None:
                value = TimeType[value.upper()]
            elif name == "status" and value is not None:
                value = JobStatus.ENABLED if value == "enabled" else JobStatus.DISABLED
            elif name in ("start_time", "end_time"):
                value = from_datetime(value, name)
            elif name == "contact_info" and value is not None:
                value = [ContactInfo(**c.model_dump()) for c in value]
            elif value is None and name not in ("history_limit",):
                continue
            out[name] = value
        return out


class JobIn(JobFields):
    namespace: Ident = "default"
    group_id: Ident = "default"
    name: Ident
    job_type: JobType
    time_type: TimeTypeName

    def to_job(self) -> Job:
        changes = self.changes()
        changes.pop("namespace", None)
        changes.pop("group_id", None)
        return Job(namespace=self.namespace, group_id=self.group_id, **changes)


class RunIn(Strict):
    instance_parameters: Text = ""
    idempotency_key: Ident | None = None
    check_job_status: bool = False


class RouteEntryIn(Strict):
    percentage: Int64
    target: list[Ident]
    target_type: Ident = "label"


class RouteStrategyIn(Strict):
    """A job's route strategy (the service checks it: percentages sum to 100, ...)."""

    name: Ident
    type: Int64 = 3
    status: StatusName = "enabled"
    entries: list[RouteEntryIn]

    def to_strategy(self) -> RouteStrategy:
        return RouteStrategy(
            name=self.name,
            kind=self.type,
            status=1 if self.status == "enabled" else 0,
            entries=[
                RouteEntry(
                    percentage=e.percentage, targets=list(e.target), target_type=e.target_type
                )
                for e in self.entries
            ],
        )


def route_strategy_out(strategy: RouteStrategy) -> dict[str, Any]:
    return {
        "name": strategy.name,
        "type": strategy.kind,
        "status": "enabled" if strategy.enabled else "disabled",
        "entries": [
            {"percentage": e.percentage, "target": list(e.targets), "target_type": e.target_type}
            for e in strategy.entries
        ],
    }


def namespace_out(ns: Namespace) -> dict[str, Any]:
    return {
        "id": ns.id,
        "name": ns.name,
        "description": ns.description,
        "created_at": to_iso(ns.created_at),
    }


def group_out(group: AppGroup) -> dict[str, Any]:
    return {
        "namespace": group.namespace,
        "group_id": group.group_id,
        # the workers' credential: null for a caller that may not manage the group
        "app_key": group.app_key or None,
        "app_name": group.app_name,
        "description": group.description,
        "created_at": to_iso(group.created_at),
        "run_on_server": group.run_on_server,
    }


def calendar_out(cal: Calendar) -> dict[str, Any]:
    return {
        "namespace": cal.namespace,
        "name": cal.name,
        "year": cal.year,
        "description": cal.description,
        "months": [{"month": m.month, "days": list(m.days)} for m in cal.months],
    }


def months_in(body: CalendarIn) -> list[CalendarMonth]:
    return [CalendarMonth(month=m.month, days=list(m.days)) for m in body.months]


def job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "namespace": job.namespace,
        "group_id": job.group_id,
        "name": job.name,
        "description": job.description,
        "job_type": job.job_type.value,
        "execute_mode": job.execute_mode.value,
        "class_name": job.class_name,
        "content": job.content,
        "parameters": job.parameters,
        "time_type": TimeType(job.time_type).name.lower(),
        "time_expression": job.time_expression,
        "timezone": job.timezone,
        "calendar": job.calendar,
        "data_offset": job.data_offset,
        "start_time": to_iso(job.start_time),
        "end_time": to_iso(job.end_time),
        "misfire_policy": job.misfire_policy.value,
        "max_concurrency": job.max_concurrency,
        "max_attempt": job.max_attempt,
        "attempt_interval": job.attempt_interval,
        "timeout": job.timeout,
        "timeout_enable": job.timeout_enable,
        "timeout_kill_enable": job.timeout_kill_enable,
        "fail_enable": job.fail_enable,
        "fail_times": job.fail_times,
        "miss_worker_enable": job.miss_worker_enable,
        "success_notice_enable": job.success_notice_enable,
        "send_channel": job.send_channel,
        "contact_info": [
            {
                "user_name": c.user_name,
                "user_phone": c.user_phone,
                "user_mail": c.user_mail,
                "ding": c.ding,
            }
            for c in job.contact_info
        ],
        "page_size": job.page_size,
        "consumer_size": job.consumer_size,
        "queue_size": job.queue_size,
        "dispatcher_size": job.dispatcher_size,
        "task_max_attempt": job.task_max_attempt,
        "task_attempt_interval": job.task_attempt_interval,
        "command": job.command,
        "command_args": list(job.command_args),
        "envs": dict(job.envs),
        "replicas": job.replicas,
        "history_limit": job.history_limit,
        "status": "enabled" if job.enabled else "disabled",
        "x_attrs": job.x_attrs,
        "next_fire_time": to_iso(job.next_fire_time),
        "schedule_error": job.schedule_error,
        "created_at": to_iso(job.created_at),
        "updated_at": to_iso(job.updated_at),
    }


def instance_out(inst: Instance) -> dict[str, Any]:
    status = InstanceStatus(inst.status)
    trigger = TriggerType(inst.trigger_type)
    return {
        "id": inst.id,
        "job_id": inst.job_id,
        "namespace": inst.namespace,
        "group_id": inst.group_id,
        "status": status.name.lower(),
        "status_code": int(status),
        "trigger_type": trigger.name.lower(),
        "trigger_type_code": int(trigger),
        "time_type": TimeType(inst.time_type).name.lower(),
        "schedule_time": to_iso(inst.schedule_time),
        "data_time": to_iso(inst.data_time),
        "start_time": to_iso(inst.start_time),
        "end_time": to_iso(inst.end_time),
        "attempt": inst.attempt,
        "worker": inst.worker,
        "executor": inst.executor,
        "progress": inst.progress,
        "result": inst.result,
        "instance_parameters": inst.instance_parameters,
        "idempotency_key": inst.idempotency_key,
    }


def log_out(line: LogLine) -> dict[str, Any]:
    return {"seq": line.seq, "time": to_iso(line.time), "attempt": line.attempt, "line": line.line}


class Paged(BaseModel):
    items: list[dict[str, Any]] = Field(default_factory=list)
    total: int
    page: int
    page_size: int
