"""Schema, migrations, URLs and connection handling of the SQL store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pg_support import create_pg_database, drop_pg_database, pg_admin, pg_url
from store_support import checked_out

from tickwork.domain.errors import InvalidParameter, Unavailable
from tickwork.domain.models import Namespace
from tickwork.store import engine as store_engine
from tickwork.store.abc import Store
from tickwork.store.engine import normalize_url
from tickwork.store.factory import open_store
from tickwork.store.migrate import (
    VERSION_TABLE,
    SchemaTooNew,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from tickwork.store.sql import SqlStore
from tickwork.store.tables import metadata


def _diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_equals_declared_metadata(store: SqlStore) -> None:
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_schema_is_at_head_and_reopen_is_a_no_op(store: SqlStore) -> None:
    await store.create_namespace(Namespace(id="kept", name="kept"))
    again = SqlStore(store.url.render_as_string(hide_password=False))
    await again.open()
    try:
        assert await again.get_namespace("kept") is not None
        async with again.engine.connect() as conn:
            version = await conn.scalar(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert version is not None and version >= "0002"
    finally:
        await again.close()


async def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'down.db'}")
    await store.open()
    try:
        await downgrade(store.engine, "base")
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert set(tables) <= {VERSION_TABLE}
        await upgrade(store.engine, "head")
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


async def test_sqlite_settings_and_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "tickwork.db"
    store = await open_store(f"sqlite:///{path}")
    assert isinstance(store, SqlStore)
    try:
        assert path.exists()
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(sa.text("PRAGMA foreign_keys")) == 1
            assert await conn.scalar(sa.text("PRAGMA synchronous")) == 1  # NORMAL
            assert await conn.scalar(sa.text("PRAGMA busy_timeout")) >= 1000
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///rel/t.db", "sqlite+aiosqlite:///rel/t.db"),
        ("sqlite:////abs/t.db", "sqlite+aiosqlite:////abs/t.db"),
        ("sqlite+pysqlite:////abs/t.db", "sqlite+aiosqlite:////abs/t.db"),
        ("postgresql://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u:pw@h/db", "postgresql+asyncpg://u:pw@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    "given",
    ["", "not a url", "mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "postgresql://u@h"],
)
def test_normalize_url_refuses(given: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        normalize_url(given)
    assert caught.value.field == "database_url"


async def test_unreachable_database_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="cannot open the database"):
        await open_store("postgresql://postgres@127.0.0.1:1/nothing")


async def test_sqlite_directory_that_cannot_be_made_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(Unavailable, match="a-file"):
        await open_store(f"sqlite:///{blocker / 'tickwork.db'}")


async def test_closed_store_is_unavailable(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'closed.db'}")
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(Unavailable):
        await store.list_namespaces()


async def test_leak_check_counts_checked_out_connections(store: SqlStore) -> None:
    assert checked_out(store) == 0
    async with store.engine.connect():
        assert checked_out(store) == 1
    assert checked_out(store) == 0


@pytest.mark.postgres
async def test_concurrent_opens_of_a_fresh_postgres_database_migrate_once() -> None:
    name = create_pg_database("tickwork_open")
    try:
        stores: list[Store] = list(
            await asyncio.gather(*(open_store(pg_url(name)) for _ in range(4)))
        )
        try:
            await stores[0].create_namespace(Namespace(id="a", name="a"))
            assert [n.id for n in await stores[3].list_namespaces()] == ["a"]
        finally:
            for store in stores:
                await store.close()
    finally:
        drop_pg_database(name)


async def test_concurrent_opens_of_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    stores = await asyncio.gather(*(open_store(url) for _ in range(4)))
    try:
        await stores[0].create_namespace(Namespace(id="a", name="a"))
        assert [n.id for n in await stores[3].list_namespaces()] == ["a"]
    finally:
        for store in stores:
            await store.close()


async def test_a_schema_newer_than_this_tickwork_is_refused_and_left_alone(
    store: SqlStore,
) -> None:
    async def set_version(version: str) -> None:
        async with store.engine.begin() as conn:
            await conn.execute(
                sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :v"), {"v": version}
            )

    await set_version("9999")
    try:
        again = SqlStore(store.url.render_as_string(hide_password=False))
        with pytest.raises(SchemaTooNew) as caught:
            await again.open()
        assert "schema is at version 9999, newer than this tickwork knows" in caught.value.message
        assert caught.value.status == 503
        assert await current_revision(store.engine) == "9999"  # nothing was changed
        assert head_revision() != "9999"
    finally:
        await set_version(head_revision())  # the database is shared with later tests


@pytest.mark.postgres
async def test_an_idle_connection_cut_by_the_database_is_replaced_before_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pooled connections are pinged when taken after sitting idle (store/engine.py), so a
    database restarted while the server was quiet costs no failed call."""
    monkeypatch.setattr(store_engine, "PING_IDLE_S", 0.05)
    name = create_pg_database("tickwork_idle")
    try:
        store = await open_store(pg_url(name))
        try:
            await store.create_namespace(Namespace(id="a", name="a"))
            await pg_admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.2)
            assert [n.id for n in await store.list_namespaces()] == ["a"]
        finally:
            await store.close()
    finally:
        drop_pg_database(name)
