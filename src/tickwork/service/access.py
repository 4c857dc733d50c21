"""Access keys: who may call the APIs."""

from __future__ import annotations

import hmac
import secrets
import time

from tickwork.domain.errors import AlreadyExists, InvalidParameter, Unauthenticated
from tickwork.domain.models import AccessKey
from tickwork.engine.clock import now_ms
from tickwork.store.abc import Store


def new_key_id() -> str:
    return "TW" + secrets.token_hex(10).upper()


def new_secret() -> str:
    return secrets.token_urlsafe(30)


KEY_CACHE_S = 2.0
"""How long a key read from the store serves calls before it is read again: a key deleted
through another server stops working within this; through this one, at once."""


class AccessService:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys: dict[str, tuple[AccessKey | None, float]] = {}  # id -> (key, read at)

    async def authenticate(self, key_id: str, secret: str) -> AccessKey:
        """The key, if the secret matches (compared in constant time)."""
        key = await self.find(key_id)
        if key is None or not hmac.compare_digest(key.secret.encode(), secret.encode()):
            raise Unauthenticated("unknown access key id or wrong secret")
        return key

    async def find(self, key_id: str) -> AccessKey | None:
        """The key (read again from the store after ``KEY_CACHE_S``)."""
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[1] < KEY_CACHE_S:
            return cached[0]
        key = await self._store.get_access_key(key_id)
        if len(self._keys) > 10_000:  # unknown ids tried at random must not grow it forever
            self._keys.clear()
        self._keys[key_id] = (key, now)
        return key

    async def ensure_admin_key(self, key_id: str, secret: str) -> tuple[AccessKey, bool]:
        """Make sure an admin key exists. With key_id and secret given, that key (created or
        its secret kept in step); otherwise the first admin key, or a new generated one.
        Returns (key, whether it was generated now)."""
        if bool(key_id) != bool(secret):
            given, missing = (
                ("TICKWORK_ADMIN_KEY_ID", "TICKWORK_ADMIN_KEY_SECRET")
                if key_id
                else ("TICKWORK_ADMIN_KEY_SECRET", "TICKWORK_ADMIN_KEY_ID")
            )
            raise InvalidParameter(
                f"{given} is set but {missing} is not: set both, or neither to have a key "
                "generated",
                field=missing.removeprefix("TICKWORK_").lower(),
            )
        if key_id and secret:
            existing = await self._store.get_access_key(key_id)
            if existing is not None:
                if not hmac.compare_digest(existing.secret.encode(), secret.encode()):
                    raise InvalidParameter(
                        f"TICKWORK_ADMIN_KEY_SECRET does not match the stored secret of access "
                        f"key {key_id!r}",
                        field="admin_key_secret",
                    )
                return existing, False
            key = AccessKey(
                key_id=key_id, secret=secret, name="admin", is_admin=True, created_at=now_ms()
            )
            self._keys.pop(key_id, None)
            try:
                return await self._store.create_access_key(key), False
            except AlreadyExists:  # another server starting at once made it first
                return await self.ensure_admin_key(key_id, secret)
        for key in await self._store.list_access_keys():
            if key.is_admin:
                return key, False
        key = AccessKey(
            key_id=new_key_id(),
            secret=new_secret(),
            name="admin",
            is_admin=True,
            created_at=now_ms(),
        )
        self._keys.pop(key.key_id, None)
        return await self._store.create_access_key(key), True

    async def create_key(self, name: str = "", is_admin: bool = False) -> AccessKey:
        """A new access key (its secret is shown to the caller once, here)."""
        key = AccessKey(
            key_id=new_key_id(),
            secret=new_secret(),
            name=name,
            is_admin=is_admin,
            created_at=now_ms(),
        )
        self._keys.pop(key.key_id, None)
        return await self._store.create_access_key(key)

    async def list_keys(self) -> list[AccessKey]:
        return await self._store.list_access_keys()

    async def delete_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        await self._store.delete_access_key(key_id)
        self._keys.pop(key_id, None)
