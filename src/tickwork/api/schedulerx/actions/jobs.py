"""Job actions: CreateJob, UpdateJob, DeleteJob, GetJobInfo, ListJobs, EnableJob, DisableJob,
BatchEnableJobs, BatchDisableJobs, BatchDeleteJobs, ExecuteJob, RerunJob.

Every action names Namespace and GroupId (NamespaceSource is ignored); the app group must
exist and the job must belong to it. RegionId gives the zone of a job created without a
Timezone (zones.py).
"""

from __future__ import annotations

import re
from typing import Any

from tickwork.api.schedulerx.actions.convert import (
    check_group,
    job_changes,
    job_config_info,
    job_of,
    job_status_of,
    jobs_of_list,
    new_job,
    sx_names,
)
from tickwork.api.schedulerx.actions.job_time import check_update_times, fill_zone
from tickwork.api.schedulerx.actions.workers import bare_address
from tickwork.api.schedulerx.registry import Call, action
from tickwork.api.schedulerx.zones import call_zone
from tickwork.domain.errors import InvalidParameter, JobNotFound
from tickwork.domain.models import Job
from tickwork.domain.queries import JobFilter

LIST_PAGE_SIZE = 1000  # ListJobs without PageSize: every job of the group (up to this many)
_DATA_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")


@action("CreateJob")
async def create_job(call: Call) -> dict[str, Any]:
    namespace, group_id = await check_group(call)
    with sx_names():
        job = new_job(call.params, namespace, group_id, call_zone(call))
        stored = await call.services.jobs.create(call.caller, job)
    return {"Data": {"JobId": stored.id}}


# UpdateJob's fields that tickwork has no use for: accepted and ignored (TaskDispatchMode
# tunes grid jobs, which need worker agents). Template is a k8s job's: refused when given.
@action("UpdateJob")
async def update_job(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    params = call.params
    if params.has("Template"):
        raise InvalidParameter(
            "Template belongs to k8s jobs, which tickwork does not run", field="Template"
        )
    with sx_names():
        changes = job_changes(params)
        fill_zone(changes, call_zone(call), creating=False)
        check_update_times(changes, job)
        await call.services.jobs.update(call.caller, job.id, changes)
    return {}


@action("DeleteJob")
async def delete_job(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    with sx_names():
        await call.services.jobs.delete(call.caller, job.id)
    return {}


@action("GetJobInfo")
async def get_job_info(call: Call) -> dict[str, Any]:
    params = call.params
    if params.has("JobId") or not params.has("JobName"):
        job = await job_of(call)
    else:
        job = await _job_named(call, params.req("JobName"))
    return {"Data": {"JobConfigInfo": job_config_info(job)}}


async def _job_named(call: Call, name: str) -> Job:
    namespace, group_id = await check_group(call)
    page = 1
    while True:
        found = await call.services.jobs.find(
            call.caller,
            JobFilter(
                namespace=namespace,
                group_id=group_id,
                name_contains=name,
                page=page,
                page_size=1000,
            ),
        )
        for job in found.items:
            if job.name == name:
                return job
        if page * found.page_size >= found.total:
            raise JobNotFound(
                f"no job named {name!r} in group {group_id} of namespace {namespace}",
                field="JobName",
            )
        page += 1


@action("ListJobs")
async def list_jobs(call: Call) -> dict[str, Any]:
    namespace, group_id = await check_group(call)
    params = call.params
    status = job_status_of(params)
    page = params.int("PageNum", 1, minimum=1)
    page_size = params.int("PageSize", LIST_PAGE_SIZE, minimum=1, maximum=1000)
    assert page is not None and page_size is not None
    with sx_names({"page_size": "PageSize", "name": "JobName", "page": "PageNum"}):
        found = await call.services.jobs.find(
            call.caller,
            JobFilter(
                namespace=namespace,
                group_id=group_id,
                name_contains=params.str("JobName") or None,
                status=None if status is None else int(status),
                page=page,
                page_size=page_size,
            ),
        )
    return {
        "Data": {
            "Jobs": [job_config_info(j, with_start_time=True) for j in found.items],
            "PageNumber": found.page,
            "PageSize": found.page_size,
            "Total": found.total,
        }
    }


@action("EnableJob")
async def enable_job(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    with sx_names():
        await call.services.jobs.set_enabled(call.caller, job.id, True)
    return {}


@action("DisableJob")
async def disable_job(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    with sx_names():
        await call.services.jobs.set_enabled(call.caller, job.id, False)
    return {}


@action("BatchEnableJobs")
async def batch_enable_jobs(call: Call) -> dict[str, Any]:
    for job in await jobs_of_list(call):
        with sx_names({"job_id": "JobIdList"}):
            await call.services.jobs.set_enabled(call.caller, job.id, True)
    return {}


@action("BatchDisableJobs")
async def batch_disable_jobs(call: Call) -> dict[str, Any]:
    for job in await jobs_of_list(call):
        with sx_names({"job_id": "JobIdList"}):
            await call.services.jobs.set_enabled(call.caller, job.id, False)
    return {}


@action("BatchDeleteJobs")
async def batch_delete_jobs(call: Call) -> dict[str, Any]:
    for job in await jobs_of_list(call):
        with sx_names({"job_id": "JobIdList"}):
            await call.services.jobs.delete(call.caller, job.id)
    return {}


@action("ExecuteJob")
async def execute_job(call: Call) -> dict[str, Any]:
    job = await job_of(call, to_run=True)
    params = call.params
    designate = params.int("DesignateType")
    services = call.services
    with sx_names():
        designation = None
        if designate == 1:
            worker = bare_address(params.req("Worker"))  # id@ip:port or ip:port
            designation = services.jobs.run_designation(job, worker=worker)
        elif designate == 2:
            designation = services.jobs.run_designation(job, label=params.req("Label"))
        elif designate is not None:
            raise InvalidParameter(
                f"DesignateType must be 1 (a worker, by address) or 2 (a label), got {designate}",
                field="DesignateType",
            )
        instance, _ = await services.jobs.trigger(
            call.caller,
            job.id,
            instance_parameters=params.str("InstanceParameters") or "",
            check_job_status=bool(params.bool("CheckJobStatus", False)),
            designation=designation,
        )
    return {"Data": {"JobInstanceId": instance.id}}


@action("RerunJob")
async def rerun_job(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    params = call.params
    start = params.int("StartDate", required=True, minimum=0)
    end = params.int("EndDate", required=True, minimum=0)
    assert start is not None and end is not None
    time_of_day: int | None = None
    text = params.str("DataTime")
    if text:
        match = _DATA_TIME.fullmatch(text.strip())
        if match is None:
            raise InvalidParameter(
                f"DataTime must be HH:mm:ss (e.g. 10:00:00), got {text!r}", field="DataTime"
            )
        hours, minutes, seconds = (int(g) for g in match.groups())
        if hours > 23 or minutes > 59 or seconds > 59:
            raise InvalidParameter(f"DataTime {text!r} is not a time of day", field="DataTime")
        time_of_day = ((hours * 60 + minutes) * 60 + seconds) * 1000
    with sx_names():
        created = await call.services.jobs.backfill(
            call.caller,
            job.id,
            start,
            end,
            time_of_day_ms=time_of_day,
            namespace=job.namespace,
            group_id=job.group_id,
        )
    ids = ", ".join(str(i.id) for i in created)
    message = f"{len(created)} backfill instance(s) created" + (f": {ids}" if ids else "")
    return {"Message": message}
