"""The store's record of used signature nonces (``Store.use_nonces``): one transaction per
batch of calls, shared by every server of the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tickwork.store.abc import NonceUse
from tickwork.store.sql_base import SqlBase
from tickwork.store.tables import used_nonces

__all__ = ["PRUNE_EXTRA", "SqlNonces"]

PRUNE_EXTRA = 64
"""Expired records deleted by a call beyond twice the number it records: the deletions keep
pace with the calls (the table holds about one window of them) and never hold the database,
or on SQLite the event loop, for long. Without calls nothing is deleted, nor needed."""


class SqlNonces(SqlBase):
    async def use_nonces(self, uses: Sequence[NonceUse], now: int) -> list[bool]:
        if not uses:
            return []
        first: dict[tuple[str, str], int] = {}  # pair -> its first place in ``uses``
        for place, use in enumerate(uses):
            first.setdefault((use.key_id, use.nonce), place)
        # In key order, so that servers recording overlapping batches lock rows in one order.
        rows = [
            {"b_key": key_id, "b_nonce": nonce, "b_until": uses[place].kept_until, "b_now": now}
            for (key_id, nonce), place in sorted(first.items())
        ]
        prune = self._statement("nonces.prune", _prune_statement)
        record = self._statement(("nonces.record", self.dialect), self._record_statement)
        async with self._write() as conn:
            await conn.execute(prune, {"b_now": now, "b_most": 2 * len(rows) + PRUNE_EXTRA})
            fresh = {(row[0], row[1]) for row in await conn.execute(record, rows)}
        return [
            first[(use.key_id, use.nonce)] == place and (use.key_id, use.nonce) in fresh
            for place, use in enumerate(uses)
        ]

    def _record_statement(self) -> Any:
        """Insert each pair; a stored one is taken over only when its record has expired.
        RETURNING names the pairs that were new (inserted or taken over), on both databases,
        so one statement both records and answers."""
        insert = self._insert(used_nonces).values(
            key_id=sa.bindparam("b_key"),
            nonce=sa.bindparam("b_nonce"),
            kept_until=sa.bindparam("b_until"),
        )
        return insert.on_conflict_do_update(
            index_elements=[used_nonces.c.key_id, used_nonces.c.nonce],
            set_={"kept_until": insert.excluded.kept_until},
            where=used_nonces.c.kept_until <= sa.bindparam("b_now"),
        ).returning(used_nonces.c.key_id, used_nonces.c.nonce)


def _prune_statement() -> sa.Delete:
    """Delete at most ``b_most`` records expired at ``b_now``, oldest first; on PostgreSQL
    those another server is deleting at the moment are skipped, not waited for."""
    expired = (
        sa.select(used_nonces.c.key_id, used_nonces.c.nonce)
        .where(used_nonces.c.kept_until <= sa.bindparam("b_now"))
        .order_by(used_nonces.c.kept_until)
        .limit(sa.bindparam("b_most", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    return sa.delete(used_nonces).where(
        sa.tuple_(used_nonces.c.key_id, used_nonces.c.nonce).in_(expired)
    )
