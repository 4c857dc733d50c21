"""What a server sets up when it starts: the default namespace and group, the admin key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pg_support import create_pg_database, drop_pg_database, pg_url
from runtime_support import ADMIN_ID, ADMIN_SECRET

from tickwork.server import Runtime
from tickwork.settings import Settings


@pytest.mark.postgres
async def test_servers_starting_at_once_share_one_default_group_and_admin_key(
    tmp_path: Path,
) -> None:
    """Three servers starting together on a new database each find the defaults made, by
    whichever got there first, instead of failing on the others' rows."""
    name = create_pg_database("tickwork_startup")
    try:
        shared = Settings(
            home=str(tmp_path / "home"),
            database_url=pg_url(name),
            admin_key_id=ADMIN_ID,
            admin_key_secret=ADMIN_SECRET,
        )
        runtimes = await asyncio.gather(
            *(Runtime.start(shared, run_engine=False) for _ in range(3))
        )
        try:
            store = runtimes[0].store
            assert [n.id for n in await store.list_namespaces()] == ["default"]
            assert [g.group_id for g in await store.list_groups("default")] == ["default"]
            assert [k.key_id for k in await store.list_access_keys()] == [ADMIN_ID]
        finally:
            for runtime in runtimes:
                await runtime.stop()
    finally:
        drop_pg_database(name)
