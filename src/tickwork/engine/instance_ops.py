"""What callers do to instances: trigger a run, stop one (wherever it runs), set one
successful, retry one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.errors import InvalidState
from tickwork.domain.models import Designation, Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.creator import InstanceCreator
from tickwork.engine.hand_offs import HandOffs
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.peers import OtherServers
from tickwork.engine.runs import RunManager
from tickwork.engine.schedules import check_storable
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store
from tickwork.timing import data_time

__all__ = ["InstanceOps"]

STORED_FINAL_POLL_S = 0.05
"""How often a stop passed to another server looks whether the final status is stored."""


class InstanceOps:
    def __init__(
        self,
        store: Store,
        server_id: str,
        *,
        creator: InstanceCreator,
        runs: RunManager,
        writer: BatchWriter,
        jobs: JobRegistry,
        hand_offs: HandOffs,
        others: OtherServers,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._server_id = server_id
        self._creator = creator
        self._runs = runs
        self._writer = writer
        self._jobs = jobs
        self._hand_offs = hand_offs
        self._others = others
        self._clock = clock

    async def trigger(
        self,
        job: Job,
        *,
        trigger_type: TriggerType = TriggerType.API,
        instance_parameters: str = "",
        idempotency_key: str | None = None,
        executor: str = "",
        schedule_time: int | None = None,
        designation: Designation | None = None,
    ) -> tuple[Instance, bool]:
        """Create an instance and start it now. (instance, False) when the idempotency key
        was seen before (nothing new is started). ``designation`` holds this run to some
        workers."""
        now = self._clock()
        when = now if schedule_time is None else schedule_time
        instance = Instance(
            job_id=job.id,
            namespace=job.namespace,
            group_id=job.group_id,
            trigger_type=trigger_type,
            time_type=job.time_type,
            schedule_time=when,
            data_time=data_time(when, job.data_offset),
            instance_parameters=instance_parameters,
            idempotency_key=idempotency_key,
            executor=executor,
            designation=designation,
        )
        check_storable(job, instance)  # a job stored with a bad data_offset: 409, not 500
        target = self._hand_offs.target(job, designation)
        if target is not None:  # no worker of the group here, but on that server
            instance.owner = target
        else:  # it starts here: stored with its start claim (engine/run_launch.py)
            instance.status = InstanceStatus.READY
        stored, created = await self._creator.create(instance)
        if created and target is not None:
            await self._store.notify_owner(target, [stored.id])
        elif created:
            self._jobs.remember(job)
            self._runs.start_now(stored, job, designation, claimed=True)
        return stored, created

    async def stop(self, instance: Instance, by: str, within: float = 10.0) -> None:
        """Stop an instance and wait (up to ``within`` s) until its run has ended."""
        if self._runs.stop(instance.id, by):
            await self._runs.wait_final(instance.id, within)
            return
        if InstanceStatus(instance.status).is_final:
            raise InvalidState(
                f"instance {instance.id} is already {InstanceStatus(instance.status).name.lower()}",
                field="instance_id",
            )
        owner = instance.owner
        if owner is not None and owner != self._server_id and owner in self._others.alive:
            # a live server runs it: ask that one, and wait for the end it records
            await self._store.notify_stop(owner, instance.id, by)
            await self._wait_stored_final(instance.id, within)
            return
        # Not held by a live server (left over and not yet recovered): finish it as killed.
        self._writer.update(
            InstanceUpdate(
                instance.id,
                status=InstanceStatus.KILLED,
                end_time=self._clock(),
                result=f"stopped by {by}",
            )
        )

    def on_stop_asked(self, payload: str) -> None:
        """Another server was asked to stop an instance this one owns: ``server:instance:by``."""
        server_id, iid, by = (payload.split(":", 2) + ["", ""])[:3]
        if server_id == self._server_id and iid.isdigit():
            self._runs.stop(int(iid), by or "another server")

    async def _wait_stored_final(self, instance_id: int, within: float) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            stored = await self._store.get_instance(instance_id)
            if stored is None or InstanceStatus(stored.status).is_final:
                return
            await asyncio.sleep(STORED_FINAL_POLL_S)

    def set_success(self, instance: Instance, by: str) -> None:
        status = InstanceStatus(instance.status)
        if not status.is_final:
            raise InvalidState(
                f"instance {instance.id} is {status.name.lower()}; stop it before setting it "
                "successful",
                field="instance_id",
            )
        if status == InstanceStatus.SUCCESS:
            return
        now = self._clock()
        self._writer.update(
            InstanceUpdate(
                instance.id,
                status=InstanceStatus.SUCCESS,
                end_time=now,
                result=f"set successful by {by}",
            )
        )
        self._writer.log(
            LogLine(
                instance.id, now, f"[tickwork] set successful by {by}", attempt=instance.attempt
            )
        )

    def retry(self, instance: Instance, job: Job, by: str) -> None:
        """Run a finished, unsuccessful instance again now: the same instance, attempt + 1."""
        if self._runs.holds(instance.id):
            raise InvalidState(
                f"instance {instance.id} is being retried already", field="instance_id"
            )
        self._writer.update(
            InstanceUpdate(instance.id, status=InstanceStatus.WAITING, result=f"retried by {by}")
        )
        self._writer.log(
            LogLine(
                instance.id,
                self._clock(),
                f"[tickwork] retried by {by} (attempt {instance.attempt + 2})",
                attempt=instance.attempt,
            )
        )
        self._jobs.remember(job)
        self._runs.resume_retry(instance, job, 0.0)
