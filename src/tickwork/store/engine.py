"""Database URLs and async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tickwork.domain.errors import InvalidParameter, Unavailable
from tickwork.private_files import make_private, open_private

__all__ = [
    "WRITE",
    "create_engine",
    "create_sqlite_sync_engine",
    "normalize_url",
    "prepare_database",
    "safe_url",
]

# Execution option that marks a connection as a writer; on SQLite its transactions start with
# BEGIN IMMEDIATE so a read never has to be upgraded to a write lock (which fails with
# SQLITE_BUSY at once under WAL instead of waiting).
WRITE = "tickwork_write"

SQLITE_BUSY_TIMEOUT_MS = 30_000

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_BACKENDS = {"sqlite": "sqlite", "postgres": "postgresql", "postgresql": "postgresql"}


def normalize_url(url: str) -> sa.URL:
    """Parse a database URL and pick the async driver.

    Accepts ``sqlite:///path`` and ``postgresql://user@host:port/db`` (also ``postgres://``
    and any ``+driver`` form); returns ``sqlite+aiosqlite`` / ``postgresql+asyncpg`` URLs.
    """
    try:
        parsed = sa.make_url(url.strip())
    except ArgumentError:
        raise InvalidParameter(
            f"database_url {url!r} is not a database URL (sqlite:///path or "
            "postgresql://user@host:port/db)",
            field="database_url",
        ) from None
    backend = _BACKENDS.get(parsed.drivername.split("+", 1)[0])
    if backend is None:
        raise InvalidParameter(
            f"database_url scheme {parsed.drivername!r} is not supported "
            "(use sqlite:///path or postgresql://user@host:port/db)",
            field="database_url",
        )
    parsed = parsed.set(drivername=_DRIVERS[backend])
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        raise InvalidParameter(
            "database_url: an in-memory SQLite database is not supported; give a file "
            "(sqlite:///path/to/tickwork.db)",
            field="database_url",
        )
    if backend == "postgresql" and not parsed.database:
        raise InvalidParameter(
            f"database_url {safe_url(parsed)!r} names no database", field="database_url"
        )
    return parsed


def safe_url(url: sa.URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def create_engine(url: sa.URL) -> AsyncEngine:
    """An async engine for a normalized URL (call ``prepare_database`` first)."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    engine = create_async_engine(url, pool_reset_on_return=None)  # no ROLLBACK, as SQLite
    _ping_idle_connections(engine.sync_engine)
    return engine


# A connection taken from the pool after sitting idle this long is pinged first.
PING_IDLE_S = 1.0


def _ping_idle_connections(engine: sa.Engine) -> None:
    """``pool_pre_ping`` for connections that sat idle in the pool (SQLAlchemy's pessimistic
    disconnect handling, as its docs give it for a custom test): one that fails its ping is
    replaced before use, so a database restarted while the server was quiet costs nothing.
    A connection in constant use is not pinged: the ping was a round trip in front of every
    transaction (a tenth of the server's CPU at 1,500 triggers a second), and a connection
    that dies in use fails its transaction whether pinged or not (the store's callers retry
    or report it), and SQLAlchemy then drops the pool's other connections of before."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"an idle connection failed its ping: {exc}") from exc


async def prepare_database(url: sa.URL) -> None:
    """SQLite: create the file's directory and switch the file to WAL (once; it persists)."""
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(_prepare_sqlite_file, url.database or "")


def _prepare_sqlite_file(database: str) -> None:
    # Done once per open on a private connection, before the pool exists: switching the
    # journal mode needs an exclusive lock, and doing it from every pooled connection lets two
    # fresh openers deadlock until the busy timeout.
    path = Path(database).expanduser()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing one is kept
    except OSError as exc:
        raise Unavailable(f"cannot create the directory of SQLite database {path}: {exc}") from exc
    _private_sqlite_files(path)
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise Unavailable(f"cannot open SQLite database {path}: {exc}") from exc
            mode = str(exc)
        if mode == "wal":
            return
        if time.monotonic() > deadline:
            raise Unavailable(f"cannot switch SQLite database {path} to WAL mode: {mode}")
        time.sleep(0.05)


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _private_sqlite_files(path: Path) -> None:
    """The database holds the keys' secrets: create it 0600 before SQLite opens it (SQLite
    gives its WAL, shared-memory and journal files the database file's mode), and tighten
    the files of an install made before this rule."""
    os.close(open_private(path, os.O_RDWR))
    for suffix in SQLITE_SIDE_FILES:
        make_private(path.with_name(path.name + suffix))


def create_sqlite_sync_engine(url: sa.URL) -> sa.Engine:
    """A synchronous engine on the same SQLite file, for the store's transactions, which run
    on the event loop's thread (see ``SqlBase``): same pragmas, same BEGIN modes."""
    engine = sa.create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_reset_on_return=None,
    )
    _sqlite_events(engine)
    return engine


def _sqlite_events(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) emit BEGIN, see _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_engine(url: sa.URL) -> AsyncEngine:
    # No ROLLBACK when a connection goes back to the pool: every transaction of the store is
    # ended by its context, and closing a Connection rolls back one left open; the extra
    # round trip (a thread hop on aiosqlite) cost more than the query on the hot path.
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_reset_on_return=None,
    )
    _sqlite_events(engine.sync_engine)
    return engine
