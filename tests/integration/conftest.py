"""Fixtures for integration tests: a real server runtime (store, engine, in-process worker)
and the real HTTP app on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_support import create_pg_database, drop_pg_database, pg_url, reset_pg_schema
from runtime_support import ADMIN_ID, ADMIN_SECRET, served

from tickwork.server import Runtime
from tickwork.settings import Settings


@pytest.fixture(scope="session")
def engine_pg_database() -> Iterator[str]:
    """This session's PostgreSQL database for runtime tests (emptied before each test)."""
    name = create_pg_database("tickwork_runtime")
    yield pg_url(name)
    drop_pg_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each runtime test runs on SQLite (a new file) and on PostgreSQL (a new schema)."""
    if request.param == "sqlite":
        return ""  # the default: tickwork.db in the test's home
    url: str = request.getfixturevalue("engine_pg_database")
    reset_pg_schema(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=str(tmp_path / "home"),
        database_url=database_url,
        admin_key_id=ADMIN_ID,
        admin_key_secret=ADMIN_SECRET,
        lookahead_ms=1500,
        misfire_threshold_ms=3000,
        retention_interval_s=3600,
        shutdown_grace_s=2,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(settings)
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
def restart(settings: Settings) -> Callable[..., Awaitable[Runtime]]:
    """Start a runtime over the same home (and database) with changed settings."""

    async def start(**changes: Any) -> Runtime:
        return await Runtime.start(replace(settings, **changes))

    return start


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client, authenticated as the admin, of the real app served on loopback."""
    async with (
        served(runtime) as base_url,
        httpx.AsyncClient(base_url=base_url, auth=(ADMIN_ID, ADMIN_SECRET), timeout=30) as client,
    ):
        yield client
