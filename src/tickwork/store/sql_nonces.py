"""The store's record of signed calls accepted (``Store.use_nonces``): one transaction per
batch of calls, shared by every server of the database.

A batch is one statement whatever its size, written per database: it goes in as one JSON
text (SQLite ``json_each``, sent straight to the driver) or three arrays (PostgreSQL
``unnest``), so neither SQLAlchemy nor the driver handles a parameter per call. Expired
records are deleted along the way, at most every ``PRUNE_EVERY_MS`` and ``PRUNE_MAX`` at a
time: a statement per batch cost about a fifth of the batch on SQLite, where it runs on the
event loop's thread. On PostgreSQL deleting and inserting are one statement in a
transaction of its own, sent on a connection the store keeps for it (below).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa

from tickwork.domain.errors import Unavailable
from tickwork.store import engine as store_engine
from tickwork.store.abc import NonceUse
from tickwork.store.sql_base import SqlBase

__all__ = ["PRUNE_EVERY_MS", "PRUNE_MAX", "SqlNonces"]

log = logging.getLogger(__name__)

PRUNE_EVERY_MS = 100
"""Expired records are deleted at most this often (by the clock the caller gives), unless the
last deletion left some behind."""
PRUNE_MAX = 500
"""Expired records deleted at once at most: the oldest, at one end of the key, so on SQLite
about a millisecond of the loop's time; when more are left, the next call deletes again."""

_COLUMNS = "kept_until, key_id, nonce"
_EXPIRED = f"SELECT {_COLUMNS} FROM used_nonces WHERE kept_until <= {{now}} ORDER BY kept_until"

_SQLITE_RECORD = (
    f"INSERT INTO used_nonces ({_COLUMNS}) SELECT json_extract(value, '$[0]'), "
    "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?) "
    f"WHERE true ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
)
_SQLITE_PRUNE = (
    f"DELETE FROM used_nonces WHERE ({_COLUMNS}) IN ({_EXPIRED.format(now='?')} LIMIT ?)"
)

# PostgreSQL: one statement in its own transaction, one round trip (no BEGIN and COMMIT of
# their own), inserting the batch and, when it is time, deleting expired records ($4 of them;
# records another server is deleting at the moment are skipped, not waited for). The
# recorder's connection commits without waiting for the disk (``synchronous_commit`` off for
# its session, set when it connects: half of a statement's time). That is safe for replays:
# whatever the call then changes commits later, with the disk, and PostgreSQL writes its log
# in order, so the record is on disk before any effect of the call is.
_PG_INSERT = (
    f"INSERT INTO used_nonces ({_COLUMNS}) SELECT * FROM "
    "unnest($1::bigint[], $2::varchar[], $3::varchar[]) "
    f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
)
_PG_RECORD = f"{_PG_INSERT}, 0"
_PG_RECORD_AND_PRUNE = (
    "WITH pruned AS (DELETE FROM used_nonces WHERE "
    f"({_COLUMNS}) IN ({_EXPIRED.format(now='$5')} LIMIT $4 FOR UPDATE SKIP LOCKED) "
    f"RETURNING 1) {_PG_INSERT}, (SELECT count(*) FROM pruned)"
)


_DRIVER_FAILURES = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # e.g. "cannot switch to state 12; another operation is in progress" on a connection the
    # database terminated while it was idle
    asyncpg.InternalClientError,
)


class _RecorderConnection:
    """PostgreSQL: a connection of the nonce recorder's own, held open, one statement at a
    time. Through SQLAlchemy's pool a batch cost ~585 us of the server's CPU (~455 sent to
    the driver as it is, ~340 through an asyncpg pool, which resets each connection it takes
    back); on a connection held open, ~130. With a call a batch, as on two servers at a few
    hundred calls a second each, that is the cost of a call. Like the pool's connections
    (store/engine.py), it is pinged first when it sat idle, so one the database dropped
    meanwhile (a restart) is replaced before use; one that fails in use is closed, its batch
    fails, and the next batch opens another."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Any = None  # asyncpg.Connection
        self._used_at = 0.0
        self._lock = asyncio.Lock()

    async def fetch(self, statement: str, *args: Any) -> list[Any]:
        async with self._lock:
            try:
                conn = await self._connection()
                rows: list[Any] = await conn.fetch(statement, *args)
                self._used_at = time.monotonic()
                return rows
            except _DRIVER_FAILURES as exc:
                await self._drop()
                # the database's own text holds the statement and its values: the log's only
                log.error("recording signature nonces failed: %s", exc)
                raise Unavailable("the database failed; the server log has the details") from exc
            except BaseException:  # cancelled mid-statement: the connection's state is unknown
                await self._drop()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connection(self) -> Any:
        if self._conn is not None and time.monotonic() - self._used_at >= store_engine.PING_IDLE_S:
            try:
                await self._conn.fetchval("SELECT 1")
            except _DRIVER_FAILURES:
                await self._drop()
        if self._conn is None:
            conn = await asyncpg.connect(self._url, timeout=10)
            try:
                await conn.execute("SET synchronous_commit = off")
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=5))


class SqlNonces(SqlBase):
    _nonces_pruned_until = 0
    """The next deletion of expired records waits for this instant (epoch ms)."""
    _nonce_connection: _RecorderConnection | None = None

    async def use_nonces(self, uses: Sequence[NonceUse], now: int) -> list[bool]:
        # In key order, so that servers recording overlapping batches lock rows in one order;
        # a use given twice is sent once, and one expired already is not recorded.
        batch = sorted({use for use in uses if use.kept_until > now})
        if not batch:
            return [False] * len(uses)
        # (a clock set back does not hold deletions back for as long as it went back)
        prune = not 0 < self._nonces_pruned_until - now <= PRUNE_EVERY_MS
        if self.dialect == "postgresql":
            fresh, deleted = await self._record_on_postgresql(batch, now, prune)
        else:
            fresh, deleted = await self._record_on_sqlite(batch, now, prune)
        if prune:
            self._nonces_pruned_until = now if deleted >= PRUNE_MAX else now + PRUNE_EVERY_MS
        answers: list[bool] = []
        for use in uses:
            answers.append(use in fresh)
            fresh.discard(use)  # new the first time only
        return answers

    async def _record_on_sqlite(
        self, batch: list[NonceUse], now: int, prune: bool
    ) -> tuple[set[NonceUse], int]:
        """Delete expired records (when ``prune``) and insert the batch, in one transaction;
        RETURNING names what was new. Statements go to the driver as they are."""
        text = json.dumps([[use.kept_until, use.key_id, use.nonce] for use in batch])

        def run(sync: sa.Connection) -> tuple[Sequence[Any], int]:
            deleted = sync.exec_driver_sql(_SQLITE_PRUNE, (now, PRUNE_MAX)).rowcount if prune else 0
            return sync.exec_driver_sql(_SQLITE_RECORD, (text,)).all(), deleted

        async with self._write() as conn:
            rows, deleted = await conn.run_sync(run)
        return {NonceUse(key_id, nonce, until) for until, key_id, nonce in rows}, deleted

    async def _record_on_postgresql(
        self, batch: list[NonceUse], now: int, prune: bool
    ) -> tuple[set[NonceUse], int]:
        if self._engine is None:
            raise Unavailable("the store is not open")
        if self._nonce_connection is None:
            url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._nonce_connection = _RecorderConnection(url)
        columns = (
            [use.kept_until for use in batch],
            [use.key_id for use in batch],
            [use.nonce for use in batch],
        )
        if prune:
            rows = await self._nonce_connection.fetch(
                _PG_RECORD_AND_PRUNE, *columns, PRUNE_MAX, now
            )
        else:
            rows = await self._nonce_connection.fetch(_PG_RECORD, *columns)
        fresh = {NonceUse(key_id, nonce, until) for until, key_id, nonce, _ in rows}
        # the count comes with each new record; with none new, the next call deletes again
        deleted = (int(rows[0][3]) if rows else PRUNE_MAX) if prune else 0
        return fresh, deleted

    async def close(self) -> None:
        connection, self._nonce_connection = self._nonce_connection, None
        if connection is not None:
            await connection.close()
        await super().close()
