"""DesignateWorkers, ReadSchedulerxDesignateInfo, ReadSchedulerxDesignateDetail (which workers
may run a job) and ManageSchedulerxJobSync (copy jobs to another app group).

The rules (what a designation allows, Transferable) are the engine's (``engine/routing.py``);
the candidates are the group's live workers (its agents, and the server's own worker when
the group may run on it)."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.actions.convert import job_of, sx_names
from tickwork.api.schedulerx.actions.workers import (
    bare_address,
    metrics_out,
    starter_of,
    version_of,
)
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import DESIGNATE_WORKERS, Designation, Job, WorkerInfo
from tickwork.domain.worker_metrics import FREE, busy_state

_NAMES = {
    "designate_type": "DesignateType",
    "workers": "Workers",
    "labels": "Labels",
    "job_ids": "JobIdList",
}


def _vo(
    key: str, *, checked: bool, offline: bool, workers: list[WorkerInfo], size: int = 1
) -> dict[str, Any]:
    """A DesignateDetailVos item. ``workers``: the live ones behind ``key`` (one for an
    address, those carrying it for a label): ``Busy`` is FREE when one of them is (a run can
    go there), else the first one's reason; ``Metrics`` are a single worker's figures, so a
    label carried by several workers shows none. An offline key shows no figures."""
    states = [busy_state(w.metrics) for w in workers]
    first = workers[0] if workers else None
    return {
        "Key": key,
        "Checked": checked,
        "Offline": offline,
        "Busy": FREE if not states or FREE in states else states[0],
        "Size": size,
        "Starter": starter_of(first) if first is not None else "",
        "Version": version_of(first) if first is not None else "",
        "Metrics": metrics_out(first.metrics) if first is not None and len(workers) == 1 else {},
    }


async def _details(call: Call, kind: int, job: Job) -> list[dict[str, Any]]:
    workers = await call.services.namespaces.workers(call.caller, job.namespace, job.group_id)
    designation = job.designation
    by_address: dict[str, list[WorkerInfo]] = {}
    for worker in workers:
        by_address.setdefault(worker.address, []).append(worker)
    chosen: list[str] = []
    if designation is not None and designation.kind == kind:
        chosen = designation.workers if kind == DESIGNATE_WORKERS else designation.labels
    if kind == DESIGNATE_WORKERS:
        keys = list(by_address) + [w for w in chosen if w not in by_address]
        return [
            _vo(k, checked=k in chosen, offline=k not in by_address, workers=by_address.get(k, []))
            for k in keys
        ]
    carrying: dict[str, list[WorkerInfo]] = {}
    for worker in workers:
        for label in worker.labels:
            carrying.setdefault(label, []).append(worker)
    keys = list(carrying) + [label for label in chosen if label not in carrying]
    return [
        _vo(
            k,
            checked=k in chosen,
            offline=k not in carrying,
            workers=carrying.get(k, []),
            size=len(carrying.get(k, [])),
        )
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
        workers=[bare_address(w) for w in items] if kind == DESIGNATE_WORKERS else [],
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
    # a job never designated reads as the product's default: by worker, no failover
    kind = designation.kind if designation is not None else DESIGNATE_WORKERS
    return {
        "Data": {
            "DesignateType": kind,
            "Transferable": designation.transferable if designation is not None else False,
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
