"""Worker agents connected to this server.

``AgentHub`` knows the live agents of every app group and which agent holds which run. The
engine's ``Worker``, which sends runs to them or to the server's own worker, is
``RoutingWorker`` (engine/routing_worker.py). The gateway (``api/workers.py``) moves messages
between the sockets and the hub.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.message_parser import parse_from_agent
from tickwork.worker.messages import (
    Finished,
    Heartbeat,
    Hello,
    Kill,
    Log,
    Mapped,
    Progress,
    Report,
    ServerMessage,
    Started,
)
from tickwork.worker.protocol import RESUME_GRACE_S, Message

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
    metrics: WorkerMetrics | None = None  # as its last heartbeat said (None: it says none)
    ip: str = ""  # the address the server saw it connect from
    draining: bool = False  # takes no more runs
    connected_at: int = 0
    last_seen: float = field(default_factory=time.monotonic)
    outbox: list[ServerMessage] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    holds: dict[int, int] = field(default_factory=dict)  # instance id -> attempt
    ignored: int = 0  # reports on what it does not hold
    # tasks of distributed runs: (instance id, task id) -> (attempt, task attempt)
    tasks: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def send(self, message: ServerMessage) -> None:
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

    def resume(self, agent: Agent, message: Hello) -> None:
        """The agent's ``hello``: what it runs. What the server holds for it and it does not
        know fails as lost (a ``run`` that never reached it); what it runs that the server
        does not hold for it (given up on while it was away) is killed."""
        runs, tasks = set(message.runs), set(message.tasks)
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
            agent.send(Kill(iid, "the server no longer holds this run for this worker"))

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

    def handle(self, agent: Agent, data: Message) -> None:
        """A message from an agent (its run reports and heartbeats), as JSON; one that is
        not a message of the protocol is ignored, and logged naming its fault."""
        agent.last_seen = time.monotonic()
        try:
            message = parse_from_agent(data)
        except InvalidParameter as exc:
            log.warning("worker %s sent a bad message, ignored: %s", agent.address, exc.message)
            return
        match message:
            case Heartbeat():
                self._declared(agent, message.job_types)
                agent.running = message.running
                agent.draining = message.draining
                agent.metrics = message.metrics
            case Hello():
                self._declared(agent, message.job_types)
                self.resume(agent, message)
            case _:
                self._report(agent, message)

    @staticmethod
    def _declared(agent: Agent, job_types: frozenset[str] | None) -> None:
        if job_types is not None:  # None: it said nothing, what it said before stands
            agent.job_types = job_types

    def _report(self, agent: Agent, message: Report) -> None:
        """A report on a run or task: passed on if the agent holds that one."""
        reporter = self._reporter
        if reporter is None:
            return
        iid, attempt = message.instance_id, message.attempt
        task = None if isinstance(message, Log | Progress) else message.task
        # a log line names no task: it may come from a task of that attempt
        if not agent.speaks_for(iid, attempt, task, or_its_tasks=isinstance(message, Log)):
            self._ignore(agent, message, task)
            return
        match message:
            case Log():
                reporter.log(iid, attempt, message.at, message.line)
            case Finished():
                if task is not None:
                    del agent.tasks[(iid, task[0])]
                else:
                    del agent.holds[iid]
                    if self._holder.get(iid) is agent:
                        del self._holder[iid]
                reporter.finished(iid, attempt, message.outcome, message.at, task)
            case Started():
                reporter.started(iid, attempt, agent.address, message.at, task)
            case Progress():
                reporter.progress(iid, attempt, message.progress)
            case Mapped():
                reporter.mapped(iid, attempt, message.task, message.task_name, message.tasks)

    @staticmethod
    def _ignore(agent: Agent, message: Report, task: TaskKey | None) -> None:
        agent.ignored += 1
        if agent.ignored % 1000 == 1:  # the first, then every 1000th: a bounded log
            log.warning(
                "worker %s of %s/%s sent %r for instance %s attempt %s%s, which it "
                "does not hold; ignored (%d so far)",
                agent.address,
                agent.namespace,
                agent.group_id,
                message.op,
                message.instance_id,
                message.attempt,
                "" if task is None else f" task {task[0]}",
                agent.ignored,
            )
