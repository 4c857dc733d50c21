"""The shared machinery of ``SqlStore``: engine lifecycle, transactions, dialect helpers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from tickwork.clock import now_ms
from tickwork.domain.errors import Conflict, InvalidParameter, TickworkError, Unavailable
from tickwork.store.connection import StoreConnection
from tickwork.store.engine import (
    WRITE,
    create_engine,
    create_sqlite_sync_engine,
    normalize_url,
    prepare_database,
    safe_url,
)
from tickwork.store.loop_connection import LoopConnection
from tickwork.store.migrate import upgrade
from tickwork.store.tables import jobs

__all__ = ["CHUNK", "SqlBase", "check_not_negative", "check_page", "chunks", "now_ms"]

_S = TypeVar("_S")

log = logging.getLogger(__name__)

# Keys per IN (...) list; well under SQLite's and asyncpg's bind parameter limits.
CHUNK = 1000


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise InvalidParameter(f"page must be 1 or more, got {page}", field="page")
    if page_size < 1:
        raise InvalidParameter(f"page_size must be 1 or more, got {page_size}", field="page_size")


def within_scopes(
    namespace: sa.ColumnElement[str],
    group_id: sa.ColumnElement[str],
    scopes: Sequence[tuple[str, str]],
) -> sa.ColumnElement[bool]:
    """Rows of any of these (namespace, group_id) scopes; a group_id "" is the whole
    namespace. No scope: no row."""
    whole = sorted({ns for ns, group in scopes if not group})
    groups = sorted({(ns, g) for ns, g in scopes if g and ns not in whole})
    clauses: list[sa.ColumnElement[bool]] = []
    if whole:
        clauses.append(namespace.in_(whole))
    clauses += [sa.and_(namespace == ns, group_id == g) for ns, g in groups]
    return sa.or_(*clauses) if clauses else sa.false()


def check_not_negative(value: int, name: str) -> None:
    if value < 0:
        raise InvalidParameter(f"{name} must not be negative, got {value}", field=name)


class SqlBase:
    """Engine, transactions and dialect differences; the methods live in the subclasses."""

    server_id: str | None = None
    """The server this store works for (given when the store is opened): it owns the
    instances it inserts. None: a store opened by a tool, whose inserts nobody owns."""

    def __init__(self, url: str, *, server_id: str | None = None) -> None:
        self.server_id = server_id
        self._url = normalize_url(url)
        self._engine: AsyncEngine | None = None
        self._sqlite: sa.Engine | None = None  # SQLite: the engine of the store's transactions
        # SQLite takes one writer at a time; writers of this process queue here instead of
        # in SQLite's busy handler, which sleeps up to 100 ms between tries.
        self._sqlite_writer = asyncio.Lock()
        self._statements: dict[Hashable, Any] = {}

    def _statement(self, key: Hashable, build: Callable[[], _S]) -> _S:
        """The statement ``build()`` makes, built once per store (its values are bound
        parameters): SQLAlchemy then neither builds it nor computes its cache key again,
        which on the hot path cost more than SQLite running it."""
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build()
        return cast(_S, found)

    @property
    def url(self) -> sa.URL:
        return self._url

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise Unavailable("the store is not open")
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._url.get_backend_name()

    async def open(self) -> None:
        """Connect and apply pending migrations (Alembic) so the schema is current."""
        if self._engine is not None:
            return
        await prepare_database(self._url)
        engine = create_engine(self._url)
        try:
            await upgrade(engine)
        except (sa.exc.DBAPIError, OSError) as exc:
            await engine.dispose()
            raise Unavailable(f"cannot open the database {safe_url(self._url)}: {exc}") from exc
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        if self.dialect == "sqlite":
            self._sqlite = create_sqlite_sync_engine(self._url)

    async def close(self) -> None:
        """Release every connection."""
        engine, self._engine = self._engine, None
        if self._sqlite is not None:
            self._sqlite.dispose()
            self._sqlite = None
        if engine is not None:
            await engine.dispose()

    @asynccontextmanager
    async def _tx(self, write: bool) -> AsyncIterator[StoreConnection]:
        if self._sqlite is None:
            async with self._tx_on(write) as conn:
                yield conn
        elif write:
            async with self._sqlite_writer, self._sqlite_tx(self._sqlite, write) as conn:
                yield conn
        else:
            async with self._sqlite_tx(self._sqlite, write) as conn:
                yield conn

    @asynccontextmanager
    async def _sqlite_tx(self, engine: sa.Engine, write: bool) -> AsyncIterator[StoreConnection]:
        """SQLite: the transaction runs on the event loop's thread, statement by statement,
        without a thread hop (aiosqlite hops to its thread and back for every call, and the
        hops, not SQLite, were most of the cost of a run). Its statements take tens of
        microseconds. The store's methods get it as a ``LoopConnection``, whose coroutines
        finish without suspending, and a transaction body awaits nothing else, so the loop
        never interleaves two of them on one connection."""
        try:
            with engine.connect() as sync:
                if write:
                    sync = sync.execution_options(**{WRITE: True})
                with sync.begin():
                    yield LoopConnection(sync)
        except TickworkError:
            raise
        except (sa.exc.DBAPIError, OSError) as exc:
            raise _database_error(exc) from exc

    @asynccontextmanager
    async def _tx_on(self, write: bool) -> AsyncIterator[StoreConnection]:
        """PostgreSQL: SQLAlchemy's ``AsyncConnection`` is a ``StoreConnection`` as it is, so
        the store's statements reach asyncpg through no adapter."""
        try:
            async with self.engine.connect() as conn:
                if write:
                    await conn.execution_options(**{WRITE: True})
                async with conn.begin():
                    yield conn
        except TickworkError:
            raise
        except (sa.exc.DBAPIError, OSError) as exc:
            raise _database_error(exc) from exc

    def _write(self) -> AbstractAsyncContextManager[StoreConnection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite)."""
        return self._tx(write=True)

    def _read(self) -> AbstractAsyncContextManager[StoreConnection]:
        return self._tx(write=False)

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that knows ON CONFLICT on this dialect."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def _existing_ids(
        self, conn: StoreConnection, column: sa.Column[int], ids: Sequence[int]
    ) -> set[int]:
        """Which of ``ids`` exist; on PostgreSQL those rows cannot be deleted until commit."""
        stmt = self._statement(
            ("existing", column.table.name, column.name),
            lambda: (
                sa.select(column)
                .where(column.in_(sa.bindparam("ids", expanding=True)))
                .with_for_update(read=True, key_share=True)
            ),
        )
        found: set[int] = set()
        for part in chunks(sorted(set(ids))):
            found.update((await conn.execute(stmt, {"ids": list(part)})).scalars())
        return found

    def _contains(self, column: sa.ColumnElement[str], needle: str) -> sa.ColumnElement[bool]:
        """Case-sensitive substring test (LIKE is case-insensitive on SQLite)."""
        if self.dialect == "postgresql":
            return sa.func.strpos(column, needle) > 0
        return sa.func.instr(column, needle) > 0

    async def _set_next_fire_times(
        self, conn: StoreConnection, changes: Sequence[tuple[int, int | None]]
    ) -> None:
        if not changes:
            return
        latest = dict(changes)  # the last change of a job wins
        stmt = (
            sa.update(jobs)
            .where(jobs.c.id == sa.bindparam("b_id"))
            .values(next_fire_time=sa.bindparam("b_next"))
        )
        # In id order, so concurrent servers lock rows in the same order.
        params = [{"b_id": k, "b_next": latest[k]} for k in sorted(latest)]
        await conn.execute(stmt, params)

    async def _set_schedule_errors(
        self, conn: StoreConnection, marks: Sequence[tuple[int, str]]
    ) -> None:
        """Mark each (job_id, reason): the job has no next fire time until it is changed."""
        reasons = dict(marks)
        stmt = (
            sa.update(jobs)
            .where(jobs.c.id == sa.bindparam("b_id"))
            .values(next_fire_time=None, schedule_error=sa.bindparam("b_reason"))
        )
        params = [{"b_id": k, "b_reason": reasons[k]} for k in sorted(reasons)]
        await conn.execute(stmt, params)


def _database_error(exc: BaseException) -> TickworkError:
    """What a caller is told of a failed statement: the kind of failure, never the database's
    own text (it holds the statement and its values); that goes to the log."""
    if isinstance(exc, sa.exc.IntegrityError):
        log.debug("a change conflicted with stored data: %s", exc.orig)
        return Conflict("the change conflicts with stored data")
    cause = getattr(exc, "orig", exc)
    sqlstate = str(getattr(cause, "sqlstate", None) or "")
    if isinstance(exc, sa.exc.DataError) or sqlstate.startswith("22"):  # class 22: data
        # A value the database cannot hold (PEP 249's DataError): a number past its column,
        # U+0000 in a text on PostgreSQL. The faces refuse those naming the field; this is
        # what one that slipped past them gets, still a refusal and not a failure.
        log.info("a value did not fit the database: %s", cause)
        return InvalidParameter(
            "a value does not fit the database (a number too large for its field, or a "
            "character it cannot store)"
        )
    log.error("the database failed: %s", exc)
    return Unavailable("the database failed; the server log has the details")
