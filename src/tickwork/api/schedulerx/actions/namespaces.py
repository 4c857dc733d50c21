"""Namespaces (CreateNamespace, UpdateNamespace, DeleteNamespace, ListNamespaces); also the
translation of service errors to SchedulerX messages that the group and calendar actions share.

RegionId is accepted on every action (it only gives a time zone, zones.py). Rights
are the services' to check (service/rights.py), on what each action touches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tickwork.api.schedulerx.params import MissingParameter
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.errors import (
    AlreadyExists,
    GroupNotFound,
    InvalidParameter,
    NamespaceNotFound,
)
from tickwork.domain.models import Namespace


@contextmanager
def schedulerx_errors(
    *,
    namespace: str | None = None,
    group_id: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Service errors in SchedulerX words: unknown namespaces and groups as the public API
    words them (``groupid not exist groupId: X namespace: Y``), and a bad value named by its
    SchedulerX parameter (``fields`` maps the service's field names to the parameters)."""
    try:
        yield
    except MissingParameter:
        raise
    except GroupNotFound as exc:
        raise GroupNotFound(
            f"groupid not exist groupId: {group_id} namespace: {namespace}", field="GroupId"
        ) from exc
    except NamespaceNotFound as exc:
        raise NamespaceNotFound(
            f"namespace not exist namespace: {namespace}", field="Namespace"
        ) from exc
    except InvalidParameter as exc:
        wire = (fields or {}).get(exc.field or "")
        if wire is None:
            raise
        # a message that already names the parameter needs no prefix
        message = exc.message if wire in exc.message else f"{wire}: {exc.message}"
        raise InvalidParameter(message, field=wire) from exc


# -- namespaces --------------------------------------------------------------------------------
@action("CreateNamespace")
async def create_namespace(call: Call) -> dict[str, Any]:
    p = call.params
    name = p.req("Name")
    if not name.strip():
        raise InvalidParameter("Name must not be blank", field="Name")
    uid = p.str("Uid") or None
    try:
        with schedulerx_errors(fields={"id": "Uid", "name": "Name"}):
            namespace = await call.services.namespaces.create_namespace(
                call.caller, name, p.str("Description") or "", uid
            )
    except AlreadyExists as exc:
        raise AlreadyExists(
            f"namespace already exists, Uid: {uid} (give another Uid, or none to have one "
            "generated)",
            field="Uid",
        ) from exc
    return {"Data": {"NamespaceUid": namespace.id}}


@action("UpdateNamespace")
async def update_namespace(call: Call) -> dict[str, Any]:
    p = call.params
    namespace = p.req("Namespace")
    with schedulerx_errors(namespace=namespace, fields={"name": "NamespaceName"}):
        await call.services.namespaces.update_namespace(
            call.caller, namespace, p.str("NamespaceName"), p.str("Description")
        )
    return {}


@action("DeleteNamespace")
async def delete_namespace(call: Call) -> dict[str, Any]:
    namespace = call.params.req("Namespace")
    with schedulerx_errors(namespace=namespace):
        await call.services.namespaces.delete_namespace(call.caller, namespace)
    return {}


@action("ListNamespaces")
async def list_namespaces(call: Call) -> dict[str, Any]:
    p = call.params
    uid = (p.str("Namespace") or "").strip()
    name = (p.str("NamespaceName") or "").strip().lower()
    found = [
        n
        for n in await call.services.namespaces.list_namespaces(call.caller)
        if (not uid or n.id == uid) and (not name or name in n.name.lower())
    ]
    return {"Data": {"Namespaces": [namespace_out(n) for n in found]}}


def namespace_out(namespace: Namespace) -> dict[str, Any]:
    # "UId" is the SDK's own spelling of this field.
    return {"UId": namespace.id, "Name": namespace.name, "Description": namespace.description}
