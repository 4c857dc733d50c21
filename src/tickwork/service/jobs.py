"""Jobs: create, change, enable, disable, delete, trigger.

Rights (service/rights.py), checked on the group of the job itself: read to see a job, run
to start runs of it, edit to change it. A job in a group the caller cannot see answers as
if it did not exist."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tickwork.clock import now_ms
from tickwork.domain.enums import TRIGGERED_ONLY, JobStatus, JobType, Right, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter, JobDisabled, JobNotFound
from tickwork.domain.job_types import is_processor_job
from tickwork.domain.limits import SEARCH_TEXT_MAX
from tickwork.domain.models import (
    DESIGNATE_LABELS,
    DESIGNATE_WORKERS,
    Designation,
    Instance,
    Job,
    JobScriptVersion,
    Page,
    RouteStrategy,
)
from tickwork.domain.queries import JobFilter
from tickwork.engine.engine import Engine
from tickwork.engine.schedules import calendar_years
from tickwork.service.namespaces import NamespaceService
from tickwork.service.pages import check_page
from tickwork.service.rights import Caller, require, restrict_to_readable
from tickwork.service.validation import (
    check_route_strategy,
    refuse_past_one_time,
    validate_job,
)
from tickwork.store.abc import Store
from tickwork.timing import fire_times
from tickwork.timing.zones import MS_PER_DAY, zone_rules

# Fields a caller may change with update(); the rest belong to the server.
UPDATABLE = frozenset(f.name for f in dataclasses.fields(Job)) - {
    "id",
    "namespace",
    "group_id",
    "next_fire_time",
    "schedule_error",
    "created_at",
    "updated_at",
}

PARAMETERS_LIMIT = 10_000
BACKFILL_LIMIT = 1000


class JobService:
    def __init__(self, store: Store, engine: Engine, namespaces: NamespaceService) -> None:
        self._store = store
        self._engine = engine
        self._namespaces = namespaces

    async def create(self, caller: Caller, job: Job) -> Job:
        require(caller, Right.EDIT, job.namespace, job.group_id)
        await self._namespaces.stored_group(job.namespace, job.group_id)
        validate_job(job)
        await self._check_calendar(job)
        now = now_ms()
        job.id = 0
        job.created_at = job.updated_at = now
        job.schedule_error = None
        job.next_fire_time = await self._engine.first_fire(job, now)
        refuse_past_one_time(job, now)
        stored = await self._store.create_job(job)
        self._engine.job_created(stored)
        return stored

    async def get(
        self,
        caller: Caller,
        job_id: int,
        namespace: str | None = None,
        group_id: str | None = None,
        *,
        right: Right = Right.READ,
    ) -> Job:
        """The job, which must be of the namespace and group when they are given (asked of
        the caller first), for a caller holding ``right`` on its group."""
        if namespace is not None and group_id is not None:
            require(caller, Right.READ, namespace, group_id)
        job = self._checked(await self._store.get_job(job_id), job_id, namespace, group_id)
        return self._allowed(caller, job, right)

    @staticmethod
    def _checked(job: Job | None, job_id: int, namespace: str | None, group_id: str | None) -> Job:
        if job is None or (namespace is not None and job.namespace != namespace):
            raise JobNotFound(f"job {job_id} does not exist", field="job_id")
        if group_id is not None and job.group_id != group_id:
            raise JobNotFound(f"jobid: {job_id} not match groupId: {group_id}", field="group_id")
        return job

    @staticmethod
    def _allowed(caller: Caller, job: Job, right: Right) -> Job:
        """The job if the caller holds ``right`` on its group; not found when it holds none
        there (the job's existence is not the caller's to learn), Forbidden when less."""
        if caller.right_on(job.namespace, job.group_id) is None:
            raise JobNotFound(f"job {job.id} does not exist", field="job_id")
        require(caller, right, job.namespace, job.group_id)
        return job

    async def job_for_trigger(
        self,
        caller: Caller,
        job_id: int,
        namespace: str | None = None,
        group_id: str | None = None,
        *,
        right: Right = Right.READ,
    ) -> Job:
        """The job, as ``get`` gives it, from the engine's job registry: read again only
        when it changed (or after a few seconds; engine/job_registry.py), so that starting a
        run costs no read per call."""
        if namespace is not None and group_id is not None:
            require(caller, Right.READ, namespace, group_id)
        job = await self._engine.job_for_trigger(job_id)
        return self._allowed(caller, self._checked(job, job_id, namespace, group_id), right)

    async def find(self, caller: Caller, flt: JobFilter) -> Page[Job]:
        """A page of the jobs the filter matches, among those the caller may read."""
        restrict_to_readable(caller, flt)
        check_page(flt.page, flt.page_size)
        if flt.name_contains is not None and len(flt.name_contains) > SEARCH_TEXT_MAX:
            raise InvalidParameter(
                f"name is longer than {SEARCH_TEXT_MAX} characters, longer than any job's name",
                field="name",
            )
        return await self._store.list_jobs(flt)

    async def update(self, caller: Caller, job_id: int, changes: Mapping[str, Any]) -> Job:
        job = await self.get(caller, job_id, right=Right.EDIT)
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

    async def set_enabled(self, caller: Caller, job_id: int, enabled: bool) -> Job:
        job = await self.get(caller, job_id, right=Right.EDIT)
        wanted = JobStatus.ENABLED if enabled else JobStatus.DISABLED
        if job.status == wanted and not (enabled and job.schedule_error is not None):
            return job  # (enabling a job marked with a schedule error computes it again)
        job.status = wanted
        return await self._save(job, reschedule=True)

    async def delete(self, caller: Caller, job_id: int) -> None:
        await self.get(caller, job_id, right=Right.EDIT)
        await self._engine.delete_job(job_id)

    async def delete_group_jobs(self, caller: Caller, namespace: str, group_id: str) -> int:
        """Delete every job of an app group (before the group itself); how many were. Asks
        for the right to delete the group, so that a caller who may not does not lose the
        jobs and keep the group."""
        require(caller, Right.MANAGE, namespace, group_id)
        await self._namespaces.stored_group(namespace, group_id)
        deleted = 0
        while True:
            page = await self.find(
                caller, JobFilter(namespace=namespace, group_id=group_id, page=1, page_size=1000)
            )
            if not page.items:
                return deleted
            for job in page.items:
                await self.delete(caller, job.id)
                deleted += 1

    async def trigger(
        self,
        caller: Caller,
        job_id: int,
        *,
        instance_parameters: str = "",
        idempotency_key: str | None = None,
        check_job_status: bool = False,
        trigger_type: TriggerType = TriggerType.API,
        schedule_time: int | None = None,
        namespace: str | None = None,
        group_id: str | None = None,
        designation: Designation | None = None,
    ) -> tuple[Instance, bool]:
        """Run the job once now (the caller's key id is its executor). Returns (instance,
        created)."""
        job = await self.job_for_trigger(caller, job_id, namespace, group_id, right=Right.RUN)
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
            executor=caller.key_id,
            schedule_time=schedule_time,
            designation=designation,
        )

    async def update_script(
        self,
        caller: Caller,
        job_id: int,
        content: str,
        *,
        description: str = "",
        namespace: str | None = None,
        group_id: str | None = None,
    ) -> Job:
        """Replace a script job's content and keep the new version in its script history
        (the caller's key id its creator)."""
        job = await self.get(caller, job_id, namespace, group_id, right=Right.EDIT)
        if job.job_type not in (JobType.SHELL, JobType.PYTHON) or is_processor_job(
            job.job_type, job.content, job.class_name
        ):
            raise InvalidParameter(
                f"job {job_id} is a {job.job_type.value} job, not a script: it has no script "
                "to update",
                field="job_id",
            )
        updated = await self.update(caller, job_id, {"content": content})
        await self._store.add_script_version(
            JobScriptVersion(
                job_id=job_id,
                content=content,
                description=description,
                creator=caller.key_id,
                created_at=now_ms(),
            )
        )
        return updated

    async def script_history(
        self,
        caller: Caller,
        job_id: int,
        namespace: str | None = None,
        group_id: str | None = None,
    ) -> list[JobScriptVersion]:
        """The saved versions of a script job, newest first."""
        await self.get(caller, job_id, namespace, group_id)
        return await self._store.list_script_versions(job_id)

    def run_designation(
        self, job: Job, *, worker: str | None = None, label: str | None = None
    ) -> Designation:
        """The designation of one run to a worker (by address) or a label, refused when no
        live worker of the job's app group answers to it (a run designated this way has no
        fallback: it is not transferable)."""
        live = self._engine.workers_of(job.namespace, job.group_id)
        if worker is not None:
            if worker not in {w.address for w in live}:
                known = ", ".join(repr(w.address) for w in live) or "none"
                raise InvalidParameter(
                    f"worker {worker!r} is not a live worker of app group "
                    f"{job.namespace}/{job.group_id}; live workers: {known}",
                    field="worker",
                )
            return Designation(kind=DESIGNATE_WORKERS, workers=[worker], transferable=False)
        if label is None:
            raise InvalidParameter("a worker or a label is needed", field="worker")
        carried = sorted({x for w in live for x in w.labels})
        if label not in carried:
            raise InvalidParameter(
                f"no live worker of app group {job.namespace}/{job.group_id} carries label "
                f"{label!r} (labels carried: {', '.join(carried) or 'none'})",
                field="label",
            )
        return Designation(kind=DESIGNATE_LABELS, labels=[label], transferable=False)

    async def backfill(
        self,
        caller: Caller,
        job_id: int,
        start_ms: int,
        end_ms: int,
        *,
        time_of_day_ms: int | None = None,
        namespace: str | None = None,
        group_id: str | None = None,
        limit: int = BACKFILL_LIMIT,
    ) -> list[Instance]:
        """Run the job once for every fire of its schedule in [start_ms, end_ms] (both
        included; fires after now are left out), each a new instance with trigger type
        backfill and the fire as its schedule time (so its data time is the fire's).

        Jobs whose schedule cannot be enumerated ahead (api, second_delay) run once a day
        instead, at ``time_of_day_ms`` after midnight in the job's time zone. More than
        ``limit`` fires are refused, and nothing is started."""
        job = await self.get(caller, job_id, namespace, group_id, right=Right.RUN)
        if end_ms < start_ms:
            raise InvalidParameter(
                f"end_date {end_ms} is before start_date {start_ms}", field="end_date"
            )
        end_ms = min(end_ms, now_ms())
        fires: list[int] = []
        if job.time_type in TRIGGERED_ONLY or job.time_type == TimeType.SECOND_DELAY:
            if time_of_day_ms is None:
                raise InvalidParameter(
                    "data_time (HH:mm:ss) is needed to backfill a job without a schedule of "
                    "fixed instants (api or second_delay): it runs once a day at that time",
                    field="data_time",
                )
            rules = zone_rules(job.timezone)
            day = (start_ms + rules.offset_at(start_ms)) // MS_PER_DAY
            last_day = (end_ms + rules.offset_at(end_ms)) // MS_PER_DAY
            while day <= last_day and len(fires) <= limit:
                fire = rules.wall_to_utc(day * MS_PER_DAY + time_of_day_ms)
                if start_ms <= fire <= end_ms:
                    fires.append(fire)
                day += 1
        else:
            schedule = await self._engine.schedule_of(job)
            after = start_ms - 1
            if job.time_type == TimeType.FIXED_RATE:  # anchored at the start of the range
                after = start_ms - int(job.time_expression.strip()) * 1000
            fires = [f for f in fire_times(schedule, after, limit + 1) if f <= end_ms]
        if len(fires) > limit:
            raise InvalidParameter(
                f"the range holds more than {limit} fires of job {job_id}; backfill at most "
                f"{limit} at once (a shorter range)",
                field="end_date",
            )
        created: list[Instance] = []
        for fire in fires:
            instance, _ = await self._engine.trigger(
                job,
                trigger_type=TriggerType.BACKFILL,
                executor=caller.key_id,
                schedule_time=fire,
            )
            created.append(instance)
        return created

    async def designate(
        self,
        caller: Caller,
        job_id: int,
        designation: Designation | None,
        *,
        namespace: str | None = None,
        group_id: str | None = None,
    ) -> Job:
        """Hold the job's runs to some workers (by address) or labels; None: any worker."""
        await self.get(caller, job_id, namespace, group_id, right=Right.EDIT)
        if designation is not None:
            if designation.kind not in (DESIGNATE_WORKERS, DESIGNATE_LABELS):
                raise InvalidParameter(
                    f"designate type must be {DESIGNATE_WORKERS} (workers) or "
                    f"{DESIGNATE_LABELS} (labels), got {designation.kind}",
                    field="designate_type",
                )
            chosen = (
                designation.workers if designation.kind == DESIGNATE_WORKERS else designation.labels
            )
            what = "workers" if designation.kind == DESIGNATE_WORKERS else "labels"
            if not chosen or any(not item.strip() for item in chosen):
                raise InvalidParameter(f"{what} must be a non-empty list of names", field=what)
        return await self.update(caller, job_id, {"designation": designation})

    async def set_route_strategy(
        self,
        caller: Caller,
        job_id: int,
        strategy: RouteStrategy | None,
        *,
        namespace: str | None = None,
        group_id: str | None = None,
    ) -> Job:
        """Give the job a route strategy (replacing the one it had); None removes it."""
        await self.get(caller, job_id, namespace, group_id, right=Right.EDIT)
        if strategy is not None:
            check_route_strategy(strategy)
        return await self.update(caller, job_id, {"route_strategy": strategy})

    async def copy_jobs(
        self,
        caller: Caller,
        job_ids: list[int],
        *,
        from_namespace: str,
        from_group: str,
        to_namespace: str,
        to_group: str,
    ) -> list[Job]:
        """Copy jobs of one app group into another (new ids; same definitions), all or none
        checked first: every job must belong to the source group, which the caller must
        read, and the caller must edit the target group."""
        if not job_ids:
            raise InvalidParameter("the list of jobs to copy is empty", field="job_ids")
        require(caller, Right.READ, from_namespace, from_group)
        require(caller, Right.EDIT, to_namespace, to_group)
        await self._namespaces.stored_group(to_namespace, to_group)
        sources = [await self.get(caller, job_id, from_namespace, from_group) for job_id in job_ids]
        copies = []
        for source in sources:
            copy = dataclasses.replace(
                source,
                id=0,
                namespace=to_namespace,
                group_id=to_group,
                next_fire_time=None,
                created_at=0,
                updated_at=0,
            )
            copies.append(await self.create(caller, copy))
        return copies

    # -- internals ---------------------------------------------------------------------------
    async def _save(self, job: Job, *, reschedule: bool) -> Job:
        """Store a changed job (the engine computes its next fire under its planning lock)."""
        return await self._engine.save_job(job, reschedule=reschedule)

    async def _check_calendar(self, job: Job) -> None:
        if not job.calendar:
            return
        years = await calendar_years(self._store, job.namespace, job.calendar)
        if not years:
            raise InvalidParameter(
                f"calendar {job.calendar!r} does not exist in namespace {job.namespace!r} "
                "(nor among the shared calendars of the default namespace)",
                field="calendar",
            )
