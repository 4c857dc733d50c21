"""The store's record of signed calls accepted (``Store.use_nonces``): one transaction per
batch of calls, shared by every server of the database.

A batch is one statement whatever its size, written per database: it goes in as one JSON
text (SQLite ``json_each``, sent straight to the driver) or three arrays (PostgreSQL
``unnest``), so neither SQLAlchemy nor the driver handles a parameter per call. Expired
records are deleted along the way, at most every ``PRUNE_EVERY_MS`` and ``PRUNE_MAX`` at a
time: a statement per batch cost about a fifth of the batch on SQLite, where it runs on the
event loop's thread. On PostgreSQL deleting and inserting are one statement in a
transaction of its own (below).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tickwork.domain.errors import Unavailable
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

# PostgreSQL: one statement in its own transaction, one round trip (no BEGIN and COMMIT of
# their own), deleting expired records (``most`` of them, 0 for none; records another server
# is deleting at the moment are skipped, not waited for) and inserting the batch, and it
# commits without waiting for the disk (``synchronous_commit`` off for this transaction: half
# of its time). That is safe for replays: whatever the call then changes commits later, with
# the disk, and PostgreSQL writes its log in order, so the record is on disk before any
# effect of the call is.
_PG_RECORD = sa.text(
    "WITH unsynced AS (SELECT set_config('synchronous_commit', 'off', true)), "
    "pruned AS (DELETE FROM used_nonces WHERE "
    f"({_COLUMNS}) IN ({_EXPIRED.format(now=':now')} LIMIT :most FOR UPDATE SKIP LOCKED) "
    "RETURNING 1) "
    f"INSERT INTO used_nonces ({_COLUMNS}) SELECT batch.* FROM "
    "unnest(:untils, :keys, :nonces) AS batch, unsynced "
    f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}, (SELECT count(*) FROM pruned)"
).bindparams(
    sa.bindparam("untils", type_=postgresql.ARRAY(sa.BigInteger())),
    sa.bindparam("keys", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("nonces", type_=postgresql.ARRAY(sa.String())),
)


class SqlNonces(SqlBase):
    _nonces_pruned_until = 0
    """The next deletion of expired records waits for this instant (epoch ms)."""

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
        params = {
            "now": now,
            "most": PRUNE_MAX if prune else 0,
            "untils": [use.kept_until for use in batch],
            "keys": [use.key_id for use in batch],
            "nonces": [use.nonce for use in batch],
        }
        try:
            async with self.engine.connect() as conn:
                alone = await conn.execution_options(isolation_level="AUTOCOMMIT")
                rows = (await alone.execute(_PG_RECORD, params)).all()
        except (sa.exc.DBAPIError, OSError) as exc:
            raise Unavailable(f"the database failed: {exc}") from exc
        fresh = {NonceUse(key_id, nonce, until) for until, key_id, nonce, _ in rows}
        # the count comes with each new record; with none new, the next call deletes again
        deleted = int(rows[0][3]) if rows else PRUNE_MAX
        return fresh, deleted
