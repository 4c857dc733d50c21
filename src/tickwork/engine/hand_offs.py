"""Hand-offs: instances passed between live servers, to the one whose worker agents can run
them (docs/multi-server.md, "Hand-offs"). One vocabulary:

- **hand off**: give instances this server owns to another live server (``store.hand_off``,
  which notifies it): planned fires of a group whose workers are elsewhere, adopted
  instances of such groups, and runs parked here waiting for a worker (``HandOffs``);
- **take up**: carry on with instances handed to this server, when told
  (``on_notified``) or, for a notification that was lost, found by the look at every lease
  beat (``HandOffInbox``). Either claims the hand-off in the store first
  (``store.take_up_handed`` deletes its row), so the two never both take one up;
- **hand over**: a server that stops gives everything it has not started to the live
  servers at once (``HandOffs.hand_over``);
- **adopt** (recovery.py): take over what a dead server left; not a hand-off.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from tickwork.domain.models import Designation, Instance, Job, WorkerInfo
from tickwork.engine.background import BackgroundTasks
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.peers import OtherServers
from tickwork.engine.routing import designation_allows, runs_type
from tickwork.engine.run_state import Run
from tickwork.engine.runs import RunManager
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store
from tickwork.worker.abc import RunRequest

log = logging.getLogger(__name__)

__all__ = ["HandOffInbox", "HandOffs", "WorkersHere"]


class WorkersHere(Protocol):
    """What hand-offs ask of this server's workers (the engine's ``RoutingWorker``)."""

    def serves(self, namespace: str, group_id: str) -> bool: ...

    def workers_of(self, namespace: str, group_id: str) -> list[WorkerInfo]: ...

    def parked(self) -> list[RunRequest]: ...

    def take_parked(self, instance_ids: list[int]) -> list[RunRequest]: ...

    def submit(self, request: RunRequest) -> None: ...


class HandOffs:
    """Which server should run an instance, and giving instances to it."""

    def __init__(
        self,
        store: Store,
        *,
        workers: WorkersHere,
        others: OtherServers,
        jobs: JobRegistry,
        runs: RunManager,
        writer: BatchWriter,
    ) -> None:
        self._store = store
        self._workers = workers
        self._others = others
        self._jobs = jobs
        self._runs = runs
        self._writer = writer

    def target(self, job: Job, designation: Designation | None = None) -> str | None:
        """Another server to run an instance of the job (None: run here): one with a worker
        that runs the job's type and that the run's designation (else the job's) allows,
        when no such worker is here; else, when no worker of the job's group is here at
        all, one with any."""
        held = designation or job.designation
        ns, group = job.namespace, job.group_id

        def allowed(worker: WorkerInfo) -> bool:
            return runs_type(worker.job_types, job.job_type) and designation_allows(
                held, worker.address, worker.labels
            )

        constrained = held is not None or not job.job_type.is_own
        if self._workers.serves(ns, group):
            if not constrained or any(allowed(w) for w in self._workers.workers_of(ns, group)):
                return None
            return self._others.server_with(ns, group, allowed)  # else here: it may transfer
        if constrained:
            target = self._others.server_with(ns, group, allowed)
            if target is not None:
                return target
        return self._others.server_for(ns, group)

    async def hand_off_planned(self, fires: list[Instance], jobs: Mapping[int, Job]) -> set[int]:
        """Give the planned fires of groups whose workers are on another server to that
        server, a lookahead ahead of their due instant (it arms them); the ids given."""
        by_target: dict[str, list[int]] = {}
        for instance in fires:
            target = self.target(jobs[instance.job_id])
            if target is not None:
                by_target.setdefault(target, []).append(instance.id)
        handed: set[int] = set()
        for target, ids in by_target.items():
            handed.update(await self._store.hand_off(ids, target))
        return handed

    async def hand_off_adopted(
        self, leftovers: list[Instance], jobs: Mapping[int, Job | None]
    ) -> list[Instance]:
        """Hand the adopted (or taken up) instances of groups whose workers are on another
        server to that server (it recovers them the same way); the ones that stay here."""
        by_target: dict[str, list[int]] = {}
        for instance in leftovers:
            job = jobs.get(instance.job_id)
            target = None if job is None else self.target(job, instance.designation)
            if target is not None:
                by_target.setdefault(target, []).append(instance.id)
        if not by_target:
            return leftovers
        moved: set[int] = set()
        for target, ids in by_target.items():
            moved.update(await self._store.hand_off(ids, target))
        if moved:
            log.info("handed %d adopted instance(s) to the servers of their workers", len(moved))
        return [i for i in leftovers if i.id not in moved]

    async def hand_over(self, left: Sequence[Run]) -> None:
        """A graceful stop: the fires planned here and the retries due here (``left``, no
        longer held here) and the runs waiting here for a worker go to the live servers at
        once, each told so it takes them up at once: to one whose workers can run them, else
        to any, in turn. What cannot go (no other server is alive, the database is down)
        stays this server's and is adopted when its row is deleted."""
        await self._writer.flush()  # their last status changes first
        by_target: dict[str, list[int]] = {}
        for run in left:
            target = self.target(run.job, run.designation) or self._others.any_other()
            if target is not None:
                by_target.setdefault(target, []).append(run.instance.id)
        moved = 0
        for target, ids in by_target.items():
            try:
                moved += len(await self._store.hand_off(ids, target))
            except Exception as exc:
                log.warning("could not hand %d instance(s) to %s: %s", len(ids), target, exc)
        if left:
            log.info("stopping: handed %d of %d planned or waiting run(s) over", moved, len(left))
        await self._hand_over_parked(any_server=True)

    async def hand_off_parked(self) -> None:
        """Runs waiting here for a worker of their group (none is connected here) go to a
        server that has one, once this server learns of it (each lease beat): they would
        otherwise wait here and fail, retries included, while that server's workers idle."""
        await self._hand_over_parked(any_server=False)

    async def _hand_over_parked(self, *, any_server: bool) -> None:
        """Hand the parked runs to servers with their workers (``any_server``: to any live
        server when none has: this one stops)."""
        by_target: dict[str, list[int]] = {}
        for request in self._workers.parked():
            job = self._jobs.get(request.job_id)
            target = None if job is None else self.target(job, request.designation)
            if target is None and any_server:
                target = self._others.any_other()
            if target is not None:
                by_target.setdefault(target, []).append(request.instance_id)
        for target, ids in by_target.items():
            await self._hand_off_parked_to(target, ids)

    async def _hand_off_parked_to(self, target: str, ids: list[int]) -> None:
        taken = self._workers.take_parked(ids)
        moved: set[int] = set()
        try:
            await self._writer.flush()  # their RUNNING rows, which the hand-off reverts
            moved = set(
                await self._store.hand_off([r.instance_id for r in taken], target, unstarted=True)
            )
        except Exception as exc:
            log.warning("could not hand runs waiting for a worker to %s: %s", target, exc)
        self._runs.drop_handed_off(moved)
        for request in taken:
            if request.instance_id not in moved:
                self._workers.submit(request)  # waits here again (or runs, if one joined)
        if moved:
            log.info(
                "handed %d run(s) waiting for a worker to server %s, which has one",
                len(moved),
                target,
            )


class HandOffInbox:
    """Instances other servers handed to this one: taken up (recovered as adopted ones are)
    when the notification comes, or later if it was lost."""

    def __init__(
        self,
        store: Store,
        server_id: str,
        *,
        runs: RunManager,
        recover: Callable[[list[Instance]], Awaitable[None]],
        background: BackgroundTasks,
    ) -> None:
        self._store = store
        self._server_id = server_id
        self._runs = runs
        self._recover = recover  # Recovery.recover, as taken up
        self._background = background

    def on_notified(self, payload: str) -> None:
        """A hand-off notification ``server:instance,instance,...``."""
        server_id, _, listed = payload.rpartition(":")
        if server_id != self._server_id:
            return
        ids = [int(i) for i in listed.split(",") if i.isdigit() and not self._runs.holds(int(i))]
        if ids:
            self._background.spawn(self.take_up(ids))

    async def take_up_missed(self) -> None:
        """Instances handed to this server and not taken up yet: their notification was
        lost (the listening connection was down) or has not come yet. Claimed as the
        notification would be, so whichever comes first takes each one, and only it."""
        await self._take_up(None)

    async def take_up(self, instance_ids: list[int]) -> None:
        """Carry on with these instances if they are still this server's and unfinished,
        and handed here and not taken up yet."""
        await self._take_up(instance_ids)

    async def _take_up(self, instance_ids: list[int] | None) -> None:
        claimed = await self._store.take_up_handed(self._server_id, instance_ids)
        mine = [i for i in claimed if not self._runs.holds(i.id)]
        if mine:
            if instance_ids is None:
                log.info("took up %d instance(s) handed here before their notification", len(mine))
            await self._recover(mine)
