"""Who is calling, and what they may do: decided here for every API.

A ``Caller`` is an access key with the rights it was granted, read once per call. Admin keys
may do everything. Other keys hold rights (``Right``: read < run < edit < manage) on app
groups, or on every group of a namespace (a grant with group ""). The services ask
``require`` with what an action touches — each namespace and group it reads or writes — so a
face cannot skip the check and a new action gets it by calling the service.

Checks answer in two ways on purpose: a caller with no right at all on a group cannot tell
whether it exists (``Forbidden`` before any lookup, or ``NotFound`` for a thing found by id
in a group it cannot see); a caller who sees the group but lacks the level is told which
right it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tickwork.domain.enums import Right
from tickwork.domain.errors import Forbidden
from tickwork.domain.models import Permission
from tickwork.domain.queries import InstanceFilter, JobFilter

__all__ = ["SYSTEM", "Caller", "Right", "require", "require_admin", "restrict_to_readable"]

# What each right lets a key do, for the messages that say which one is missing.
_DOES = {
    Right.READ: "read",
    Right.RUN: "run jobs of",
    Right.EDIT: "change jobs of",
    Right.MANAGE: "manage",
}


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated access key and its grants."""

    key_id: str
    is_admin: bool = False
    grants: tuple[Permission, ...] = ()

    def right_on(self, namespace: str, group_id: str | None = None) -> Right | None:
        """The highest right held on the app group (a grant on it or on its whole
        namespace); with no group, on the whole namespace only. None: none at all."""
        if self.is_admin:
            return Right.MANAGE
        held = [
            g.right
            for g in self.grants
            if g.namespace == namespace
            and (g.group_id == "" or (group_id is not None and g.group_id == group_id))
        ]
        return max(held) if held else None

    def may(self, right: Right, namespace: str, group_id: str | None = None) -> bool:
        held = self.right_on(namespace, group_id)
        return held is not None and held >= right

    def sees_namespace(self, namespace: str) -> bool:
        """Whether the caller holds any right in the namespace (on it or one of its groups)."""
        return self.is_admin or any(g.namespace == namespace for g in self.grants)

    def scopes(self, right: Right = Right.READ) -> Sequence[tuple[str, str]] | None:
        """The (namespace, group_id) scopes where the caller holds ``right`` ("" group: the
        whole namespace), for listings; None: everywhere (an admin)."""
        if self.is_admin:
            return None
        return [(g.namespace, g.group_id) for g in self.grants if g.right >= right]

    def __repr__(self) -> str:
        return f"Caller({self.key_id!r}{', admin' if self.is_admin else ''})"


SYSTEM = Caller(key_id="tickwork", is_admin=True)
"""The server itself (start-up defaults, engine-made changes): every right."""


def require(caller: Caller, right: Right, namespace: str, group_id: str | None = None) -> None:
    """Forbidden unless ``caller`` holds ``right`` on the app group (or, without a group, on
    the whole namespace). Ask before looking the group up: the answer is the same whether
    or not it exists."""
    if caller.may(right, namespace, group_id):
        return
    where = f"app group {group_id!r} of namespace" if group_id else "namespace"
    held = caller.right_on(namespace, group_id)
    why = f"holds only {held.wire!r}" if held is not None else "has no right"
    raise Forbidden(
        f"access key {caller.key_id!r} {why} on {where} {namespace!r}; to "
        f"{_DOES[right]} it needs {right.wire!r}",
        field="group_id" if group_id else "namespace",
    )


def require_admin(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"only an admin access key may {what}")


def restrict_to_readable(caller: Caller, flt: JobFilter | InstanceFilter) -> None:
    """Narrow a listing to what the caller may read: the group it names (Forbidden without
    the right), else the caller's groups (of the namespace it names, if any)."""
    if flt.namespace is not None and flt.group_id is not None:
        require(caller, Right.READ, flt.namespace, flt.group_id)
        return
    scopes = caller.scopes(Right.READ)
    if scopes is not None:
        flt.scopes = scopes
