"""DesignateWorkers, ReadSchedulerxDesignateInfo, ReadSchedulerxDesignateDetail (which workers
may run a job) and ManageSchedulerxJobSync (copy jobs to another app group).

The rules (what a designation allows, Transferable) are the engine's (``engine/routing.py``);
the candidates are the group's live workers (its agents, and the server's own worker when
the group may run on it)."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.actions.convert import job_of, sx_names
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Designation, Job
from tickwork.engine.routing import DESIGNATE_WORKERS

_NAMES = {
    "designate_type": "DesignateType",
    "workers": "Workers",
    "labels": "Labels",
    "job_ids": "JobIdList",
}


def _vo(key: str, *, checked: bool, offline: bool, size: int = 1) -> dict[str, Any]:
    return {
        "Key": key,
        "Checked": checked,
        "Offline": offline,
        "Busy": False,
        "Size": size,
        "Starter": False,
        "Version": "",
        "Metrics": {},
    }


async def _details(call: Call, kind: int, job: Job) -> list[dict[str, Any]]:
    workers = await call.services.namespaces.workers(call.caller, job.namespace, job.group_id)
    designation = job.designation
    live = list(dict.fromkeys(w.address for w in workers))
    chosen: list[str] = []
    if designation is not None and designation.kind == kind:
        chosen = designation.workers if kind == DESIGNATE_WORKERS else designation.labels
    if kind == DESIGNATE_WORKERS:
        keys = live + [w for w in chosen if w not in live]
        return [_vo(k, checked=k in chosen, offline=k not in live) for k in keys]
    carrying: dict[str, int] = {}
    for worker in workers:
        for label in worker.labels:
            carrying[label] = carrying.get(label, 0) + 1
    keys = list(carrying) + [label for label in chosen if label not in carrying]
    return [
        _vo(k, checked=k in chosen, offline=k not in carrying, size=carrying.get(k, 0))
        for k in keys
    ]


@action("DesignateWorkers")
async def designate_workers(call: Call) -> dict[str, Any]:
    p = call.params
    job = await job_of(call)
    kind = p.req_int("DesignateType")
    items = p.values("Workers" if kind == DESIGNATE_WORKERS else "Labels")
    designation = Designation(
        kind=kind,
        workers=items if kind == DESIGNATE_WORKERS else [],
        labels=[] if kind == DESIGNATE_WORKERS else items,
        transferable=bool(p.bool("Transferable", True)),
    )
    with sx_names(_NAMES):
        await call.services.jobs.designate(
            call.caller, job.id, designation, namespace=job.namespace, group_id=job.group_id
        )
    return {}


@action("ReadSchedulerxDesignateInfo")
async def read_designate_info(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    designation = job.designation
    kind = designation.kind if designation is not None else DESIGNATE_WORKERS
    return {
        "Data": {
            "DesignateType": kind if designation is not None else 0,
            "Transferable": designation.transferable if designation is not None else True,
            "DesignateDetailVos": await _details(call, kind, job),
        }
    }


@action("ReadSchedulerxDesignateDetail")
async def read_designate_detail(call: Call) -> dict[str, Any]:
    job = await job_of(call)
    kind = call.params.req_int("DesignateType")
    if kind not in (1, 2):
        raise InvalidParameter(
            f"DesignateType must be 1 (workers) or 2 (labels), got {kind}", field="DesignateType"
        )
    return {"Data": {"DesignateDetailVos": await _details(call, kind, job)}}


@action("ManageSchedulerxJobSync")
async def manage_job_sync(call: Call) -> dict[str, Any]:
    """The caller must read the original group and edit the target one (the service checks
    both; Namespace and GroupId, which the SDK also sends, are not what it acts on)."""
    p = call.params
    origin = (p.req("OriginalNamespace"), p.req("OriginalGroupId"))
    target = (p.req("TargetNamespace"), p.req("TargetGroupId"))
    job_ids = p.ints("JobIdList")
    with sx_names(_NAMES):
        copies = await call.services.jobs.copy_jobs(
            call.caller,
            job_ids,
            from_namespace=origin[0],
            from_group=origin[1],
            to_namespace=target[0],
            to_group=target[1],
        )
    ids = ", ".join(str(job.id) for job in copies)
    return {"Message": f"copied {len(copies)} job(s) to {target[1]}: {ids}"}
