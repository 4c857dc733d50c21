"""Access keys (admin keys only) and their rights on namespaces and app groups."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tickwork.api.auth import Caller, services_of
from tickwork.api.native.bounds import Ident, Text
from tickwork.api.timefmt import to_iso
from tickwork.domain.enums import Right
from tickwork.domain.models import AccessKey, Permission

RightName = Literal["read", "run", "edit", "manage"]

router = APIRouter(prefix="/api/v1/access-keys", tags=["access keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = ""
    is_admin: bool = False


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: Ident
    group_id: Ident = Field("", description='The app group; "" for every group of the namespace.')
    right: RightName = Field(
        description="read: see jobs, instances, logs; run: also start, stop, rerun runs; "
        "edit: also create, change, delete jobs; manage: also the group itself (its AppKey, "
        "change, delete; on a whole namespace, new groups)."
    )
    grant_option: bool = Field(
        False, description="The key may grant this right, or a lesser one, to other keys."
    )


def key_out(key: AccessKey, *, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key_id": key.key_id,
        "name": key.name,
        "is_admin": key.is_admin,
        "created_at": to_iso(key.created_at),
    }
    if with_secret:
        out["secret"] = key.secret  # only in the answer that creates it
    return out


def permission_out(p: Permission) -> dict[str, Any]:
    return {
        "key_id": p.key_id,
        "namespace": p.namespace,
        "group_id": p.group_id,
        "right": p.right.wire,
        "grant_option": p.grant_option,
        "created_at": to_iso(p.created_at),
    }


@router.post("", status_code=201)
async def create_key(request: Request, caller: Caller, body: KeyIn) -> dict[str, Any]:
    key = await services_of(request).access.create_key(caller, body.name, body.is_admin)
    return key_out(key, with_secret=True)


@router.get("")
async def list_keys(request: Request, caller: Caller) -> dict[str, Any]:
    items = [key_out(k) for k in await services_of(request).access.list_keys(caller)]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.delete("/{key_id}", status_code=204)
async def delete_key(request: Request, caller: Caller, key_id: Ident) -> Response:
    await services_of(request).access.delete_key(caller, key_id)
    return Response(status_code=204)


@router.get("/{key_id}/permissions")
async def list_permissions(request: Request, caller: Caller, key_id: Ident) -> dict[str, Any]:
    items = [
        permission_out(p) for p in await services_of(request).permissions.list_of(caller, key_id)
    ]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.post("/{key_id}/permissions", status_code=201)
async def grant(request: Request, caller: Caller, key_id: Ident, body: GrantIn) -> dict[str, Any]:
    permission = await services_of(request).permissions.grant(
        caller, key_id, body.namespace, body.group_id, body.grant_option, Right.parse(body.right)
    )
    return permission_out(permission)


@router.delete("/{key_id}/permissions", status_code=204)
async def revoke(
    request: Request, caller: Caller, key_id: Ident, namespace: Ident, group_id: Ident = ""
) -> Response:
    await services_of(request).permissions.revoke(caller, key_id, namespace, group_id)
    return Response(status_code=204)
