"""Instances: read them and their logs, stop, rerun, set success.

Rights (service/rights.py), on the instance's own group: read to see it and its log, run to
stop, rerun, retry or set it successful. An instance of a group the caller cannot see
answers as if it did not exist."""

from __future__ import annotations

from tickwork.domain.enums import InstanceStatus, Right, TriggerType
from tickwork.domain.errors import InstanceNotFound, InvalidParameter, InvalidState
from tickwork.domain.models import Instance, LogLine, Page
from tickwork.domain.queries import InstanceFilter, LogQuery
from tickwork.engine.engine import Engine
from tickwork.service.jobs import JobService
from tickwork.service.pages import check_page
from tickwork.service.rights import Caller, require, restrict_to_readable
from tickwork.store.abc import Store

LOG_LIMIT = 10_000


class InstanceService:
    def __init__(self, store: Store, engine: Engine, jobs: JobService) -> None:
        self._store = store
        self._engine = engine
        self._jobs = jobs

    async def get(
        self,
        caller: Caller,
        instance_id: int,
        job_id: int | None = None,
        *,
        right: Right = Right.READ,
    ) -> Instance:
        """The instance (of that job, when given), for a caller holding ``right`` on its
        group."""
        await self._engine.flush()
        instance = await self._store.get_instance(instance_id)
        if (
            instance is None
            or (job_id is not None and instance.job_id != job_id)
            or caller.right_on(instance.namespace, instance.group_id) is None
        ):
            raise InstanceNotFound(f"instance {instance_id} does not exist", field="instance_id")
        require(caller, right, instance.namespace, instance.group_id)
        return instance

    async def find(self, caller: Caller, flt: InstanceFilter) -> Page[Instance]:
        """A page of the instances the filter matches, among those the caller may read."""
        restrict_to_readable(caller, flt)
        check_page(flt.page, flt.page_size)
        if (
            flt.schedule_from is not None
            and flt.schedule_to is not None
            and flt.schedule_to < flt.schedule_from
        ):
            raise InvalidParameter("the end of the time range is before its start", field="to")
        await self._engine.flush()
        return await self._store.list_instances(flt)

    async def logs(self, caller: Caller, query: LogQuery) -> tuple[list[LogLine], int]:
        """The lines asked for, and how many lines the instance has in all."""
        if query.offset < 0:
            raise InvalidParameter("offset must be >= 0", field="offset")
        if not 1 <= query.limit <= LOG_LIMIT:
            raise InvalidParameter(f"limit must be in 1..{LOG_LIMIT}", field="limit")
        await self.get(caller, query.instance_id)
        lines = await self._store.read_logs(query)
        return lines, await self._store.count_logs(query.instance_id)

    async def stop(self, caller: Caller, instance_id: int) -> Instance:
        instance = await self.get(caller, instance_id, right=Right.RUN)
        await self._engine.stop_instance(instance, caller.key_id)
        return await self.get(caller, instance_id)

    async def rerun(self, caller: Caller, instance_id: int) -> Instance:
        """Run a finished instance again: a new instance of the job, trigger type manual
        rerun, with the original's schedule time, data time and instance parameters."""
        original = await self.get(caller, instance_id, right=Right.RUN)
        status = InstanceStatus(original.status)
        if not status.is_final:
            raise InvalidState(
                f"instance {instance_id} is {status.name.lower()}; only a finished instance "
                "can be rerun",
                field="instance_id",
            )
        instance, _ = await self._jobs.trigger(
            caller,
            original.job_id,
            instance_parameters=original.instance_parameters,
            trigger_type=TriggerType.MANUAL_RERUN,
            schedule_time=original.schedule_time,
        )
        return instance

    async def set_success(self, caller: Caller, instance_id: int) -> Instance:
        instance = await self.get(caller, instance_id, right=Right.RUN)
        await self._engine.set_success(instance, caller.key_id)
        return await self.get(caller, instance_id)

    async def retry(self, caller: Caller, instance_id: int, job_id: int | None = None) -> Instance:
        """Run an unsuccessful finished instance again: the same instance, attempt + 1, now
        (as an automatic retry does, with the job's current definition)."""
        instance = await self.get(caller, instance_id, job_id, right=Right.RUN)
        status = InstanceStatus(instance.status)
        if not status.is_final or status == InstanceStatus.SUCCESS:
            raise InvalidState(
                f"instance {instance_id} is {status.name.lower()}; only a finished, "
                "unsuccessful instance can be retried",
                field="instance_id",
            )
        job = await self._jobs.get(caller, instance.job_id, right=Right.RUN)
        await self._engine.retry_instance(instance, job, caller.key_id)
        return await self.get(caller, instance_id)

    async def logs_between(
        self, caller: Caller, query: LogQuery, time_from: int | None, time_to: int | None
    ) -> list[LogLine]:
        """Like ``logs``, keeping only lines written in [time_from, time_to] (ms, both
        included; None: no bound) before offset and limit apply."""
        if time_from is None and time_to is None:
            return (await self.logs(caller, query))[0]
        whole = LogQuery(
            instance_id=query.instance_id,
            offset=0,
            limit=LOG_LIMIT,
            keyword=query.keyword,
            reverse=query.reverse,
        )
        if query.offset < 0:
            raise InvalidParameter("offset must be >= 0", field="offset")
        if not 1 <= query.limit <= LOG_LIMIT:
            raise InvalidParameter(f"limit must be in 1..{LOG_LIMIT}", field="limit")
        lines, _ = await self.logs(caller, whole)
        kept = [
            line
            for line in lines
            if (time_from is None or line.time >= time_from)
            and (time_to is None or line.time <= time_to)
        ]
        return kept[query.offset : query.offset + query.limit]
