"""Namespaces, app groups and calendars."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tickwork.api.auth import Caller, services_of
from tickwork.api.native.bounds import Ident, Int64
from tickwork.api.native.schemas import (
    CalendarIn,
    GroupIn,
    GroupPatch,
    NamespaceIn,
    NamespacePatch,
    calendar_out,
    group_out,
    months_in,
    namespace_out,
)
from tickwork.domain.enums import OWN_JOB_TYPES

router = APIRouter(prefix="/api/v1/namespaces", tags=["namespaces"])


@router.get("")
async def list_namespaces(request: Request, caller: Caller) -> dict[str, Any]:
    items = [
        namespace_out(n) for n in await services_of(request).namespaces.list_namespaces(caller)
    ]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.post("", status_code=201)
async def create_namespace(request: Request, caller: Caller, body: NamespaceIn) -> dict[str, Any]:
    ns = await services_of(request).namespaces.create_namespace(
        caller, body.name, body.description, body.id
    )
    return namespace_out(ns)


@router.get("/{namespace}")
async def get_namespace(request: Request, caller: Caller, namespace: Ident) -> dict[str, Any]:
    return namespace_out(await services_of(request).namespaces.get_namespace(caller, namespace))


@router.patch("/{namespace}")
async def update_namespace(
    request: Request, caller: Caller, namespace: Ident, body: NamespacePatch
) -> dict[str, Any]:
    ns = await services_of(request).namespaces.update_namespace(
        caller, namespace, body.name, body.description
    )
    return namespace_out(ns)


@router.delete("/{namespace}", status_code=204)
async def delete_namespace(request: Request, caller: Caller, namespace: Ident) -> Response:
    await services_of(request).namespaces.delete_namespace(caller, namespace)
    return Response(status_code=204)


@router.get("/{namespace}/groups")
async def list_groups(request: Request, caller: Caller, namespace: Ident) -> dict[str, Any]:
    items = [
        group_out(g) for g in await services_of(request).namespaces.list_groups(caller, namespace)
    ]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.post("/{namespace}/groups", status_code=201)
async def create_group(
    request: Request, caller: Caller, namespace: Ident, body: GroupIn
) -> dict[str, Any]:
    group = await services_of(request).namespaces.create_group(
        caller,
        namespace,
        body.group_id,
        body.app_name,
        body.description,
        run_on_server=body.run_on_server,
    )
    return group_out(group)


@router.get("/{namespace}/groups/{group_id}")
async def get_group(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident
) -> dict[str, Any]:
    return group_out(await services_of(request).namespaces.get_group(caller, namespace, group_id))


@router.patch("/{namespace}/groups/{group_id}")
async def update_group(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident, body: GroupPatch
) -> dict[str, Any]:
    group = await services_of(request).namespaces.update_group(
        caller,
        namespace,
        group_id,
        body.app_name,
        body.description,
        run_on_server=body.run_on_server,
    )
    return group_out(group)


@router.delete("/{namespace}/groups/{group_id}", status_code=204)
async def delete_group(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident
) -> Response:
    await services_of(request).namespaces.delete_group(caller, namespace, group_id)
    return Response(status_code=204)


@router.get("/{namespace}/groups/{group_id}/workers")
async def list_workers(
    request: Request, caller: Caller, namespace: Ident, group_id: Ident
) -> dict[str, Any]:
    """The live workers of an app group: the agents connected to this server and to the
    others sharing its database (``server`` names where: null for this one), and this
    server's own."""
    workers = await services_of(request).namespaces.workers(caller, namespace, group_id)
    items = [
        {
            "address": w.address,
            "worker_id": w.worker_id,
            "labels": list(w.labels),
            "version": w.version,
            "running": w.running,
            "concurrency": w.concurrency,
            "in_process": w.in_process,
            "server": w.server or None,
            "job_types": sorted(w.job_types or {t.value for t in OWN_JOB_TYPES}),
        }
        for w in workers
    ]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.get("/{namespace}/calendars")
async def list_calendars(request: Request, caller: Caller, namespace: Ident) -> dict[str, Any]:
    items = [
        calendar_out(c)
        for c in await services_of(request).namespaces.list_calendars(caller, namespace)
    ]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.put("/{namespace}/calendars/{name}/{year}")
async def put_calendar(
    request: Request, caller: Caller, namespace: Ident, name: Ident, year: Int64, body: CalendarIn
) -> dict[str, Any]:
    cal = await services_of(request).namespaces.put_calendar(
        caller, namespace, name, year, months_in(body), body.description
    )
    return calendar_out(cal)


@router.get("/{namespace}/calendars/{name}/{year}")
async def get_calendar(
    request: Request, caller: Caller, namespace: Ident, name: Ident, year: Int64
) -> dict[str, Any]:
    return calendar_out(
        await services_of(request).namespaces.get_calendar(caller, namespace, name, year)
    )


@router.delete("/{namespace}/calendars/{name}/{year}", status_code=204)
async def delete_calendar(
    request: Request, caller: Caller, namespace: Ident, name: Ident, year: Int64
) -> Response:
    await services_of(request).namespaces.delete_calendar(caller, namespace, name, year)
    return Response(status_code=204)
