"""The store's connection interface (StoreConnection) behaves alike on both databases:
SQLAlchemy's AsyncConnection on PostgreSQL, LoopConnection on SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tickwork.domain.errors import Conflict
from tickwork.store.sql import SqlStore
from tickwork.store.tables import namespaces

_COUNT = sa.select(sa.func.count()).select_from(namespaces)


def _row(ns_id: str) -> dict[str, object]:
    return {"id": ns_id, "name": ns_id, "description": "", "created_at": 1}


async def test_statements_and_run_sync_share_one_transaction(store: SqlStore) -> None:
    async with store._write() as conn:
        await conn.execute(sa.insert(namespaces), [_row("a"), _row("b")])  # an executemany
        assert await conn.scalar(_COUNT) == 2
        seen = await conn.run_sync(lambda sync: sync.execute(_COUNT).scalar_one())
        assert seen == 2
        names = await conn.execute(sa.select(namespaces.c.id).order_by(namespaces.c.id))
        assert names.scalars().all() == ["a", "b"]
    async with store._read() as conn:
        assert await conn.scalar(_COUNT) == 2


async def test_a_failed_transaction_keeps_nothing(store: SqlStore) -> None:
    with pytest.raises(Conflict):
        async with store._write() as conn:
            await conn.execute(sa.insert(namespaces), [_row("a")])
            await conn.execute(sa.insert(namespaces), [_row("a")])
    async with store._read() as conn:
        assert await conn.scalar(_COUNT) == 0
