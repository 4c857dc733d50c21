"""Throwaway PostgreSQL databases for integration tests (127.0.0.1:5432, user postgres).

Without a reachable PostgreSQL the tests that need one skip, unless CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

PG_HOST = os.environ.get("TICKWORK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TICKWORK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TICKWORK_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("TICKWORK_TEST_PG_DB", "test")


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB, timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run_admin(sql: str) -> None:
    """Run one statement on its own loop in a thread (callers may be inside a running loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(pg_admin(sql))).result()


def create_pg_database(prefix: str) -> str:
    """Create a fresh database and return its name; skip (or fail under CI) without one."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        _run_admin(f'CREATE DATABASE "{name}"')
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is not usable: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return name


def ensure_pg_database(name: str) -> None:
    """Create the database unless it exists; skip (or fail under CI) without PostgreSQL."""
    try:
        _run_admin(f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError:
        return
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is not usable: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)


def drop_pg_database(name: str) -> None:
    _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_pg_schema(url: str) -> None:
    """Empty a database made by create_pg_database: drop and recreate its public schema."""
    database = url.rsplit("/", 1)[1]

    async def reset() -> None:
        conn = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database=database, timeout=5
        )
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(reset())).result()
