"""Jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from tickwork.api.auth import Caller, services_of
from tickwork.api.native.schemas import JobFields, JobIn, RunIn, instance_out, job_out
from tickwork.store.abc import JobFilter

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


# First: the router tries routes in order, and a trigger is the call made most often.
@router.post("/{job_id}/run", status_code=201)
async def run_job(
    request: Request, key: Caller, job_id: int, body: RunIn | None = None
) -> JSONResponse:
    body = body or RunIn()
    instance, created = await services_of(request).jobs.trigger(
        job_id,
        instance_parameters=body.instance_parameters,
        idempotency_key=body.idempotency_key,
        check_job_status=body.check_job_status,
        executor=key.key_id,
    )
    return JSONResponse(instance_out(instance), status_code=201 if created else 200)


@router.post("", status_code=201)
async def create_job(request: Request, key: Caller, body: JobIn) -> dict[str, Any]:
    job = await services_of(request).jobs.create(body.to_job())
    return job_out(job)


@router.get("")
async def list_jobs(
    request: Request,
    key: Caller,
    namespace: str | None = None,
    group_id: str | None = None,
    name: str | None = None,
    status: int | None = Query(None, ge=0, le=1),
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    result = await services_of(request).jobs.find(
        JobFilter(
            namespace=namespace,
            group_id=group_id,
            name_contains=name,
            status=status,
            page=page,
            page_size=page_size,
        )
    )
    return {
        "items": [job_out(j) for j in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
    }


@router.get("/{job_id}")
async def get_job(request: Request, key: Caller, job_id: int) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.get(job_id))


@router.patch("/{job_id}")
async def update_job(request: Request, key: Caller, job_id: int, body: JobFields) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.update(job_id, body.changes()))


@router.delete("/{job_id}", status_code=204)
async def delete_job(request: Request, key: Caller, job_id: int) -> Response:
    await services_of(request).jobs.delete(job_id)
    return Response(status_code=204)


@router.post("/{job_id}/enable")
async def enable_job(request: Request, key: Caller, job_id: int) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.set_enabled(job_id, True))


@router.post("/{job_id}/disable")
async def disable_job(request: Request, key: Caller, job_id: int) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.set_enabled(job_id, False))
