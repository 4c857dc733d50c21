"""A graceful stop between two servers on one PostgreSQL (issue 21): the stopping one refuses
new runs and hands its planned fires to the other at once, which fires each on time; what it
still owns when its row goes is adopted at once; nothing is skipped."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa
from runtime_support import shell_job, wait_for

from tickwork.domain.enums import FINAL_STATUSES, InstanceStatus, TimeType
from tickwork.domain.errors import ServerStopping
from tickwork.engine.run_state import RunState
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM
from tickwork.settings import Settings
from tickwork.store.sql import SqlStore
from tickwork.store.tables import instances

pytestmark = pytest.mark.postgres


async def unfinished_of(store: SqlStore, owner: str) -> list[int]:
    final = [int(s) for s in FINAL_STATUSES]
    async with store.engine.begin() as conn:
        found = await conn.execute(
            sa.select(instances.c.id).where(
                instances.c.owner == owner, instances.c.status.not_in(final)
            )
        )
        return sorted(int(i) for i in found.scalars())


async def test_a_stopping_server_hands_its_planned_fires_over_at_once(settings: Settings) -> None:
    if not settings.database_url:
        pytest.skip("SQLite has one server")
    common = replace(settings, lookahead_ms=3000, heartbeat_s=0.2, lease_s=2.0)
    first = await Runtime.start(common)
    second = await Runtime.start(replace(common, home=f"{settings.home}-second"))
    stopped: list[Runtime] = []
    try:
        job = await first.services.jobs.create(
            SYSTEM, shell_job("true", TimeType.CRON, "* * * * * ?", name="tick")
        )

        async def holder() -> Runtime | None:
            return next((rt for rt in (first, second) if rt.engine.runs.planned_count()), None)

        stopping = await wait_for(holder, within=10)
        other = second if stopping is first else first
        await asyncio.sleep((1.2 - time.time() % 1) % 1)  # early in a second: none due for 0.8 s
        store = other.store
        assert isinstance(store, SqlStore)
        planned = await unfinished_of(store, stopping.engine.server_id)
        assert planned

        stopping.begin_stop()
        with pytest.raises(ServerStopping):
            await stopping.services.jobs.trigger(SYSTEM, job.id)

        async def taken_up() -> bool:
            states = [other.engine.runs.state_of(i) for i in planned]
            return all(s is RunState.PLANNED for s in states)

        await wait_for(taken_up, within=0.5, interval=0.01)  # at once, before any is due
        await stopping.stop()
        stopped.append(stopping)
        assert await unfinished_of(store, stopping.engine.server_id) == []

        async def all_ran() -> bool:
            found = await other.store.get_instances(planned)
            return all(InstanceStatus(i.status).is_final for i in found)

        await wait_for(all_ran, within=6)
        for fired in await other.store.get_instances(planned):
            assert fired.status == InstanceStatus.SUCCESS
            assert fired.owner == other.engine.server_id
            assert fired.start_time is not None
            assert fired.start_time - fired.schedule_time < 500  # on time, not adopted late
    finally:
        for rt in (second, first):
            if rt not in stopped:
                await rt.stop()
