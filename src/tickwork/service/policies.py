"""Notification policies: stored and read back; sending alerts is the alerting work.

Policies belong to the whole server (no namespace) and hold people's contacts: only admin
keys read or change them."""

from __future__ import annotations

import json

from tickwork.domain import bounded_json
from tickwork.domain.errors import InvalidParameter, NotFound
from tickwork.domain.models import NotificationPolicy
from tickwork.service.rights import Caller, require_admin
from tickwork.store.abc import Store

NAME_LIMIT = 128


def _check(name: str, channel_time_range: str) -> None:
    if not name.strip():
        raise InvalidParameter("the policy name must not be empty", field="name")
    if len(name) > NAME_LIMIT:
        raise InvalidParameter(
            f"the policy name is longer than {NAME_LIMIT} characters", field="name"
        )
    if channel_time_range:
        try:
            bounded_json.loads(channel_time_range, field="channel_time_range")
        except json.JSONDecodeError as exc:
            raise InvalidParameter(
                f"channel_time_range must be JSON: {exc.msg} at position {exc.pos}",
                field="channel_time_range",
            ) from None


class PolicyService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(
        self, caller: Caller, name: str, channel_time_range: str = "", description: str = ""
    ) -> NotificationPolicy:
        require_admin(caller, "manage notification policies")
        _check(name, channel_time_range)
        return await self._store.create_notification_policy(
            NotificationPolicy(
                name=name.strip(), channel_time_range=channel_time_range, description=description
            )
        )

    async def update(
        self,
        caller: Caller,
        name: str,
        channel_time_range: str | None = None,
        description: str | None = None,
    ) -> NotificationPolicy:
        current = await self.get(caller, name)
        if channel_time_range is not None:
            current.channel_time_range = channel_time_range
        if description is not None:
            current.description = description
        _check(current.name, current.channel_time_range)
        return await self._store.update_notification_policy(current)

    async def get(self, caller: Caller, name: str) -> NotificationPolicy:
        require_admin(caller, "read notification policies")
        policy = await self._store.get_notification_policy(name)
        if policy is None:
            raise NotFound(f"notification policy {name!r} does not exist", field="name")
        return policy

    async def find(self, caller: Caller, name: str | None = None) -> list[NotificationPolicy]:
        require_admin(caller, "read notification policies")
        policies = await self._store.list_notification_policies()
        return [p for p in policies if name is None or name in p.name]

    async def delete(self, caller: Caller, name: str) -> None:
        require_admin(caller, "manage notification policies")
        await self._store.delete_notification_policy(name)
