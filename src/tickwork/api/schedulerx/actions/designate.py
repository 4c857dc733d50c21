"""DesignateWorkers, ReadSchedulerxDesignateInfo, ReadSchedulerxDesignateDetail (which workers
may run a job) and ManageSchedulerxJobSync (copy jobs to another app group).

The rules (what a designation allows, Transferable) are the engine's (``engine/routing.py``);
the in-process worker is the only live worker for now and carries no labels."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.actions.convert import job_of, sx_names
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Designation
from tickwork.engine.routing import DESIGNATE_WORKERS, worker_labels

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


def _details(call: Call, kind: int, designation: Designation | None) -> list[dict[str, Any]]:
    worker = call.services.engine.worker
    live = [worker.address] if worker.address else []
    chosen: list[str] = []
    if designation is not None and designation.kind == kind:
        chosen = designation.workers if kind == DESIGNATE_WORKERS else designation.labels
    if kind == DESIGNATE_WORKERS:
        keys = live + [w for w in chosen if w not in live]
        return [_vo(k, checked=k in chosen, offline=k not in live) for k in keys]
    carried = list(worker_labels(worker)) if live else []
    keys = carried + [label for label in chosen if label not in carried]
    return [
        _vo(k, checked=k in chosen, offline=k not in carried, size=int(k in carried)) for k in keys
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
            job.id, designation, namespace=job.namespace, group_id=job.group_id
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
            "DesignateDetailVos": _details(call, kind, designation),
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
    return {"Data": {"DesignateDetailVos": _details(call, kind, job.designation)}}


@action("ManageSchedulerxJobSync")
async def manage_job_sync(call: Call) -> dict[str, Any]:
    """Names no Namespace, so the endpoint lets admin keys only call it."""
    p = call.params
    origin = (p.req("OriginalNamespace"), p.req("OriginalGroupId"))
    target = (p.req("TargetNamespace"), p.req("TargetGroupId"))
    job_ids = p.ints("JobIdList")
    with sx_names(_NAMES):
        copies = await call.services.jobs.copy_jobs(
            job_ids,
            from_namespace=origin[0],
            from_group=origin[1],
            to_namespace=target[0],
            to_group=target[1],
        )
    ids = ", ".join(str(job.id) for job in copies)
    return {"Message": f"copied {len(copies)} job(s) to {target[1]}: {ids}"}
