"""The worker the engine hands runs to: agents of the run's app group first (the least loaded
of those that run its type; a prepared run to the agent that prepared it), else the server's
own worker when the group may run on it. ``AgentHub`` (engine/agents.py) knows the agents."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.models import WorkerInfo
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.engine.agents import Agent, AgentHub
from tickwork.engine.routing import (
    designated,
    refusal,
    runs_type,
    type_refusal,
    worker_labels,
)
from tickwork.worker.abc import Preparing, RunReporter, RunRequest, Worker
from tickwork.worker.messages import Discard, Kill, Prepare, Run, Tasks
from tickwork.worker.metrics import MetricsSampler
from tickwork.worker.protocol import HEARTBEAT_S

__all__ = ["RoutingWorker"]

log = logging.getLogger(__name__)


class RoutingWorker:
    """The engine's worker: agents of the run's app group first, else the server's own when
    the group may run on it (``runs_here``: an admin allowed it, see engine/server_groups.py).
    A run for which no worker is live waits (up to ``wait_s``) for an agent of its group to
    connect, then fails saying so (and ``on_miss`` counts it)."""

    def __init__(
        self,
        local: Worker,
        hub: AgentHub,
        *,
        wait_s: float = 30.0,
        on_miss: Callable[[], None] = lambda: None,
        runs_here: Callable[[str, str], bool] = lambda namespace, group_id: True,
    ) -> None:
        self.local = local
        # the local worker's preparation, if it offers it (agents are told over the wire)
        self._local_preparing = local if isinstance(local, Preparing) else None
        self.hub = hub
        self.wait_s = wait_s
        self._on_miss = on_miss
        self._runs_here = runs_here
        self._parked: dict[tuple[str, str], dict[int, tuple[RunRequest, asyncio.TimerHandle]]] = {}
        hub.on_join(self._agent_joined)
        self._sampler = MetricsSampler(lambda: int(getattr(local, "executed", 0)))
        self._metrics: tuple[float, WorkerMetrics] | None = None  # (when, what)

    @property
    def address(self) -> str:
        return self.local.address

    def missed(self) -> None:
        """A run gave up waiting for a worker (counted)."""
        self._on_miss()

    def local_serves(self, namespace: str, group_id: str) -> bool:
        """Whether the server's own worker may run the group's runs: it has one (not
        --no-worker) and the group is allowed on it."""
        return bool(self.local.address) and self._runs_here(namespace, group_id)

    def serves(self, namespace: str, group_id: str) -> bool:
        """Whether a run of the group can run here: the server's own worker, or a live agent."""
        return self.local_serves(namespace, group_id) or bool(self.hub.live(namespace, group_id))

    def groups_here(self) -> list[str]:
        """ "namespace/group" of the live agents connected here."""
        return sorted({f"{a.namespace}/{a.group_id}" for a in self.hub.all() if not a.draining})

    def agents_here(self) -> dict[str, list[WorkerInfo]]:
        """The live agents connected here (draining ones left out), by "namespace/group"."""
        found: dict[str, list[WorkerInfo]] = {}
        for agent in self.hub.all():
            if not agent.draining:
                found.setdefault(f"{agent.namespace}/{agent.group_id}", []).append(_info(agent))
        return found

    async def start(self, reporter: RunReporter) -> None:
        self.hub.bind(reporter)
        await self.local.start(reporter)

    async def stop(self, grace: float) -> None:
        await self.local.stop(grace)

    def _allowed_agents(self, request: RunRequest) -> list[Agent]:
        """The live agents of the run's group that run its type and that its designation
        allows (any of those that run its type when the designation is transferable and
        allows none)."""
        agents = [
            a
            for a in self.hub.live(request.namespace, request.group_id)
            if runs_type(a.job_types, request.job_type)
        ]
        return designated(request.designation, agents, _agent_place)

    def _allowed_local(self, request: RunRequest) -> Worker | None:
        """The server's own worker, if it may run ``request`` when no agent may: the group
        may run on it, it runs the type, and the designation allows it (or is transferable)."""
        if not self.local_serves(request.namespace, request.group_id):
            return None  # no worker of its own (--no-worker), or the group may not run on it
        if not request.job_type.is_own:
            return None  # the server's own worker runs only tickwork's own types
        return next(iter(designated(request.designation, [self.local], _local_place)), None)

    def _type_served(self, request: RunRequest) -> bool:
        """Whether a live worker of the run's group runs its type."""
        if request.job_type.is_own and self.local_serves(request.namespace, request.group_id):
            return True
        return any(
            runs_type(a.job_types, request.job_type)
            for a in self.hub.live(request.namespace, request.group_id)
        )

    def _target(self, request: RunRequest) -> Agent | Worker | None:
        """Where the run goes: an allowed agent of its app group (the one that prepared it,
        else the least loaded), else the server's own worker if allowed; a designation that
        nobody live satisfies falls back to any worker when it is transferable. None: no
        worker may take it."""
        allowed = self._allowed_agents(request)
        if allowed:
            prepared = self.hub.prepared_on(request.instance_id)
            return prepared if prepared in allowed else min(allowed, key=lambda a: a.load)
        return self._allowed_local(request)

    def prepare(self, request: RunRequest) -> None:
        target = self._target(request)
        if isinstance(target, Agent):
            self.hub.mark_prepared(request.instance_id, target)
            target.send(Prepare(request))
        elif target is not None and self._local_preparing is not None:
            self._local_preparing.prepare(request)

    def discard(self, instance_id: int) -> None:
        agent = self.hub.forget_prepared(instance_id)
        if agent is None:
            if self._local_preparing is not None:
                self._local_preparing.discard(instance_id)
        else:
            agent.send(Discard(instance_id))

    def start_prepared(self, requests: list[RunRequest]) -> None:
        # Agents start their runs on "run"; only those going to the local worker start
        # here (and it starts only those it prepared: with no agent connected, all of them).
        if self.hub.all():
            requests = [r for r in requests if self._target(r) is self.local]
        if self._local_preparing is not None:
            self._local_preparing.start_prepared(requests)

    def submit(self, request: RunRequest) -> None:
        target = self._target(request)
        if isinstance(target, Agent):
            self.hub.assign(request, target)
            target.send(Run(request))
            return
        stale = self.hub.forget_prepared(request.instance_id)
        if stale is not None:  # prepared on an agent that may no longer take it
            stale.send(Discard(request.instance_id))
        if target is not None:
            target.submit(request)
            return
        why = self.refusal_of(request)
        if why is not None:  # live workers, but none it may use
            self.hub.refuse(request, why)
        else:
            self._park(request)

    # -- tasks of distributed runs (the engine's masters send them) -------------------------
    def task_targets(self, request: RunRequest) -> list[str]:
        """The addresses of the live workers that may run tasks of ``request``: its app
        group's allowed agents, else the server's own worker (as for a standalone run)."""
        allowed = self._allowed_agents(request)
        if allowed:
            return [a.address for a in allowed]
        local = self._allowed_local(request)
        return [] if local is None else [local.address]

    def refusal_of(self, request: RunRequest) -> str | None:
        """Why no worker may run ``request`` although some are live (None: none is live, or
        one may run it): none runs its type, or none is one its designation holds it to."""
        if not self._anyone_live(request):
            return None
        if not self._type_served(request):
            return type_refusal(request.job_type, request.namespace, request.group_id)
        if request.designation is not None:
            return refusal(request.designation)
        return None

    def send_tasks(self, address: str, requests: list[RunRequest]) -> bool:
        """Hand a page of tasks (of one instance) to the worker at ``address``. False when it
        is no longer live (nothing was sent)."""
        first = requests[0]
        if self.local.address and address == self.local.address:
            for request in requests:
                self.local.submit(request)
            return True
        for agent in self.hub.live(first.namespace, first.group_id):
            if agent.address == address:
                for request in requests:
                    assert request.task is not None
                    agent.tasks[(request.instance_id, request.task.task_id)] = (
                        request.attempt,
                        request.task.attempt,
                    )
                agent.send(Tasks(tuple(requests)))
                return True
        return False

    def kill_tasks(
        self, address: str, namespace: str, group_id: str, iid: int, reason: str
    ) -> None:
        """Kill the tasks of instance ``iid`` on the worker at ``address``."""
        if self.local.address and address == self.local.address:
            self.local.kill(iid, reason)
            return
        for agent in self.hub.all():
            if agent.address == address and (agent.namespace, agent.group_id) == (
                namespace,
                group_id,
            ):
                agent.send(Kill(iid, reason))

    def worker_joined(self, listener: Callable[[Agent], None]) -> Callable[[], None]:
        """Call ``listener`` when an agent joins, until the returned function is called."""
        return self.hub.subscribe(listener)

    # -- runs waiting for a worker -------------------------------------------------------------
    def _anyone_live(self, request: RunRequest) -> bool:
        return self.serves(request.namespace, request.group_id)

    def _park(self, request: RunRequest) -> None:
        handle = asyncio.get_running_loop().call_later(self.wait_s, self._give_up, request)
        group = (request.namespace, request.group_id)
        self._parked.setdefault(group, {})[request.instance_id] = (request, handle)
        log.info("instance %s waits for a worker of %s/%s", request.instance_id, *group)

    def _unpark(self, request: RunRequest) -> bool:
        parked = self._parked.get((request.namespace, request.group_id), {})
        entry = parked.pop(request.instance_id, None)
        if entry is None:
            return False
        entry[1].cancel()
        return True

    def _give_up(self, request: RunRequest) -> None:
        if self._unpark(request):
            self._on_miss()
            if not request.job_type.is_own:
                self.hub.refuse(
                    request,
                    type_refusal(
                        request.job_type,
                        request.namespace,
                        request.group_id,
                        waited_s=self.wait_s,
                    ),
                )
                return
            why = (
                "; the server's own worker runs only the app groups an admin allowed on it "
                "(tickwork group update --run-on-server)"
                if self.local.address
                else ""
            )
            self.hub.refuse(
                request,
                f"no worker available: no live worker of app group {request.namespace}/"
                f"{request.group_id} came within {self.wait_s:g} s{why}",
            )

    def parked(self) -> list[RunRequest]:
        """The runs waiting here for a worker of their app group."""
        return [request for parked in self._parked.values() for request, _ in parked.values()]

    def take_parked(self, instance_ids: list[int]) -> list[RunRequest]:
        """Stop waiting for a worker for these runs, without a word to the engine (it hands
        them to another server); the requests of those that were waiting."""
        taken = [r for r in map(self._find_parked, instance_ids) if r is not None]
        for request in taken:
            self._unpark(request)
        return taken

    def _agent_joined(self, agent: Agent) -> None:
        waiting = self._parked.pop((agent.namespace, agent.group_id), {})
        for request, handle in waiting.values():
            handle.cancel()
            self.submit(request)

    def _find_parked(self, instance_id: int) -> RunRequest | None:
        for parked in self._parked.values():
            if instance_id in parked:
                return parked[instance_id][0]
        return None

    def let_start(self, timeout: float) -> None:
        if self._local_preparing is not None:  # agents start their runs on their own time
            self._local_preparing.let_start(timeout)

    def kill(self, instance_id: int, reason: str) -> bool:
        waiting = self._find_parked(instance_id)
        if waiting is not None:
            self._unpark(waiting)
            self.hub.refuse(waiting, reason)  # the engine records it as the kill it asked for
            return True
        agent = self.hub.holder(instance_id)
        if agent is None:
            return self.local.kill(instance_id, reason)
        # the attempt fences the kill: a newer attempt sent to that agent later lives on
        agent.send(Kill(instance_id, reason, agent.holds.get(instance_id)))
        return True

    def running(self) -> int:
        parked = sum(len(p) for p in self._parked.values())
        return self.local.running() + sum(len(a.holds) for a in self.hub.all()) + parked

    def workers_of(self, namespace: str, group_id: str) -> list[WorkerInfo]:
        """The live workers of an app group: its agents, and the server's own worker."""
        found = [_info(a) for a in self.hub.live(namespace, group_id)]
        if self.local_serves(namespace, group_id):
            found.append(
                WorkerInfo(
                    address=self.local.address,
                    worker_id="in-process",
                    labels=(),
                    version="",
                    running=self.local.running(),
                    concurrency=0,
                    in_process=True,
                    connected_at=0,
                    job_types=OWN_TYPE_NAMES,
                    metrics=self._local_metrics(),
                )
            )
        return found

    def _local_metrics(self) -> WorkerMetrics:
        """The server's own figures (its worker runs in its process), sampled at most once
        per heartbeat interval as an agent's are."""
        now = time.monotonic()
        if self._metrics is None or now - self._metrics[0] >= HEARTBEAT_S:
            self._metrics = (now, self._sampler.sample())
        return self._metrics[1]


def _agent_place(agent: Agent) -> tuple[str, tuple[str, ...]]:
    return (agent.address, agent.labels)


def _local_place(worker: Worker) -> tuple[str, tuple[str, ...]]:
    return (worker.address, worker_labels(worker))


def _info(agent: Agent) -> WorkerInfo:
    return WorkerInfo(
        address=agent.address,
        worker_id=agent.worker_id,
        labels=agent.labels,
        version=agent.version,
        running=len(agent.holds),
        concurrency=agent.concurrency,
        in_process=False,
        connected_at=agent.connected_at,
        job_types=agent.job_types,
        metrics=agent.metrics,
        ip=agent.ip,
    )
