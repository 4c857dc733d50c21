"""Jobs: create, change, enable, disable, delete, trigger."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tickwork.domain.enums import JobStatus, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter, JobDisabled, JobNotFound
from tickwork.domain.models import Instance, Job, Page
from tickwork.engine.clock import now_ms
from tickwork.engine.engine import Engine
from tickwork.service.namespaces import NamespaceService
from tickwork.service.validation import validate_job
from tickwork.store.abc import JobFilter, Store

# Fields a caller may change with update(); the rest belong to the server.
UPDATABLE = frozenset(f.name for f in dataclasses.fields(Job)) - {
    "id",
    "namespace",
    "group_id",
    "next_fire_time",
    "created_at",
    "updated_at",
}

PARAMETERS_LIMIT = 10_000


class JobService:
    def __init__(self, store: Store, engine: Engine, namespaces: NamespaceService) -> None:
        self._store = store
        self._engine = engine
        self._namespaces = namespaces

    async def create(self, job: Job) -> Job:
        await self._namespaces.get_group(job.namespace, job.group_id)
        validate_job(job)
        await self._check_calendar(job)
        async with self._engine.planning:
            now = now_ms()
            job.id = 0
            job.created_at = job.updated_at = now
            job.next_fire_time = await self._engine.first_fire(job, now)
            self._refuse_past_one_time(job, now)
            stored = await self._store.create_job(job)
            await self._engine.job_changed(stored, schedule_changed=False)
        return stored

    async def get(
        self, job_id: int, namespace: str | None = None, group_id: str | None = None
    ) -> Job:
        job = await self._store.get_job(job_id)
        if job is None or (namespace is not None and job.namespace != namespace):
            raise JobNotFound(f"job {job_id} does not exist", field="job_id")
        if group_id is not None and job.group_id != group_id:
            raise JobNotFound(f"jobid: {job_id} not match groupId: {group_id}", field="group_id")
        return job

    async def find(self, flt: JobFilter) -> Page[Job]:
        if flt.page < 1:
            raise InvalidParameter("page starts at 1", field="page")
        if not 1 <= flt.page_size <= 1000:
            raise InvalidParameter("page_size must be in 1..1000", field="page_size")
        return await self._store.list_jobs(flt)

    async def update(self, job_id: int, changes: Mapping[str, Any]) -> Job:
        job = await self.get(job_id)
        unknown = set(changes) - UPDATABLE
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidParameter(f"{name} cannot be changed", field=name)
        timing_changed = any(
            k in changes
            for k in (
                "time_type",
                "time_expression",
                "timezone",
                "calendar",
                "start_time",
                "end_time",
                "status",
            )
        )
        updated = dataclasses.replace(job, **dict(changes))
        validate_job(updated)
        await self._check_calendar(updated)
        return await self._save(updated, reschedule=timing_changed)

    async def set_enabled(self, job_id: int, enabled: bool) -> Job:
        job = await self.get(job_id)
        wanted = JobStatus.ENABLED if enabled else JobStatus.DISABLED
        if job.status == wanted:
            return job
        job.status = wanted
        return await self._save(job, reschedule=True)

    async def delete(self, job_id: int) -> None:
        await self.get(job_id)
        async with self._engine.planning:
            self._engine.job_deleted(job_id)
            await self._engine.flush()
            await self._store.delete_job(job_id)

    async def trigger(
        self,
        job_id: int,
        *,
        instance_parameters: str = "",
        idempotency_key: str | None = None,
        check_job_status: bool = False,
        executor: str = "",
        trigger_type: TriggerType = TriggerType.API,
        schedule_time: int | None = None,
        namespace: str | None = None,
        group_id: str | None = None,
    ) -> tuple[Instance, bool]:
        """Run the job once now. Returns (instance, created)."""
        job = await self.get(job_id, namespace, group_id)
        if check_job_status and not job.enabled:
            raise JobDisabled(f"job {job_id} is disabled", field="job_id")
        if len(instance_parameters) > PARAMETERS_LIMIT:
            raise InvalidParameter(
                f"instance_parameters is longer than {PARAMETERS_LIMIT} characters",
                field="instance_parameters",
            )
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise InvalidParameter(
                "idempotency_key must be 1..200 characters", field="idempotency_key"
            )
        return await self._engine.trigger(
            job,
            trigger_type=trigger_type,
            instance_parameters=instance_parameters,
            idempotency_key=idempotency_key,
            executor=executor,
            schedule_time=schedule_time,
        )

    # -- internals ---------------------------------------------------------------------------
    async def _save(self, job: Job, *, reschedule: bool) -> Job:
        async with self._engine.planning:
            now = now_ms()
            job.updated_at = max(now, job.updated_at + 1)
            if reschedule:
                job.next_fire_time = await self._engine.first_fire(job, now)
                if (
                    job.time_type == TimeType.ONE_TIME
                    and job.next_fire_time is not None
                    and job.next_fire_time < now
                ):
                    job.next_fire_time = None  # its time has passed: it will not fire itself
            else:
                current = await self._store.get_job(job.id)  # planning may have moved it on
                if current is not None:
                    job.next_fire_time = current.next_fire_time
            stored = await self._store.update_job(job)
            await self._engine.job_changed(stored, schedule_changed=reschedule)
        return stored

    async def _check_calendar(self, job: Job) -> None:
        if not job.calendar:
            return
        years = [
            c for c in await self._store.list_calendars(job.namespace) if c.name == job.calendar
        ]
        if not years:
            raise InvalidParameter(
                f"calendar {job.calendar!r} does not exist in namespace {job.namespace!r}",
                field="calendar",
            )

    @staticmethod
    def _refuse_past_one_time(job: Job, now: int) -> None:
        if job.time_type == TimeType.ONE_TIME and job.enabled and job.next_fire_time is not None:
            if job.next_fire_time < now:
                raise InvalidParameter(
                    f"time_expression {job.time_expression!r} is in the past; a one_time job "
                    "must fire in the future (use a run to start it now)",
                    field="time_expression",
                )
