"""The store's record of signed calls accepted (``Store.use_nonces``): one transaction per
batch of calls, shared by every server of the database.

A batch is one statement whatever its size, written per database: it goes in as one JSON
text (SQLite ``json_each``, sent straight to the driver) or three arrays (PostgreSQL
``unnest``), so neither SQLAlchemy nor the driver handles a parameter per call. Expired
records are deleted along the way, at most every ``PRUNE_EVERY_MS`` and ``PRUNE_MAX`` at a
time: a statement per batch cost about a fifth of the batch on SQLite, where it runs on the
event loop's thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from tickwork.store.abc import NonceUse
from tickwork.store.sql_base import SqlBase

__all__ = ["PRUNE_EVERY_MS", "PRUNE_MAX", "SqlNonces"]

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

_PG_RECORD = sa.text(
    f"INSERT INTO used_nonces ({_COLUMNS}) SELECT * FROM unnest(:untils, :keys, :nonces) "
    f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
).bindparams(
    sa.bindparam("untils", type_=postgresql.ARRAY(sa.BigInteger())),
    sa.bindparam("keys", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("nonces", type_=postgresql.ARRAY(sa.String())),
)
# records another server is deleting at the moment are skipped, not waited for
_PG_PRUNE = sa.text(
    f"DELETE FROM used_nonces WHERE ({_COLUMNS}) IN "
    f"({_EXPIRED.format(now=':now')} LIMIT :most FOR UPDATE SKIP LOCKED)"
)


class SqlNonces(SqlBase):
    _nonces_pruned_until = 0
    """The next deletion of expired records waits for this instant (epoch ms)."""

    async def use_nonces(self, uses: Sequence[NonceUse], now: int) -> list[bool]:
        if not uses:
            return []
        # In key order, so that servers recording overlapping batches lock rows in one order;
        # a use given twice is sent once.
        batch = sorted(set(uses))
        # (a clock set back does not hold deletions back for as long as it went back)
        prune = not 0 < self._nonces_pruned_until - now <= PRUNE_EVERY_MS
        async with self._write() as conn:
            deleted = await self._delete_expired(conn, now) if prune else 0
            fresh = await self._record(conn, batch)
        if prune:
            self._nonces_pruned_until = now if deleted >= PRUNE_MAX else now + PRUNE_EVERY_MS
        answers: list[bool] = []
        for use in uses:
            answers.append(use in fresh)
            fresh.discard(use)  # new the first time only
        return answers

    async def _record(self, conn: AsyncConnection, batch: list[NonceUse]) -> set[NonceUse]:
        """Insert the batch; RETURNING names what was new: one statement records and
        answers."""
        rows: Sequence[Any]
        if self.dialect == "postgresql":
            params = {
                "untils": [use.kept_until for use in batch],
                "keys": [use.key_id for use in batch],
                "nonces": [use.nonce for use in batch],
            }
            rows = (await conn.execute(_PG_RECORD, params)).all()
        else:
            text = json.dumps([[use.kept_until, use.key_id, use.nonce] for use in batch])
            rows = await conn.run_sync(
                lambda sync: sync.exec_driver_sql(_SQLITE_RECORD, (text,)).all()
            )
        return {NonceUse(key_id, nonce, until) for until, key_id, nonce in rows}

    async def _delete_expired(self, conn: AsyncConnection, now: int) -> int:
        """Delete at most ``PRUNE_MAX`` records expired at ``now``, the oldest first."""
        if self.dialect == "postgresql":
            result = await conn.execute(_PG_PRUNE, {"now": now, "most": PRUNE_MAX})
            return int(result.rowcount)
        deleted: int = await conn.run_sync(
            lambda sync: sync.exec_driver_sql(_SQLITE_PRUNE, (now, PRUNE_MAX)).rowcount
        )
        return deleted
