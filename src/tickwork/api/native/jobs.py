"""Jobs."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from tickwork.api.auth import Caller, require_key, services_of
from tickwork.api.native.bounds import Id, Ident, Page, PageSize, SearchText
from tickwork.api.native.schemas import JobFields, JobIn, RunIn, instance_out, job_out
from tickwork.domain.limits import ID_MAX
from tickwork.domain.queries import JobFilter

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
# The trigger's path, for the shortcut to its handler (api/shortcuts.py)
RUN_PATH = re.compile(r"/api/v1/jobs/(?P<job_id>[^/]+)/run")


async def run_job(
    request: Request, key: Caller, job_id: Id, body: RunIn | None = None
) -> JSONResponse:
    """Start a run of the job now (201), or, for an idempotency key seen before, the run it
    started then (200)."""
    body = body or RunIn()
    instance, created = await services_of(request).jobs.trigger(
        key,
        job_id,
        instance_parameters=body.instance_parameters,
        idempotency_key=body.idempotency_key,
        check_job_status=body.check_job_status,
    )
    return JSONResponse(instance_out(instance), status_code=201 if created else 200)


_RUN_BODY: TypeAdapter[RunIn | None] = TypeAdapter(RunIn | None)


def _invalid(loc: tuple[str | int, ...], message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": loc, "msg": message, "input": None}])


async def parse_and_run_job(request: Request) -> Response:
    """``run_job`` with its parameters read by hand: the key (first, as the dependency is),
    the job id, the JSON body. Errors are the ones FastAPI raises, so the app's handlers
    answer them in the native envelope."""
    key = await require_key(request)
    try:
        job_id = int(request.path_params["job_id"])
    except ValueError:
        raise _invalid(
            ("path", "job_id"), "Input should be a valid integer", "int_parsing"
        ) from None
    if not 1 <= job_id <= ID_MAX:
        raise _invalid(("path", "job_id"), f"Input should be in 1..{ID_MAX}", "int_range")
    raw = await request.body()
    body: RunIn | None = None
    if raw:
        kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not (kind == "application/json" or kind.endswith("+json")):
            raise _invalid(("body",), "the body must be JSON (application/json)", "json_type")
        try:
            body = _RUN_BODY.validate_json(raw)
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None
    return await run_job(request, key, job_id, body)


class _RunJobRoute(APIRoute):
    """The trigger is the call made most often: its handler skips FastAPI's per-call
    dependency solving and validation (about a fifth of a trigger's CPU), reading the same
    parameters by hand; the declared ``run_job`` still describes it in the OpenAPI spec."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return parse_and_run_job


# First: the router tries routes in order, and a trigger is the call made most often.
router.add_api_route(
    "/{job_id}/run",
    run_job,
    methods=["POST"],
    status_code=201,
    route_class_override=_RunJobRoute,
)


@router.post("", status_code=201)
async def create_job(request: Request, key: Caller, body: JobIn) -> dict[str, Any]:
    job = await services_of(request).jobs.create(key, body.to_job())
    return job_out(job)


@router.get("")
async def list_jobs(
    request: Request,
    key: Caller,
    namespace: Ident | None = None,
    group_id: Ident | None = None,
    name: SearchText | None = None,
    status: int | None = Query(None, ge=0, le=1),
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    result = await services_of(request).jobs.find(
        key,
        JobFilter(
            namespace=namespace,
            group_id=group_id,
            name_contains=name,
            status=status,
            page=page,
            page_size=page_size,
        ),
    )
    return {
        "items": [job_out(j) for j in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
    }


@router.get("/{job_id}")
async def get_job(request: Request, key: Caller, job_id: Id) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.get(key, job_id))


@router.patch("/{job_id}")
async def update_job(request: Request, key: Caller, job_id: Id, body: JobFields) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.update(key, job_id, body.changes()))


@router.delete("/{job_id}", status_code=204)
async def delete_job(request: Request, key: Caller, job_id: Id) -> Response:
    await services_of(request).jobs.delete(key, job_id)
    return Response(status_code=204)


@router.post("/{job_id}/enable")
async def enable_job(request: Request, key: Caller, job_id: Id) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.set_enabled(key, job_id, True))


@router.post("/{job_id}/disable")
async def disable_job(request: Request, key: Caller, job_id: Id) -> dict[str, Any]:
    return job_out(await services_of(request).jobs.set_enabled(key, job_id, False))
