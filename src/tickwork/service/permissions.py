"""Who may act on what: admin keys on everything; other keys on the namespaces (or the app
groups of a namespace) they were granted. Every API asks here, so the rule lives once."""

from __future__ import annotations

from tickwork.domain.errors import Forbidden, InvalidParameter
from tickwork.domain.models import AccessKey, Permission
from tickwork.engine.clock import now_ms
from tickwork.store.abc import Store


class PermissionService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def allowed(self, key: AccessKey, namespace: str, group_id: str | None = None) -> bool:
        """May ``key`` act on this namespace (and app group, when given)?"""
        if key.is_admin:
            return True
        return any(
            p.namespace == namespace and (p.group_id == "" or p.group_id == group_id)
            for p in await self._store.list_permissions(key.key_id)
        )

    async def require(self, key: AccessKey, namespace: str, group_id: str | None = None) -> None:
        if not await self.allowed(key, namespace, group_id):
            where = f"app group {group_id!r} of namespace" if group_id else "namespace"
            raise Forbidden(
                f"access key {key.key_id!r} has no permission on {where} {namespace!r}",
                field="group_id" if group_id else "namespace",
            )

    async def require_admin(self, key: AccessKey, what: str) -> None:
        if not key.is_admin:
            raise Forbidden(f"only an admin access key may {what}")

    async def visible_namespaces(self, key: AccessKey) -> set[str] | None:
        """The namespaces ``key`` may see; None: all of them (an admin key)."""
        if key.is_admin:
            return None
        return {p.namespace for p in await self._store.list_permissions(key.key_id)}

    async def grant(
        self,
        granter: AccessKey,
        key_id: str,
        namespace: str,
        group_id: str = "",
        grant_option: bool = False,
    ) -> Permission:
        """Give ``key_id`` rights on a namespace ("" group) or one of its app groups. The
        granter must be an admin, or hold the same right with its grant option."""
        if not key_id.strip():
            raise InvalidParameter(
                "the access key id to grant to must not be empty", field="key_id"
            )
        if not granter.is_admin:
            held = await self._store.list_permissions(granter.key_id)
            if not any(
                p.grant_option and p.namespace == namespace and p.group_id in ("", group_id)
                for p in held
            ):
                raise Forbidden(
                    f"access key {granter.key_id!r} may not grant rights on namespace {namespace!r}"
                )
        return await self._store.put_permission(
            Permission(
                key_id=key_id,
                namespace=namespace,
                group_id=group_id,
                grant_option=grant_option,
                created_at=now_ms(),
            )
        )

    async def revoke(
        self, granter: AccessKey, key_id: str, namespace: str, group_id: str = ""
    ) -> bool:
        if not granter.is_admin:
            held = await self._store.list_permissions(granter.key_id)
            if not any(p.grant_option and p.namespace == namespace for p in held):
                raise Forbidden(
                    f"access key {granter.key_id!r} may not revoke rights on namespace "
                    f"{namespace!r}"
                )
        return await self._store.delete_permission(key_id, namespace, group_id)
