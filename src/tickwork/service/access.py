"""Access keys: who may call the APIs, and the caller each authenticated call acts as."""

from __future__ import annotations

import hmac
import secrets
import time

from tickwork.clock import now_ms
from tickwork.domain.errors import AlreadyExists, InvalidParameter, Unauthenticated
from tickwork.domain.models import AccessKey
from tickwork.service.rights import Caller, require_admin
from tickwork.store.abc import Store


def new_key_id() -> str:
    return "TW" + secrets.token_hex(10).upper()


def new_secret() -> str:
    return secrets.token_urlsafe(30)


KEY_CACHE_S = 2.0
"""How long a key (and its rights) read from the store serves calls before it is read again:
a key deleted or a right revoked through another server stops working within this; through
this one, at once."""

UNAUTHENTICATED = "unknown access key id or wrong secret"
"""The one answer to a key id that does not exist and to a wrong secret alike."""

CACHE_LIMIT = 10_000
"""Entries of each cache: ids tried at random must not grow it forever."""


class AccessService:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys: dict[str, tuple[AccessKey | None, float]] = {}  # id -> (key, read at)
        self._callers: dict[str, tuple[Caller, float]] = {}  # id -> (caller, read at)

    async def authenticate(self, key_id: str, secret: str) -> Caller:
        """The caller of this key id, if the secret matches (compared in constant time, and
        compared also for an unknown id, so that both take as long)."""
        key = await self.find(key_id)
        expected = key.secret if key is not None else _DECOY
        matches = hmac.compare_digest(expected.encode(), secret.encode())
        if key is None or not matches:
            raise Unauthenticated(UNAUTHENTICATED)
        return await self.caller_of(key)

    async def caller_of(self, key: AccessKey) -> Caller:
        """The caller an authenticated key acts as: the key with its rights (read again
        after ``KEY_CACHE_S``, at once after a grant or revoke through this server)."""
        if key.is_admin:
            return Caller(key.key_id, is_admin=True)
        now = time.monotonic()
        cached = self._callers.get(key.key_id)
        if cached is not None and now - cached[1] < KEY_CACHE_S:
            return cached[0]
        caller = Caller(key.key_id, grants=tuple(await self._store.list_permissions(key.key_id)))
        if len(self._callers) > CACHE_LIMIT:
            self._callers.clear()
        self._callers[key.key_id] = (caller, now)
        return caller

    def forget(self, key_id: str) -> None:
        """The key or its rights changed: read them again on its next call."""
        self._keys.pop(key_id, None)
        self._callers.pop(key_id, None)

    async def find(self, key_id: str) -> AccessKey | None:
        """The key (read again from the store after ``KEY_CACHE_S``)."""
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[1] < KEY_CACHE_S:
            return cached[0]
        key = await self._store.get_access_key(key_id)
        if len(self._keys) > CACHE_LIMIT:
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
            self.forget(key_id)
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
        self.forget(key.key_id)
        return await self._store.create_access_key(key), True

    async def create_key(self, caller: Caller, name: str = "", is_admin: bool = False) -> AccessKey:
        """A new access key (its secret is shown to the caller once, here). Admins only."""
        require_admin(caller, "create access keys")
        key = AccessKey(
            key_id=new_key_id(),
            secret=new_secret(),
            name=name,
            is_admin=is_admin,
            created_at=now_ms(),
        )
        self.forget(key.key_id)
        return await self._store.create_access_key(key)

    async def list_keys(self, caller: Caller) -> list[AccessKey]:
        require_admin(caller, "list access keys")
        return await self._store.list_access_keys()

    async def delete_key(self, caller: Caller, key_id: str) -> None:
        require_admin(caller, "delete access keys")
        self.forget(key_id)
        await self._store.delete_access_key(key_id)
        self.forget(key_id)


# Compared against when the key id is unknown (never a real secret: it has a space).
_DECOY = "no such key " + secrets.token_urlsafe(30)
