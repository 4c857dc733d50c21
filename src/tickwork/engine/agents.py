"""Worker agents connected to this server, and the worker the engine hands runs to.

``AgentHub`` knows the live agents of every app group and which agent holds which run.
``RoutingWorker`` is the engine's ``Worker``: a run of an app group that has live agents goes
to the least loaded of them (a prepared run to the agent that prepared it); other runs go to
the server's own worker (the in-process worker of the embedded default). The gateway
(``api/workers.py``) moves messages between the sockets and the hub.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.models import WorkerInfo
from tickwork.engine.clock import now_ms
from tickwork.engine.routing import (
    OWN_TYPE_NAMES,
    designation_allows,
    refusal,
    runs_type,
    type_refusal,
    worker_labels,
)
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey, Worker
from tickwork.worker.protocol import (
    RESUME_GRACE_S,
    Message,
    job_types_from_wire,
    request_to_wire,
    tasks_to_wire,
    with_dropped_logs,
)

log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class Agent:
    """One connected ``tickwork worker``."""

    worker_id: str
    namespace: str
    group_id: str
    address: str
    labels: tuple[str, ...] = ()
    version: str = ""
    concurrency: int = 1
    job_types: frozenset[str] = OWN_TYPE_NAMES  # what it runs, as it declared
    running: int = 0  # as the agent last said
    draining: bool = False  # takes no more runs
    connected_at: int = 0
    last_seen: float = field(default_factory=time.monotonic)
    outbox: list[Message] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    holds: dict[int, int] = field(default_factory=dict)  # instance id -> attempt
    ignored: int = 0  # reports on what it does not hold
    # tasks of distributed runs: (instance id, task id) -> (attempt, task attempt)
    tasks: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def send(self, message: Message) -> None:
        self.outbox.append(message)
        self.wake.set()

    @property
    def load(self) -> float:
        return (len(self.holds) + len(self.tasks) + 0.5) / max(self.concurrency, 1)

    @property
    def identity(self) -> tuple[str, str, str]:
        """Who the agent is: a worker id within its app group (another group's worker
        using the same id is another worker)."""
        return (self.namespace, self.group_id, self.worker_id)

    def speaks_for(
        self, instance_id: int, attempt: int, task: TaskKey | None, *, or_its_tasks: bool = False
    ) -> bool:
        """Whether that attempt (or task attempt) was handed to this agent: a worker
        reports only on what it was given. ``or_its_tasks``: a report naming no task (a log
        line) may also come from a task of that attempt the agent holds."""
        if task is not None:
            return self.tasks.get((instance_id, task[0])) == (attempt, task[1])
        if self.holds.get(instance_id) == attempt:
            return True
        return or_its_tasks and any(
            k[0] == instance_id and v[0] == attempt for k, v in self.tasks.items()
        )


class AgentHub:
    def __init__(self, resume_grace_s: float = RESUME_GRACE_S) -> None:
        self.resume_grace_s = resume_grace_s
        # agents whose connection closed while they held runs: identity -> (agent, expiry)
        self._detached: dict[tuple[str, str, str], tuple[Agent, asyncio.TimerHandle]] = {}
        self._agents: dict[tuple[str, str], list[Agent]] = {}
        self._holder: dict[int, Agent] = {}
        self._prepared: dict[int, Agent] = {}
        self._reporter: RunReporter | None = None
        self._joined: list[Callable[[Agent], None]] = []

    def on_join(self, listener: Callable[[Agent], None]) -> None:
        self._joined.append(listener)

    def subscribe(self, listener: Callable[[Agent], None]) -> Callable[[], None]:
        """``on_join`` until the returned function is called."""
        self._joined.append(listener)

        def unsubscribe() -> None:
            if listener in self._joined:
                self._joined.remove(listener)

        return unsubscribe

    def bind(self, reporter: RunReporter) -> None:
        self._reporter = reporter

    # -- membership ----------------------------------------------------------------------------
    def add(self, agent: Agent) -> None:
        agent.connected_at = now_ms()
        detached = self._detached.pop(agent.identity, None)
        if detached is not None:
            previous, expiry = detached
            expiry.cancel()
            self._adopt(agent, previous)
        self._agents.setdefault((agent.namespace, agent.group_id), []).append(agent)
        log.info("worker %s joined %s/%s", agent.address, agent.namespace, agent.group_id)
        for listener in list(self._joined):
            listener(agent)

    def disconnected(self, agent: Agent, reason: str) -> None:
        """The agent's connection closed. It takes no more runs; the runs and tasks it holds
        wait ``resume_grace_s`` for it to reconnect (a network blip must not run them twice),
        then fail as lost."""
        self._leave(agent)
        if self.resume_grace_s <= 0 or not (agent.holds or agent.tasks):
            self.remove(agent, reason)
            return
        log.warning(
            "worker %s disconnected (%s); its %d run(s) and %d task(s) wait %g s for it",
            agent.address,
            reason,
            len(agent.holds),
            len(agent.tasks),
            self.resume_grace_s,
        )
        expiry = asyncio.get_running_loop().call_later(
            self.resume_grace_s, self._expire, agent, reason
        )
        self._detached[agent.identity] = (agent, expiry)

    def _expire(self, agent: Agent, reason: str) -> None:
        detached = self._detached.get(agent.identity)
        if detached is not None and detached[0] is agent:
            del self._detached[agent.identity]
            self.remove(agent, f"{reason}; it did not come back within {self.resume_grace_s:g} s")

    def _adopt(self, agent: Agent, previous: Agent) -> None:
        """``agent`` is ``previous`` reconnected: it holds what ``previous`` held, and gets
        what was queued for it; its ``hello`` then says which of those it still has."""
        agent.holds, previous.holds = previous.holds, {}
        agent.tasks, previous.tasks = previous.tasks, {}
        for iid in agent.holds:
            if self._holder.get(iid) is previous:
                self._holder[iid] = agent
        agent.outbox[:0] = previous.outbox
        previous.outbox = []
        log.info(
            "worker %s reconnected; it held %d run(s) and %d task(s)",
            agent.address,
            len(agent.holds),
            len(agent.tasks),
        )

    def resume(self, agent: Agent, message: Message) -> None:
        """The agent's ``hello``: what it runs. What the server holds for it and it does not
        know fails as lost (a ``run`` that never reached it); what it runs that the server
        does not hold for it (given up on while it was away) is killed."""
        runs = {(int(i), int(a)) for i, a in message.get("runs", ())}
        tasks = {(int(i), int(t), int(a), int(ta)) for i, t, a, ta in message.get("tasks", ())}
        outcome = RunOutcome(
            InstanceStatus.FAILED,
            f"worker {agent.address} reconnected without the run (a message was lost)",
            lost=True,
        )
        self._lose(
            agent,
            outcome,
            keep_run=lambda iid, attempt: (iid, attempt) in runs,
            keep_task=lambda iid, tid, attempt, t_attempt: (iid, tid, attempt, t_attempt) in tasks,
        )
        held = set(agent.holds) | {iid for iid, _ in agent.tasks}
        stale = {iid for iid, _ in runs} | {iid for iid, _, _, _ in tasks}
        for iid in sorted(stale - held):
            agent.send(
                {
                    "op": "kill",
                    "instance_id": iid,
                    "reason": "the server no longer holds this run for this worker",
                }
            )

    def _leave(self, agent: Agent) -> None:
        members = self._agents.get((agent.namespace, agent.group_id), [])
        if agent in members:
            members.remove(agent)
        for iid in [i for i, a in self._prepared.items() if a is agent]:
            del self._prepared[iid]

    def remove(self, agent: Agent, reason: str) -> None:
        """The agent is gone: each run it held fails (the engine's retry rules apply)."""
        self._leave(agent)
        outcome = RunOutcome(
            InstanceStatus.FAILED, f"worker {agent.address} was lost: {reason}", lost=True
        )
        runs, tasks = self._lose(agent, outcome)
        log.warning(
            "worker %s left %s/%s (%s); %d run(s) and %d task(s) lost",
            agent.address,
            agent.namespace,
            agent.group_id,
            reason,
            runs,
            tasks,
        )

    def _lose(
        self,
        agent: Agent,
        outcome: RunOutcome,
        keep_run: Callable[[int, int], bool] = lambda iid, attempt: False,
        keep_task: Callable[[int, int, int, int], bool] = lambda iid, tid, a, ta: False,
    ) -> tuple[int, int]:
        """Drop the runs and tasks the agent holds (but those kept) and report each with
        ``outcome``; how many runs and tasks."""
        runs = [(i, a) for i, a in agent.holds.items() if not keep_run(i, a)]
        tasks = [(k, v) for k, v in agent.tasks.items() if not keep_task(*k, *v)]
        for iid, attempt in runs:
            del agent.holds[iid]
            if self._holder.get(iid) is agent:
                del self._holder[iid]
            if self._reporter is not None:
                self._reporter.finished(iid, attempt, outcome, now_ms())
        for (iid, task_id), (attempt, task_attempt) in tasks:
            del agent.tasks[(iid, task_id)]
            if self._reporter is not None:
                self._reporter.finished(iid, attempt, outcome, now_ms(), (task_id, task_attempt))
        return len(runs), len(tasks)

    def live(self, namespace: str, group_id: str) -> list[Agent]:
        """The agents of a group that take runs (not the draining ones)."""
        return [a for a in self._agents.get((namespace, group_id), ()) if not a.draining]

    def all(self) -> list[Agent]:
        return [a for members in self._agents.values() for a in members]

    def choose(self, namespace: str, group_id: str) -> Agent | None:
        members = self.live(namespace, group_id)
        if not members:
            return None
        return min(members, key=lambda a: a.load)

    # -- runs ----------------------------------------------------------------------------------
    def prepared_on(self, instance_id: int) -> Agent | None:
        return self._prepared.get(instance_id)

    def mark_prepared(self, instance_id: int, agent: Agent) -> None:
        self._prepared[instance_id] = agent

    def forget_prepared(self, instance_id: int) -> Agent | None:
        return self._prepared.pop(instance_id, None)

    def assign(self, request: RunRequest, agent: Agent) -> None:
        self._prepared.pop(request.instance_id, None)
        self._holder[request.instance_id] = agent
        agent.holds[request.instance_id] = request.attempt

    def holder(self, instance_id: int) -> Agent | None:
        return self._holder.get(instance_id)

    def refuse(self, request: RunRequest, reason: str) -> None:
        """No worker may take the run: it fails at once with the reason, which its log
        says too (a run that never reached a worker has no other line)."""
        if self._reporter is not None:
            self._reporter.log(request.instance_id, request.attempt, now_ms(), reason)
            self._reporter.finished(
                request.instance_id,
                request.attempt,
                RunOutcome(InstanceStatus.FAILED, reason),
                now_ms(),
            )

    def handle(self, agent: Agent, message: Message) -> None:
        """A message from an agent (its run reports and heartbeats)."""
        agent.last_seen = time.monotonic()
        op = message.get("op")
        reporter = self._reporter
        if op in ("hello", "heartbeat") and "job_types" in message:
            declared = job_types_from_wire(message["job_types"])
            agent.job_types = OWN_TYPE_NAMES if declared is None else declared
        try:
            if op == "heartbeat":
                agent.running = int(message.get("running", 0))
                agent.draining = bool(message.get("draining", False))
                return
            if op == "hello":
                self.resume(agent, message)
                return
            if reporter is None:
                return
            iid, attempt = int(message["instance_id"]), int(message["attempt"])
            task = _task_key(message)
            if not agent.speaks_for(iid, attempt, task, or_its_tasks=op == "log"):
                agent.ignored += 1
                if agent.ignored % 1000 == 1:  # the first, then every 1000th: a bounded log
                    log.warning(
                        "worker %s of %s/%s sent %r for instance %s attempt %s%s, which it "
                        "does not hold; ignored (%d so far)",
                        agent.address,
                        agent.namespace,
                        agent.group_id,
                        op,
                        iid,
                        attempt,
                        "" if task is None else f" task {task[0]}",
                        agent.ignored,
                    )
                return
            if op == "log":
                reporter.log(iid, attempt, int(message["at"]), str(message["line"]))
            elif op == "finished":
                if task is not None:
                    del agent.tasks[(iid, task[0])]
                else:
                    del agent.holds[iid]
                    if self._holder.get(iid) is agent:
                        del self._holder[iid]
                status = InstanceStatus(int(message["status"]))
                outcome = RunOutcome(
                    status, str(message.get("result", "")), lost=bool(message.get("lost"))
                )
                outcome = with_dropped_logs(outcome, message)
                reporter.finished(iid, attempt, outcome, int(message["at"]), task)
            elif op == "started":
                reporter.started(iid, attempt, agent.address, int(message["at"]), task)
            elif op == "progress":
                reporter.progress(iid, attempt, str(message["progress"]))
            elif op == "mapped" and task is not None:
                bodies = message["tasks"]
                if not isinstance(bodies, list):
                    raise TypeError("tasks must be a list")
                reporter.mapped(iid, attempt, task, str(message["task_name"]), bodies)
            else:
                log.warning("worker %s sent an unknown message %r", agent.address, op)
        except (KeyError, TypeError, ValueError):
            log.warning("worker %s sent a malformed %r message", agent.address, op)


def _task_key(message: Message) -> TaskKey | None:
    if "task_id" not in message:
        return None
    return (int(message["task_id"]), int(message.get("task_attempt", 0)))


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
        self.hub = hub
        self.wait_s = wait_s
        self._on_miss = on_miss
        self._runs_here = runs_here
        self._parked: dict[tuple[str, str], dict[int, tuple[RunRequest, asyncio.TimerHandle]]] = {}
        hub.on_join(self._agent_joined)

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
        designation = request.designation
        agents = [
            a
            for a in self.hub.live(request.namespace, request.group_id)
            if runs_type(a.job_types, request.job_type)
        ]
        allowed = [a for a in agents if designation_allows(designation, a.address, a.labels)]
        if not allowed and designation is not None and designation.transferable:
            allowed = agents
        return allowed

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
        if not self.local_serves(request.namespace, request.group_id):
            return None  # no worker of its own (--no-worker), or the group may not run on it
        if not request.job_type.is_own:
            return None  # the server's own worker runs only tickwork's own types
        designation = request.designation
        if (
            designation is None
            or designation.transferable
            or designation_allows(designation, self.local.address, worker_labels(self.local))
        ):
            return self.local
        return None

    def prepare(self, request: RunRequest) -> None:
        target = self._target(request)
        if isinstance(target, Agent):
            self.hub.mark_prepared(request.instance_id, target)
            target.send({"op": "prepare", "request": request_to_wire(request)})
        elif target is not None:
            target.prepare(request)

    def discard(self, instance_id: int) -> None:
        agent = self.hub.forget_prepared(instance_id)
        if agent is None:
            self.local.discard(instance_id)
        else:
            agent.send({"op": "discard", "instance_id": instance_id})

    def start_prepared(self, requests: list[RunRequest]) -> None:
        # Agents start their runs on "run"; only those going to the local worker start
        # here (and it starts only those it prepared: with no agent connected, all of them).
        if self.hub.all():
            requests = [r for r in requests if self._target(r) is self.local]
        self.local.start_prepared(requests)

    def submit(self, request: RunRequest) -> None:
        target = self._target(request)
        if isinstance(target, Agent):
            self.hub.assign(request, target)
            target.send({"op": "run", "request": request_to_wire(request)})
            return
        stale = self.hub.forget_prepared(request.instance_id)
        if stale is not None:  # prepared on an agent that may no longer take it
            stale.send({"op": "discard", "instance_id": request.instance_id})
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
        target = self._target(request)
        return [] if target is None or isinstance(target, Agent) else [target.address]

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
                agent.send(tasks_to_wire(requests))
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
                agent.send({"op": "kill", "instance_id": iid, "reason": reason})

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
        self.local.let_start(timeout)  # agents start their runs on their own time

    def kill(self, instance_id: int, reason: str) -> bool:
        waiting = self._find_parked(instance_id)
        if waiting is not None:
            self._unpark(waiting)
            self.hub.refuse(waiting, reason)  # the engine records it as the kill it asked for
            return True
        agent = self.hub.holder(instance_id)
        if agent is None:
            return self.local.kill(instance_id, reason)
        agent.send({"op": "kill", "instance_id": instance_id, "reason": reason})
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
                    self.local.address,
                    "in-process",
                    (),
                    "",
                    self.local.running(),
                    0,
                    True,
                    0,
                    job_types=OWN_TYPE_NAMES,
                )
            )
        return found


def _info(agent: Agent) -> WorkerInfo:
    return WorkerInfo(
        agent.address,
        agent.worker_id,
        agent.labels,
        agent.version,
        len(agent.holds),
        agent.concurrency,
        False,
        agent.connected_at,
        job_types=agent.job_types,
    )
