"""Field conversions shared by the job and instance actions (other action modules may import
them): SchedulerX parameters to domain values, domain objects to the SDK models' fields, and
tickwork errors renamed to the SchedulerX parameter names.

Only translation lives here; every rule is the service layer's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tickwork.api.schedulerx.actions.job_time import check_second_delay, fill_zone, time_type_of
from tickwork.api.schedulerx.params import MissingParameter, Params
from tickwork.api.schedulerx.registry import Call
from tickwork.api.schedulerx.times import epoch_ms, optional_instant, sx_time, sx_time_ms
from tickwork.domain.enums import ExecuteMode, JobStatus, JobType
from tickwork.domain.errors import (
    GroupNotFound,
    InvalidParameter,
    NamespaceNotFound,
    TickworkError,
)
from tickwork.domain.models import ContactInfo, Instance, Job

# Domain (service) field names -> SchedulerX parameter names, for error messages.
SX_FIELDS: dict[str, str] = {
    "namespace": "Namespace",
    "group_id": "GroupId",
    "job_id": "JobId",
    "instance_id": "JobInstanceId",
    "name": "Name",
    "description": "Description",
    "job_type": "JobType",
    "execute_mode": "ExecuteMode",
    "class_name": "ClassName",
    "content": "Content",
    "parameters": "Parameters",
    "max_concurrency": "MaxConcurrency",
    "max_attempt": "MaxAttempt",
    "attempt_interval": "AttemptInterval",
    "page_size": "PageSize",
    "consumer_size": "ConsumerSize",
    "queue_size": "QueueSize",
    "dispatcher_size": "DispatcherSize",
    "time_type": "TimeType",
    "time_expression": "TimeExpression",
    "calendar": "Calendar",
    "data_offset": "DataOffset",
    "timezone": "Timezone",
    "timeout_enable": "TimeoutEnable",
    "timeout": "Timeout",
    "timeout_kill_enable": "TimeoutKillEnable",
    "fail_enable": "FailEnable",
    "fail_times": "FailTimes",
    "miss_worker_enable": "MissWorkerEnable",
    "success_notice_enable": "SuccessNoticeEnable",
    "send_channel": "SendChannel",
    "task_max_attempt": "TaskMaxAttempt",
    "task_attempt_interval": "TaskAttemptInterval",
    "contact_info": "ContactInfo",
    "status": "Status",
    "x_attrs": "XAttrs",
    "start_time": "StartTime",
    "end_time": "EndTime",
    "instance_parameters": "InstanceParameters",
    "worker": "Worker",
    "label": "Label",
    "offset": "Offset",
    "limit": "Line",
    "keyword": "Keyword",
    "page": "PageNum",
    "start_date": "StartDate",
    "end_date": "EndDate",
    "data_time": "DataTime",
}

BATCH_LIMIT = 1000  # ids of one JobIdList

_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")


def rename_field(error: TickworkError, overrides: Mapping[str, str] | None = None) -> None:
    """Give a service error the SchedulerX name of its field, in ``field`` and in the
    message (outside quoted values, which are the caller's own text). Only a refused value
    (InvalidParameter) not naming its parameter gets it as a prefix: other messages are the
    product's (``jobid: 64 not match groupId: G``), which programs compare verbatim."""
    field = error.field
    if not field:
        return
    names = {**SX_FIELDS, **(overrides or {})}
    sx_name = names.get(field)
    if sx_name is None:
        return
    word = re.compile(rf"(?<![\w.]){re.escape(field)}(?![\w])")
    parts = _QUOTED.split(error.message)
    parts = [p if i % 2 else word.sub(sx_name, p) for i, p in enumerate(parts)]
    message = "".join(parts)
    if isinstance(error, InvalidParameter) and sx_name not in message:  # e.g. a cron parser's
        message = f"{sx_name}: {message}"
    error.message = message
    error.args = (error.message,)
    error.field = sx_name


@contextmanager
def sx_names(overrides: Mapping[str, str] | None = None) -> Iterator[None]:
    """Errors raised inside name the SchedulerX parameter, not the service's field."""
    try:
        yield
    except TickworkError as exc:
        rename_field(exc, overrides)
        raise


# -- the namespace and group every action names ---------------------------------------------
async def check_group(call: Call) -> tuple[str, str]:
    """Namespace and GroupId of the call, which must name an existing app group (the seed's
    own message when they do not). NamespaceSource is read by no one (ignored)."""
    params = call.params
    namespace = params.req("Namespace")
    group_id = params.req("GroupId")
    try:
        await call.services.namespaces.get_group(call.caller, namespace, group_id)
    except NamespaceNotFound:
        raise NamespaceNotFound(
            f"namespace not exist namespace: {namespace}", field="Namespace"
        ) from None
    except GroupNotFound:
        raise GroupNotFound(
            f"groupid not exist groupId: {group_id} namespace: {namespace}", field="GroupId"
        ) from None
    return namespace, group_id


async def job_of(call: Call, job_id: int | None = None, *, to_run: bool = False) -> Job:
    """The job named by JobId (or ``job_id``), checked to be in the call's namespace and
    group (``jobid: N not match groupId: G`` when it is another group's). ``to_run``: read
    as a trigger reads it (not again on every call)."""
    namespace, group_id = await check_group(call)
    if job_id is None:
        job_id = call.params.req_int("JobId")
    jobs = call.services.jobs
    with sx_names():
        if to_run:
            return await jobs.job_for_trigger(call.caller, job_id, namespace, group_id)
        return await jobs.get(call.caller, job_id, namespace, group_id)


async def jobs_of_list(call: Call) -> list[Job]:
    """The jobs of JobIdList (at most BATCH_LIMIT, duplicates once), every one checked to be
    in the call's group before any is changed."""
    namespace, group_id = await check_group(call)
    ids = call.params.ints("JobIdList")
    if not ids:
        raise MissingParameter(
            "JobIdList is mandatory: give at least one job id", field="JobIdList"
        )
    if len(ids) > BATCH_LIMIT:
        raise InvalidParameter(
            f"JobIdList holds {len(ids)} ids; at most {BATCH_LIMIT} at once", field="JobIdList"
        )
    jobs: list[Job] = []
    with sx_names({"job_id": "JobIdList"}):
        for job_id in dict.fromkeys(ids):
            jobs.append(await call.services.jobs.get(call.caller, job_id, namespace, group_id))
    return jobs


# -- enums ------------------------------------------------------------------------------------
def job_type_of(text: str) -> JobType:
    """A JobType of the product (any case; ``golang`` is ``go``). Types tickwork's workers
    do not run are stored all the same (docs/schedulerx.md, "JobType")."""
    try:
        return JobType.parse(text)
    except ValueError:
        known = ", ".join(t.value for t in JobType)
        raise InvalidParameter(
            f"JobType {text!r} is unknown; one of: {known}", field="JobType"
        ) from None


_EXECUTE_MODES = {
    "standalone": ExecuteMode.STANDALONE,
    "broadcast": ExecuteMode.BROADCAST,
    "broadcatst": ExecuteMode.BROADCAST,  # the spelling of some SchedulerX documents
    "parallel": ExecuteMode.PARALLEL,
    "grid": ExecuteMode.GRID,
    "batch": ExecuteMode.BATCH,
    "sharding": ExecuteMode.SHARDING,
    "shard": ExecuteMode.SHARDING,
}


def execute_mode_of(text: str) -> ExecuteMode:
    mode = _EXECUTE_MODES.get(text.strip().lower())
    if mode is None:
        raise InvalidParameter(
            f"ExecuteMode {text!r} is unknown; one of: standalone, broadcast, parallel, grid, "
            "batch, sharding",
            field="ExecuteMode",
        )
    return mode


def job_status_of(params: Params, name: str = "Status") -> JobStatus | None:
    value = params.int(name)
    if value is None:
        return None
    if value not in (0, 1):
        raise InvalidParameter(
            f"{name} must be 0 (disabled) or 1 (enabled), got {value}", field=name
        )
    return JobStatus(value)


# -- CreateJob / UpdateJob --------------------------------------------------------------------
_STRINGS = {
    "Name": "name",
    "Description": "description",
    "ClassName": "class_name",
    "Content": "content",
    "Parameters": "parameters",
    "TimeExpression": "time_expression",
    "Calendar": "calendar",
    "Timezone": "timezone",
    "SendChannel": "send_channel",
    "XAttrs": "x_attrs",
}
_INTS = {
    "MaxConcurrency": "max_concurrency",
    "MaxAttempt": "max_attempt",
    "AttemptInterval": "attempt_interval",
    "PageSize": "page_size",
    "ConsumerSize": "consumer_size",
    "QueueSize": "queue_size",
    "DispatcherSize": "dispatcher_size",
    "DataOffset": "data_offset",
    "Timeout": "timeout",
    "FailTimes": "fail_times",
    "TaskMaxAttempt": "task_max_attempt",
    "TaskAttemptInterval": "task_attempt_interval",
}
_BOOLS = {
    "TimeoutEnable": "timeout_enable",
    "TimeoutKillEnable": "timeout_kill_enable",
    "FailEnable": "fail_enable",
    "MissWorkerEnable": "miss_worker_enable",
    "SuccessNoticeEnable": "success_notice_enable",
}
_PRIORITIES = (1, 5, 10, 15)


def contacts_of(params: Params) -> list[ContactInfo] | None:
    """ContactInfo.N.UserName/UserPhone/UserMail/Ding; None when none is given."""
    items = params.objects("ContactInfo")
    if not items:
        return None
    known = {"UserName", "UserPhone", "UserMail", "Ding"}
    out: list[ContactInfo] = []
    for index, item in enumerate(items, start=1):
        unknown = sorted(set(item) - known)
        if unknown:
            raise InvalidParameter(
                f"ContactInfo.{index}.{unknown[0]} is not a contact field; one of: "
                "UserName, UserPhone, UserMail, Ding",
                field="ContactInfo",
            )
        out.append(
            ContactInfo(
                user_name=item.get("UserName", ""),
                user_phone=item.get("UserPhone", ""),
                user_mail=item.get("UserMail", ""),
                ding=item.get("Ding", ""),
            )
        )
    return out


def job_changes(params: Params) -> dict[str, Any]:
    """The job fields a CreateJob / UpdateJob call gives, as domain values (only those
    given). JobType, TimeType and Status are read by the callers."""
    out: dict[str, Any] = {}
    for sx_name, field in _STRINGS.items():
        text = params.str(sx_name)
        if text is not None:
            out[field] = text
    for sx_name, field in _INTS.items():
        value = params.int(sx_name)
        if value is not None:
            out[field] = value
    for sx_name, field in _BOOLS.items():
        flag = params.bool(sx_name)
        if flag is not None:
            out[field] = flag
    mode = params.str("ExecuteMode")
    if mode:
        out["execute_mode"] = execute_mode_of(mode)
    time_type = params.int("TimeType")
    if time_type is not None:
        out["time_type"] = time_type_of(time_type)
    for sx_name, field in (("StartTime", "start_time"), ("EndTime", "end_time")):
        given, instant = optional_instant(params, sx_name)
        if given:
            out[field] = instant
    contacts = contacts_of(params)
    if contacts is not None:
        out["contact_info"] = contacts
    priority = params.int("Priority")
    if priority is not None and priority not in _PRIORITIES:
        raise InvalidParameter(
            f"Priority must be one of 1 (low), 5 (medium), 10 (high), 15 (very high), got "
            f"{priority}",
            field="Priority",
        )
    return out


def new_job(params: Params, namespace: str, group_id: str, zone: str) -> Job:
    """The job of a CreateJob call (the service validates it); ``zone`` is the region's,
    the job's zone when the call names none."""
    name = params.req("Name")
    job_type = job_type_of(params.req("JobType"))
    time_type = time_type_of(params.req_int("TimeType"))
    changes = job_changes(params)
    changes.pop("name", None)
    changes.pop("time_type", None)
    fill_zone(changes, zone, creating=True)
    check_second_delay(time_type, changes.get("time_expression", ""))
    status = job_status_of(params)
    if status is not None:
        changes["status"] = status
    return Job(
        namespace=namespace,
        group_id=group_id,
        name=name,
        job_type=job_type,
        time_type=time_type,
        **changes,
    )


# -- answers ----------------------------------------------------------------------------------
def job_config_info(job: Job, *, with_start_time: bool = False) -> dict[str, Any]:
    """A job as GetJobInfo's JobConfigInfo (and, with StartTime, ListJobs' Jobs item)."""
    out: dict[str, Any] = {
        "JobId": job.id,
        "Name": job.name,
        "Description": job.description,
        "JobType": job.job_type.value,
        # the product answers "shard" (its UpdateJob and answers' spelling; CreateJob's text
        # says "sharding", also accepted)
        "ExecuteMode": "shard"
        if job.execute_mode is ExecuteMode.SHARDING
        else job.execute_mode.value,
        "ClassName": job.class_name,
        "Content": job.content,
        "Parameters": job.parameters,
        "JarUrl": "",
        "MaxConcurrency": str(job.max_concurrency),
        "MaxAttempt": job.max_attempt,
        "AttemptInterval": job.attempt_interval,
        "Status": int(job.status),
        "XAttrs": job.x_attrs,
        "TimeConfig": {
            "TimeType": int(job.time_type),
            "TimeExpression": job.time_expression,
            "Calendar": job.calendar,
            "DataOffset": job.data_offset,
        },
        "MapTaskXAttrs": {
            "PageSize": job.page_size,
            "ConsumerSize": job.consumer_size,
            "QueueSize": job.queue_size,
            "DispatcherSize": job.dispatcher_size,
            "TaskMaxAttempt": job.task_max_attempt,
            "TaskAttemptInterval": job.task_attempt_interval,
        },
        "JobMonitorInfo": {
            "ContactInfo": [
                {
                    "UserName": c.user_name,
                    "UserPhone": c.user_phone,
                    "UserMail": c.user_mail,
                    "Ding": c.ding,
                }
                for c in job.contact_info
            ],
            "MonitorConfig": {
                "Timeout": job.timeout,
                "TimeoutEnable": job.timeout_enable,
                "TimeoutKillEnable": job.timeout_kill_enable,
                "FailEnable": job.fail_enable,
                "MissWorkerEnable": job.miss_worker_enable,
                "SendChannel": job.send_channel,
            },
        },
    }
    if job.end_time is not None:
        out["EndTime"] = job.end_time
    if with_start_time and job.start_time is not None:
        out["StartTime"] = job.start_time
    return out


def instance_detail(instance: Instance, timezone: str) -> dict[str, Any]:
    """An instance as GetJobInstanceList's JobInstanceDetails item; times in the zone."""
    out: dict[str, Any] = {
        "InstanceId": instance.id,
        "JobId": instance.job_id,
        "Status": int(instance.status),
        "TriggerType": int(instance.trigger_type),
        "TimeType": int(instance.time_type),
        "ScheduleTime": sx_time(instance.schedule_time, timezone),
        "DataTime": sx_time(instance.data_time, timezone),
        "StartTime": sx_time(instance.start_time, timezone),
        "EndTime": sx_time(instance.end_time, timezone),
        "Executor": instance.executor,
        # a finished run that reported no progress of its own reads as the seed's "complete"
        "Progress": instance.progress or ("complete" if instance.status.is_final else ""),
        "Result": instance.result,
        "WorkAddr": instance.worker,
    }
    return out


__all__ = [
    "SX_FIELDS",
    "MissingParameter",
    "check_group",
    "contacts_of",
    "epoch_ms",
    "execute_mode_of",
    "instance_detail",
    "job_changes",
    "job_config_info",
    "job_of",
    "job_status_of",
    "job_type_of",
    "new_job",
    "rename_field",
    "sx_names",
    "sx_time",
    "sx_time_ms",
    "time_type_of",
]
