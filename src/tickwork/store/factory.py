"""``open_store``: the one way the rest of tickwork gets a store."""

from __future__ import annotations

from tickwork.store.abc import Store
from tickwork.store.sql import SqlStore

__all__ = ["open_store"]


async def open_store(url: str, *, server_id: str | None = None) -> Store:
    """Open the store at ``url`` (``sqlite:///path`` or ``postgresql://user@host:port/db``,
    any ``+driver`` form) with its schema migrated to the current version.

    Raises InvalidParameter for a URL tickwork cannot use, Unavailable when the database
    cannot be reached. ``server_id``: the server the store works for (the owner of the
    instances it inserts; the engine's id); None for tools.
    """
    store = SqlStore(url, server_id=server_id)
    await store.open()
    return store
