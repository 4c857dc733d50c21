"""Counts of runs over time, for the overview's time series (service/overview.py)."""

from __future__ import annotations

import sqlalchemy as sa

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.queries import InstanceFilter
from tickwork.store.abc import RunCount
from tickwork.store.sql_base import SqlBase
from tickwork.store.sql_runs import instance_where
from tickwork.store.tables import instances

__all__ = ["SqlMetrics"]


class SqlMetrics(SqlBase):
    async def count_runs(self, flt: InstanceFilter, step_ms: int) -> list[RunCount]:
        if flt.schedule_from is None or step_ms <= 0:
            raise ValueError("count_runs needs flt.schedule_from and a positive step")
        c = instances.c
        # Integer division on both databases (SQLAlchemy renders // as such); schedule_time
        # >= schedule_from, so the interval number is never negative.
        interval = ((c.schedule_time - flt.schedule_from) // step_ms).label("interval")
        stmt = (
            sa.select(interval, c.status, sa.func.count().label("n"))
            .where(*instance_where(flt))
            .group_by(interval, c.status)
            .order_by(interval, c.status)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            RunCount(flt.schedule_from + int(i) * step_ms, InstanceStatus(int(s)), int(n))
            for i, s, n in rows
        ]
