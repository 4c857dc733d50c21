"""The engine facade the service layer talks to: one per server process.

``Engine`` builds the engine's parts, each given what it uses when it is made (this is the
one place they are wired), and passes the services' calls on to the part that owns them:

- ``Scheduler`` (scheduler.py) plans fires; ``RunManager`` (runs.py) runs them;
- ``JobRegistry`` (job_registry.py) holds the job definitions, ``JobChanges``
  (job_changes.py) follows changes, here and on the other servers;
- ``InstanceOps`` (instance_ops.py): trigger, stop, set successful, retry;
- ``LeaseKeeper`` (leases.py) keeps the lease and adopts dead servers' instances, which
  ``Recovery`` (recovery.py) carries on with; ``HandOffs``/``HandOffInbox`` (hand_offs.py)
  move instances between live servers, ``OtherServers`` (peers.py) knows where workers are;
- ``AfterFinal`` (after_final.py) and ``Retention`` (retention.py) act on final statuses.

A graceful stop (``begin_stop``, at SIGTERM, before the HTTP server closes its connections;
then ``stop``) refuses new runs (``ServerStopping``), stops planning, hands what it has not
started over to the live servers at once, lets the runs going on here end, and deletes its
row last, telling the others, which adopt anything left at once (docs/multi-server.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tickwork.domain.enums import TriggerType
from tickwork.domain.errors import ServerStopping
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.models import Designation, Instance, Job, WorkerInfo
from tickwork.engine.after_final import AfterFinal
from tickwork.engine.agents import AgentHub
from tickwork.engine.background import BackgroundTasks
from tickwork.engine.collector import CollectionPacer
from tickwork.engine.creator import InstanceCreator
from tickwork.engine.due_fires import DueFires, FireGuard
from tickwork.engine.hand_offs import HandOffInbox, HandOffs
from tickwork.engine.instance_ops import InstanceOps
from tickwork.engine.job_changes import JobChanges
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.leases import LeaseFence, LeaseKeeper
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.peers import OtherServers
from tickwork.engine.recovery import Origin, Recovery
from tickwork.engine.retention import Retention
from tickwork.engine.routing_worker import RoutingWorker
from tickwork.engine.run_state import Run
from tickwork.engine.runs import RunManager
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache
from tickwork.engine.server_groups import ServerGroups
from tickwork.engine.timers import LoopTimers
from tickwork.engine.writer import BatchWriter
from tickwork.settings import Settings
from tickwork.store.abc import HANDOFF_CHANNEL, JOB_CHANNEL, LEFT_CHANNEL, STOP_CHANNEL, Store
from tickwork.timing import Schedule
from tickwork.worker.abc import Worker
from tickwork.worker.protocol import AgentTiming

__all__ = ["Engine", "new_server_id"]

log = logging.getLogger(__name__)


def new_server_id() -> str:
    """A new server's id (one per process run): the store is opened with it."""
    return uuid.uuid4().hex


class Engine:
    def __init__(
        self, store: Store, worker: Worker, settings: Settings, *, single_server: bool = True
    ) -> None:
        # The store stamps the instances it inserts with its server's id, and it is opened
        # before the engine (the services use it too): the id is given once, to the store
        # (open_store(url, server_id=...)), and the engine runs as that server.
        if store.server_id is None:
            raise ValueError("the engine's store must be opened with a server_id")
        self.server_id: str = store.server_id
        self.store = store
        self.settings = settings
        self.single_server = single_server  # SQLite: no other server can share the database
        self.metrics = EngineMetrics()
        self.agents = AgentHub(
            timing=AgentTiming(
                settings.agent_heartbeat_s, settings.agent_lease_s, settings.agent_grace_s
            )
        )
        self.server_groups = ServerGroups(store)
        # runs of app groups with connected worker agents go to them, others to ``worker``
        # when an admin allowed the group on the server
        self.worker = RoutingWorker(
            worker,
            self.agents,
            wait_s=settings.worker_wait_s,
            on_miss=self.metrics.no_worker.inc,
            runs_here=self.server_groups.allows,
        )
        # Held while fires are planned and while a job's schedule changes, so that a round
        # never plans from a job version that a concurrent change has replaced.
        planning = asyncio.Lock()
        self.background = BackgroundTasks()
        timers = LoopTimers()
        # the fires waiting for their due instants: the run manager fills it, and every piece
        # of housekeeping that holds the loop (writer, lease beats, planning, pruning, the
        # collector) asks it first, so due fires go before them
        self.due_fires: DueFires[Run] = DueFires(timers)
        self.writer = BatchWriter(store, fires=self.due_fires)
        self.creator = InstanceCreator(store)
        self.schedules = ScheduleCache(store)
        self.jobs = JobRegistry(store)
        fence = LeaseFence(settings.lease_s, active=not single_server)
        self.others = OtherServers(store, self.server_id, heartbeat_s=settings.heartbeat_s)
        self.runs = RunManager(
            self.worker,
            self.writer,
            self.metrics,
            self.jobs.get,
            settings.prepare_ahead_ms,
            tasks=self.worker,
            fence=fence.fenced,
            log_limits=LogLimits(settings.run_log_max_bytes, settings.run_log_max_lines),
            timers=timers,
            due_fires=self.due_fires,
        )
        self.hand_offs = HandOffs(
            store,
            workers=self.worker,
            others=self.others,
            jobs=self.jobs,
            runs=self.runs,
            writer=self.writer,
        )
        self.scheduler = Scheduler(
            store,
            self.runs,
            self.schedules,
            self.metrics,
            settings,
            jobs=self.jobs,
            hand_offs=self.hand_offs,
            planning=planning,
            fires=self.due_fires,
        )
        self.retention = Retention(
            store,
            jobs=self.jobs,
            writer=self.writer,
            fires=self.due_fires,
            history_limit=settings.history_limit,
            interval_s=settings.retention_interval_s,
        )
        after_final = AfterFinal(
            store,
            jobs=self.jobs,
            schedules=self.schedules,
            scheduler=self.scheduler,
            planning=planning,
            background=self.background,
        )
        final_listeners = (self.retention.count_finished, after_final.follow)
        for listener in final_listeners:
            self.runs.on_final(listener)
        self.recovery = Recovery(
            store,
            runs=self.runs,
            writer=self.writer,
            jobs=self.jobs,
            schedules=self.schedules,
            hand_offs=self.hand_offs,
            metrics=self.metrics,
            misfire_threshold_ms=settings.misfire_threshold_ms,
            final_listeners=final_listeners,
        )
        self.inbox = HandOffInbox(
            store,
            self.server_id,
            runs=self.runs,
            recover=lambda found: self.recovery.recover(found, Origin.TAKEN_UP),
            background=self.background,
        )
        self.job_changes = JobChanges(
            store,
            self.server_id,
            jobs=self.jobs,
            schedules=self.schedules,
            runs=self.runs,
            scheduler=self.scheduler,
            writer=self.writer,
            planning=planning,
            background=self.background,
            lookahead_ms=settings.lookahead_ms,
        )
        self.instance_ops = InstanceOps(
            store,
            self.server_id,
            creator=self.creator,
            runs=self.runs,
            writer=self.writer,
            jobs=self.jobs,
            hand_offs=self.hand_offs,
            others=self.others,
        )
        self.leases = LeaseKeeper(
            store,
            self.server_id,
            f"{settings.host}:{settings.port}",
            lease_s=settings.lease_s,
            heartbeat_s=settings.heartbeat_s,
            fence=fence,
            others=self.others,
            holder=_LeaseDuties(
                self.due_fires,
                self.recovery,
                self.runs,
                self.worker,
                self.hand_offs,
                self.inbox,
            ),
        )
        self._collections = CollectionPacer(self.due_fires.busy)
        self._stop_listening: Callable[[], None] = lambda: None
        self._handing_over: asyncio.Task[None] | None = None  # set once a stop began

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        await self.server_groups.start(periodic=not self.single_server)
        self.writer.start()
        self.creator.start()
        await self.worker.start(self.runs)
        await self.recovery.recover(
            await self.leases.start(single_server=self.single_server), Origin.START
        )
        self._stop_listening = await self.store.listen(
            {
                HANDOFF_CHANNEL: self._on_handed,
                STOP_CHANNEL: self.instance_ops.on_stop_asked,
                JOB_CHANNEL: self.job_changes.on_notified,
                LEFT_CHANNEL: self._on_server_left,
            }
        )
        self.scheduler.start()
        self._collections.start()
        self.retention.start()

    @property
    def stopping(self) -> bool:
        return self._handing_over is not None

    def begin_stop(self) -> None:
        """A graceful stop begins (SIGTERM): new runs are refused from now on, and what this
        server has not started goes to the live servers at once (``stop`` waits for it).
        Called again, it does nothing."""
        if self._handing_over is None:
            self._handing_over = asyncio.get_running_loop().create_task(
                self._hand_over(), name="tickwork-hand-over"
            )

    async def _hand_over(self) -> None:
        await self.scheduler.stop()  # nothing more planned here
        await self.leases.leave()  # nothing more handed here
        try:
            await self.hand_offs.hand_over(self.runs.give_up_unlaunched())
        except Exception as exc:  # what stayed is adopted when the row goes
            log.warning("stopping: handing the planned runs over failed: %s", exc)

    def _refuse_when_stopping(self) -> None:
        if self.stopping:
            raise ServerStopping(
                "this server is stopping and takes no new runs; send the call to another "
                "server, or again in a moment"
            )

    def _on_handed(self, payload: str) -> None:
        """Instances handed here: taken up, unless this server stops (they stay recorded as
        handed here, and are adopted with the rest when its row goes)."""
        if not self.stopping:
            self.inbox.on_notified(payload)

    def _on_server_left(self, payload: str) -> None:
        """Another server stopped cleanly: adopt what it still owned at once."""
        if payload != self.server_id and not self.stopping:
            self.background.spawn(self.leases.adopt_now())

    async def stop(self) -> None:
        self.begin_stop()
        if self._handing_over is not None:
            # bounded: with the database down it cannot finish; what did not go is adopted
            # by the others when this server's lease expires
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._handing_over, self.settings.shutdown_grace_s)
        self._stop_listening()
        await self._collections.stop()
        await self.creator.close()
        await self.scheduler.stop()
        await self.retention.stop()
        self.runs.cancel_timers()
        await self.worker.stop(self.settings.shutdown_grace_s)
        await self.background.wait()
        await self.writer.close()
        await self.leases.stop()  # after the last write: the others adopt what is left
        await self.server_groups.stop()

    async def flush(self) -> None:
        await self.writer.flush()

    # -- jobs --------------------------------------------------------------------------------
    async def first_fire(self, job: Job, now: int | None = None) -> int | None:
        """When an enabled job should fire first from now (None: never by itself)."""
        return await self.job_changes.first_fire(job, now)

    def job_created(self, job: Job) -> None:
        self.job_changes.created(job)

    async def save_job(self, job: Job, *, reschedule: bool) -> Job:
        """Store a changed job, under the planning lock, and follow the change everywhere."""
        return await self.job_changes.save(job, reschedule=reschedule)

    async def delete_job(self, job_id: int) -> None:
        """Delete a job (its runs here stopped first), and tell the other servers."""
        await self.job_changes.delete(job_id)

    async def job_for_trigger(self, job_id: int) -> Job | None:
        """The job's definition to start runs of, not read from the store every time."""
        return await self.jobs.for_trigger(job_id)

    def calendars_changed(self) -> None:
        self.job_changes.calendars_changed()

    async def schedule_of(self, job: Job) -> Schedule:
        """The job's schedule as it stands (not cached)."""
        return await self.schedules.build(job)

    # -- instances ---------------------------------------------------------------------------
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
        """Create an instance and start it now (``InstanceOps.trigger``); refused while
        this server stops (the caller sends it to another)."""
        self._refuse_when_stopping()
        return await self.instance_ops.trigger(
            job,
            trigger_type=trigger_type,
            instance_parameters=instance_parameters,
            idempotency_key=idempotency_key,
            executor=executor,
            schedule_time=schedule_time,
            designation=designation,
        )

    async def stop_instance(self, instance: Instance, by: str, within: float = 10.0) -> None:
        await self.instance_ops.stop(instance, by, within)

    async def set_success(self, instance: Instance, by: str) -> None:
        self.instance_ops.set_success(instance, by)

    async def retry_instance(self, instance: Instance, job: Job, by: str) -> None:
        self._refuse_when_stopping()
        self.instance_ops.retry(instance, job, by)

    def workers_of(self, namespace: str, group_id: str) -> list[WorkerInfo]:
        """The live workers of an app group: here, and the agents on the other servers."""
        return self.worker.workers_of(namespace, group_id) + self.others.workers_elsewhere(
            namespace, group_id
        )

    async def prune_now(self) -> int:
        """Apply the history bound now (``Retention.prune_now``); instances deleted."""
        return await self.retention.prune_now()


@dataclass(frozen=True, slots=True)
class _LeaseDuties:
    """What the lease keeper asks of the engine (``leases.LeaseHolder``), done by the part
    that owns each duty."""

    fires: FireGuard
    recovery: Recovery
    runs: RunManager
    worker: RoutingWorker
    hand_offs: HandOffs
    inbox: HandOffInbox

    async def step_aside(self) -> None:
        await self.fires.step_aside()

    async def adopt(self, instances: list[Instance]) -> None:
        await self.recovery.recover(instances, Origin.ADOPTED)

    def drop_unlaunched(self) -> None:
        self.runs.drop_unlaunched()

    def groups_here(self) -> list[str]:
        return self.worker.groups_here()

    def agents_here(self) -> dict[str, list[WorkerInfo]]:
        return self.worker.agents_here()

    async def hand_off_parked(self) -> None:
        await self.hand_offs.hand_off_parked()

    async def take_up_missed(self) -> None:
        await self.inbox.take_up_missed()
