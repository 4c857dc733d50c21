"""Helpers of the store contract suite (PostgreSQL databases, the connection leak check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickwork.domain.enums import InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.models import AppGroup, Instance, Job, Namespace
from tickwork.store.sql import SqlStore


def checked_out(store: SqlStore) -> int:
    """Connections of the store's pool that are in use."""
    pool: Any = store.engine.sync_engine.pool
    return int(pool.checkedout())


@dataclass
class Seed:
    """Builds the rows most tests need."""

    store: SqlStore
    namespace: str = "ns"
    group_id: str = "grp"

    async def group(self, namespace: str | None = None, group_id: str | None = None) -> None:
        ns = namespace or self.namespace
        if await self.store.get_namespace(ns) is None:
            await self.store.create_namespace(Namespace(id=ns, name=f"name of {ns}"))
        gid = group_id or self.group_id
        if await self.store.get_group(ns, gid) is None:
            await self.store.create_group(AppGroup(namespace=ns, group_id=gid, app_key="key"))

    async def job(self, name: str = "job", **fields: Any) -> Job:
        ns = fields.pop("namespace", self.namespace)
        gid = fields.pop("group_id", self.group_id)
        await self.group(ns, gid)
        job = Job(
            namespace=ns,
            group_id=gid,
            name=name,
            job_type=fields.pop("job_type", JobType.SHELL),
            time_type=fields.pop("time_type", TimeType.CRON),
            **fields,
        )
        return await self.store.create_job(job)

    def fire(self, job: Job, at: int, **fields: Any) -> Instance:
        """A scheduled fire of ``job`` at ``at`` (fire_key = schedule time)."""
        values: dict[str, Any] = {
            "trigger_type": TriggerType.SCHEDULED,
            "time_type": job.time_type,
            "schedule_time": at,
            "fire_key": at,
        }
        values.update(fields)
        return Instance(job_id=job.id, namespace=job.namespace, group_id=job.group_id, **values)

    def api_run(self, job: Job, at: int, **fields: Any) -> Instance:
        """An API-triggered run (no fire_key)."""
        values: dict[str, Any] = {"fire_key": None, "trigger_type": TriggerType.API}
        values.update(fields)
        return self.fire(job, at, **values)

    async def instances(
        self, job: Job, count: int, status: InstanceStatus = InstanceStatus.WAITING
    ) -> list[Instance]:
        fires = [self.fire(job, 1000 + i, status=status) for i in range(count)]
        return await self.store.plan_fires(fires, [])
