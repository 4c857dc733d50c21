"""Instances and their logs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tickwork.api.auth import Caller, services_of
from tickwork.api.native.bounds import Id, Ident, LogLimit, Offset, Page, PageSize
from tickwork.api.native.schemas import instance_out, log_out
from tickwork.api.timefmt import parse_iso
from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.queries import InstanceFilter, LogQuery

router = APIRouter(prefix="/api/v1/instances", tags=["instances"])


def _enum_list(
    values: list[str] | None, enum: type[InstanceStatus] | type[TriggerType], field: str
) -> list[Any] | None:
    if not values:
        return None
    out: list[Any] = []
    for raw in values:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(enum(int(part)) if part.isdigit() else enum[part.upper()])
            except (KeyError, ValueError):
                names = ", ".join(e.name.lower() for e in enum)
                raise InvalidParameter(
                    f"{field} {part!r} is not one of: {names}", field=field
                ) from None
    return out


@router.get("")
async def list_instances(
    request: Request,
    key: Caller,
    job_id: Id | None = None,
    namespace: Ident | None = None,
    group_id: Ident | None = None,
    status: Annotated[list[Ident] | None, Query()] = None,
    trigger_type: Annotated[list[Ident] | None, Query()] = None,
    from_: Annotated[Ident | None, Query(alias="from")] = None,
    to: Ident | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    flt = InstanceFilter(
        namespace=namespace,
        group_id=group_id,
        job_id=job_id,
        statuses=_enum_list(status, InstanceStatus, "status"),
        trigger_types=_enum_list(trigger_type, TriggerType, "trigger_type"),
        schedule_from=parse_iso(from_, "from") if from_ else None,
        schedule_to=parse_iso(to, "to") if to else None,
        page=page,
        page_size=page_size,
    )
    result = await services_of(request).instances.find(key, flt)
    return {
        "items": [instance_out(i) for i in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
    }


@router.get("/{instance_id}")
async def get_instance(request: Request, key: Caller, instance_id: Id) -> dict[str, Any]:
    return instance_out(await services_of(request).instances.get(key, instance_id))


@router.get("/{instance_id}/logs")
async def get_logs(
    request: Request,
    key: Caller,
    instance_id: Id,
    offset: Offset = 0,
    limit: LogLimit = 200,
    keyword: Ident | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    lines, total = await services_of(request).instances.logs(
        key,
        LogQuery(
            instance_id=instance_id,
            offset=offset,
            limit=limit,
            keyword=keyword or None,
            reverse=reverse,
        ),
    )
    return {
        "items": [log_out(line) for line in lines],
        "total": total,
        "offset": offset,
        "next_offset": offset + len(lines),
    }


@router.post("/{instance_id}/stop")
async def stop_instance(request: Request, key: Caller, instance_id: Id) -> dict[str, Any]:
    return instance_out(await services_of(request).instances.stop(key, instance_id))


@router.post("/{instance_id}/rerun", status_code=201)
async def rerun_instance(request: Request, key: Caller, instance_id: Id) -> dict[str, Any]:
    return instance_out(await services_of(request).instances.rerun(key, instance_id))


@router.post("/{instance_id}/set-success")
async def set_success(request: Request, key: Caller, instance_id: Id) -> dict[str, Any]:
    return instance_out(await services_of(request).instances.set_success(key, instance_id))
