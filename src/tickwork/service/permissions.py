"""Granting and revoking rights of access keys (service/rights.py says what they allow)."""

from __future__ import annotations

from tickwork.clock import now_ms
from tickwork.domain.enums import Right
from tickwork.domain.errors import Forbidden, InvalidParameter
from tickwork.domain.models import Permission
from tickwork.service.access import AccessService
from tickwork.service.rights import Caller
from tickwork.store.abc import Store


class PermissionService:
    def __init__(self, store: Store, access: AccessService) -> None:
        self._store = store
        self._access = access

    async def grant(
        self,
        caller: Caller,
        key_id: str,
        namespace: str,
        group_id: str = "",
        grant_option: bool = False,
        right: Right = Right.MANAGE,
    ) -> Permission:
        """Give ``key_id`` a right on a namespace ("" group) or one of its app groups. The
        caller must be an admin, or hold a grant option on that scope (its namespace, or
        that very group) with a right at least as high."""
        if not key_id.strip():
            raise InvalidParameter(
                "the access key id to grant to must not be empty", field="key_id"
            )
        if not self._may_grant(caller, namespace, group_id, right):
            raise Forbidden(
                f"access key {caller.key_id!r} may not grant {right.wire!r} on "
                + (f"app group {group_id!r} of " if group_id else "")
                + f"namespace {namespace!r}: that needs a grant option with that right or "
                "a higher one there",
                field="group_id" if group_id else "namespace",
            )
        stored = await self._store.put_permission(
            Permission(
                key_id=key_id,
                namespace=namespace,
                group_id=group_id,
                grant_option=grant_option,
                created_at=now_ms(),
                right=right,
            )
        )
        self._access.forget(key_id)
        return stored

    async def revoke(self, caller: Caller, key_id: str, namespace: str, group_id: str = "") -> bool:
        """Remove the right of ``key_id`` on exactly that scope; False if it had none. The
        caller must be an admin, or hold a grant option covering the scope with a right at
        least as high as the one revoked."""
        held = [
            p
            for p in await self._store.list_permissions(key_id)
            if p.namespace == namespace and p.group_id == group_id
        ]
        needed = max((p.right for p in held), default=Right.READ)
        if not self._may_grant(caller, namespace, group_id, needed):
            raise Forbidden(
                f"access key {caller.key_id!r} may not revoke rights on "
                + (f"app group {group_id!r} of " if group_id else "")
                + f"namespace {namespace!r}",
                field="group_id" if group_id else "namespace",
            )
        removed = await self._store.delete_permission(key_id, namespace, group_id)
        self._access.forget(key_id)
        return removed

    async def list_of(self, caller: Caller, key_id: str) -> list[Permission]:
        """The rights of a key: an admin sees any key's, other keys their own."""
        if not caller.is_admin and caller.key_id != key_id:
            raise Forbidden(
                f"access key {caller.key_id!r} may list only its own rights", field="key_id"
            )
        return await self._store.list_permissions(key_id)

    @staticmethod
    def _may_grant(caller: Caller, namespace: str, group_id: str, right: Right) -> bool:
        if caller.is_admin:
            return True
        return any(
            g.grant_option
            and g.namespace == namespace
            and g.group_id in ("", group_id)
            and g.right >= right
            for g in caller.grants
        )
