"""Access keys and their rights on namespaces (admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from tickwork.api.auth import Admin, services_of
from tickwork.api.native.bounds import Ident, Text
from tickwork.api.timefmt import to_iso
from tickwork.domain.models import AccessKey, Permission

router = APIRouter(prefix="/api/v1/access-keys", tags=["access keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = ""
    is_admin: bool = False


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: Ident
    group_id: Ident = ""
    grant_option: bool = False


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
        "grant_option": p.grant_option,
        "created_at": to_iso(p.created_at),
    }


@router.post("", status_code=201)
async def create_key(request: Request, caller: Admin, body: KeyIn) -> dict[str, Any]:
    key = await services_of(request).access.create_key(body.name, body.is_admin)
    return key_out(key, with_secret=True)


@router.get("")
async def list_keys(request: Request, caller: Admin) -> dict[str, Any]:
    items = [key_out(k) for k in await services_of(request).access.list_keys()]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.delete("/{key_id}", status_code=204)
async def delete_key(request: Request, caller: Admin, key_id: Ident) -> Response:
    await services_of(request).access.delete_key(key_id)
    return Response(status_code=204)


@router.get("/{key_id}/permissions")
async def list_permissions(request: Request, caller: Admin, key_id: Ident) -> dict[str, Any]:
    items = [permission_out(p) for p in await services_of(request).store.list_permissions(key_id)]
    return {"items": items, "total": len(items), "page": 1, "page_size": len(items)}


@router.post("/{key_id}/permissions", status_code=201)
async def grant(request: Request, caller: Admin, key_id: Ident, body: GrantIn) -> dict[str, Any]:
    permission = await services_of(request).permissions.grant(
        caller, key_id, body.namespace, body.group_id, body.grant_option
    )
    return permission_out(permission)


@router.delete("/{key_id}/permissions", status_code=204)
async def revoke(
    request: Request, caller: Admin, key_id: Ident, namespace: Ident, group_id: Ident = ""
) -> Response:
    await services_of(request).permissions.revoke(caller, key_id, namespace, group_id)
    return Response(status_code=204)
