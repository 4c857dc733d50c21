"""Fixtures of the store contract suite: every test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database is created on 127.0.0.1:5432 (user postgres) for the session and
dropped at the end; tables are truncated before each test. When it cannot be reached the
PostgreSQL tests skip, unless CI=true, where they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_support import create_pg_database, drop_pg_database, pg_url
from store_support import Seed, checked_out

from tickwork.store.sql import SqlStore
from tickwork.store.tables import metadata


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of this session's PostgreSQL database."""
    name = create_pg_database("tickwork_store")
    yield pg_url(name)
    drop_pg_database(name)


async def _truncate(store: SqlStore) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """An open, empty store; fails the test if it leaves a connection checked out."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    opened = SqlStore(url)
    await opened.open()
    try:
        if opened.dialect == "postgresql":
            await _truncate(opened)
        yield opened
        leaked = checked_out(opened)
        if leaked:
            pytest.fail(f"the test left {leaked} database connection(s) checked out")
    finally:
        await opened.close()


@pytest.fixture
def seed(store: SqlStore) -> Seed:
    return Seed(store)
