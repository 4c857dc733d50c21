"""Instance actions: GetJobInstance, GetJobInstanceList, StopInstance, RetryJobInstance,
SetJobInstanceSuccess, GetLog.

Times are ``yyyy-MM-dd HH:mm:ss`` in the time zone of the instance's job (UTC for a job
stored without one, the native default), or of the call's region when the job is gone.
"""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.actions.convert import (
    check_group,
    instance_detail,
    job_of,
    sx_names,
)
from tickwork.api.schedulerx.registry import Call, action
from tickwork.api.schedulerx.times import epoch_ms, sx_time_ms
from tickwork.api.schedulerx.zones import call_zone
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter, JobNotFound
from tickwork.domain.models import Instance, Job
from tickwork.domain.queries import InstanceFilter, LogQuery

LIST_PAGE_SIZE = 10  # GetJobInstanceList: the latest 10 by default
LOG_LINES = 200  # GetLog: Line is at most 200


async def _instance(call: Call, name: str = "JobInstanceId") -> tuple[Job, Instance]:
    """The job (JobId, in the call's group) and its instance named by ``name``."""
    job = await job_of(call)
    instance_id = call.params.req_int(name)
    with sx_names({"instance_id": name}):
        instance = await call.services.instances.get(call.caller, instance_id, job.id)
    return job, instance


@action("GetJobInstance")
async def get_job_instance(call: Call) -> dict[str, Any]:
    job, instance = await _instance(call)
    detail = instance_detail(instance, job.timezone)
    detail["JobName"] = job.name
    detail["Parameters"] = instance.instance_parameters
    return {"Data": {"JobInstanceDetail": detail}}


@action("GetJobInstanceList")
async def get_job_instance_list(call: Call) -> dict[str, Any]:
    params = call.params
    namespace, group_id = await check_group(call)
    job_id: int | None = None
    zones: dict[int, str] = {}
    if params.has("JobId"):
        job = await job_of(call)
        job_id = job.id
        zones[job.id] = job.timezone
    status = params.int("Status")
    statuses: list[InstanceStatus] | None = None
    if status is not None:
        try:
            statuses = [InstanceStatus(status)]
        except ValueError:
            raise InvalidParameter(
                f"Status {status} is not an instance status (1 waiting, 3 running, 4 success, "
                "5 failed, 9 rejected, ...)",
                field="Status",
            ) from None
    start = epoch_ms(params, "StartTimestamp")
    end = epoch_ms(params, "EndTimestamp", end=True)
    page = params.int("PageNum", 1, minimum=1)
    page_size = params.int("PageSize", LIST_PAGE_SIZE, minimum=1, maximum=1000)
    assert page is not None and page_size is not None
    with sx_names({"to": "EndTimestamp", "from": "StartTimestamp", "page_size": "PageSize"}):
        found = await call.services.instances.find(
            call.caller,
            InstanceFilter(
                namespace=namespace,
                group_id=group_id,
                job_id=job_id,
                statuses=statuses,
                schedule_from=start,
                schedule_to=None if end is None else end + 1,
                page=page,
                page_size=page_size,
            ),
        )
    details = []
    for instance in found.items:
        if instance.job_id not in zones:
            try:
                zones[instance.job_id] = (
                    await call.services.jobs.get(call.caller, instance.job_id)
                ).timezone
            except JobNotFound:  # deleted meanwhile: no job, so the region's zone
                zones[instance.job_id] = call_zone(call)
        details.append(instance_detail(instance, zones[instance.job_id]))
    return {"Data": {"JobInstanceDetails": details}}


@action("StopInstance")
async def stop_instance(call: Call) -> dict[str, Any]:
    _, instance = await _instance(call, "InstanceId")
    with sx_names({"instance_id": "InstanceId"}):
        await call.services.instances.stop(call.caller, instance.id)
    return {}


@action("RetryJobInstance")
async def retry_job_instance(call: Call) -> dict[str, Any]:
    job, instance = await _instance(call)
    with sx_names():
        await call.services.instances.retry(call.caller, instance.id, job.id)
    return {}


@action("SetJobInstanceSuccess")
async def set_job_instance_success(call: Call) -> dict[str, Any]:
    _, instance = await _instance(call)
    with sx_names():
        await call.services.instances.set_success(call.caller, instance.id)
    return {}


@action("GetLog")
async def get_log(call: Call) -> dict[str, Any]:
    job, instance = await _instance(call)
    params = call.params
    line = params.int("Line", LOG_LINES, minimum=1, maximum=LOG_LINES)
    offset = params.int("Offset", 0, minimum=0)
    assert line is not None and offset is not None
    with sx_names():
        lines = await call.services.instances.logs_between(
            call.caller,
            LogQuery(
                instance_id=instance.id,
                offset=offset,
                limit=line,
                keyword=params.str("Keyword") or None,
                reverse=bool(params.bool("Reverse", True)),
            ),
            params.int("StartTimestamp", minimum=0),
            params.int("EndTimestamp", minimum=0),
        )
    return {"Data": {"Logs": [f"{sx_time_ms(x.time, job.timezone)} {x.line}" for x in lines]}}
