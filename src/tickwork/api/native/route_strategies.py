"""The route strategy of a job: how its runs are split between workers by percentage.

The same rules as SchedulerX CreateRouteStrategy / DeleteRouteStrategy (the service's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tickwork.api.auth import Caller, services_of
from tickwork.api.native.bounds import Id, Ident
from tickwork.api.native.schemas import RouteStrategyIn, route_strategy_out
from tickwork.domain.errors import NotFound

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/groups/{group_id}/jobs/{job_id}/route-strategy",
    tags=["jobs"],
)


@router.get("")
async def get_route_strategy(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident, job_id: Id
) -> dict[str, Any]:
    job = await services_of(request).jobs.get(caller, job_id, namespace, group_id)
    if job.route_strategy is None:
        raise NotFound(f"job {job_id} has no route strategy", field="route_strategy")
    return route_strategy_out(job.route_strategy)


@router.put("")
async def put_route_strategy(
    request: Request,
    caller: Caller,
    namespace: Ident,
    group_id: Ident,
    job_id: Id,
    body: RouteStrategyIn,
) -> dict[str, Any]:
    """Set the job's route strategy, replacing the one it had."""
    strategy = body.to_strategy()
    await services_of(request).jobs.set_route_strategy(
        caller, job_id, strategy, namespace=namespace, group_id=group_id
    )
    return route_strategy_out(strategy)


@router.delete("", status_code=204)
async def delete_route_strategy(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident, job_id: Id
) -> Response:
    """Remove the job's route strategy (204 also when it had none)."""
    await services_of(request).jobs.set_route_strategy(
        caller, job_id, None, namespace=namespace, group_id=group_id
    )
    return Response(status_code=204)
