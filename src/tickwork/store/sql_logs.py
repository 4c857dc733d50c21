"""Log lines of ``SqlStore``: appended in batches by the writer, read by page."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tickwork.domain.models import LogLine
from tickwork.domain.queries import LogQuery
from tickwork.store import codec
from tickwork.store.sql_base import SqlBase, check_not_negative
from tickwork.store.tables import instances, logs

__all__ = ["SqlLogs"]


class SqlLogs(SqlBase):
    """Log methods of the store."""

    async def append_logs(self, lines: Sequence[LogLine]) -> None:
        """Store the lines in order; lines of instances that no longer exist are dropped."""
        if not lines:
            return
        async with self._write() as conn:
            live = await self._existing_ids(conn, instances.c.id, [x.instance_id for x in lines])
            rows = [codec.log_row(x) for x in lines if x.instance_id in live]
            if rows:
                await conn.execute(sa.insert(logs), rows)

    async def read_logs(self, query: LogQuery) -> list[LogLine]:
        check_not_negative(query.offset, "offset")
        check_not_negative(query.limit, "limit")
        stmt = sa.select(logs).where(logs.c.instance_id == query.instance_id)
        if query.keyword:
            stmt = stmt.where(self._contains(logs.c.line, query.keyword))
        order = logs.c.seq.desc() if query.reverse else logs.c.seq.asc()
        stmt = stmt.order_by(order).offset(query.offset).limit(query.limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.log_from(r) for r in rows]

    async def count_logs(self, instance_id: int) -> int:
        stmt = sa.select(sa.func.count()).select_from(logs).where(logs.c.instance_id == instance_id)
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())
