"""Worker agents connected to this server.

``AgentHub`` knows the live agents of every app group and which agent holds which run. The
engine's ``Worker``, which sends runs to them or to the server's own worker, is
``RoutingWorker`` (engine/routing_worker.py). The gateway (``api/workers.py``) moves messages
between the sockets and the hub.

Fencing, the server's half (``worker/protocol.py``, "Fencing"): an agent joins only with its
``hello`` (``add``), so nothing is routed to it before what it holds is settled; an agent
silent for about two heartbeats (``AgentTiming.quiet_s``) gets no more runs, and the runs it
never confirmed started are taken back (``sweep``) and go elsewhere as a new attempt (the
attempt is the fencing token: the agent refuses a stale one) without using up a retry. An
outcome that comes for an attempt given up on is not dropped: it is recorded as late
(``LateOutcomes``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.engine.connected_agent import Agent
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.message_parser import parse_from_agent
from tickwork.worker.messages import (
    Discard,
    Finished,
    Heartbeat,
    Hello,
    Kill,
    Log,
    Mapped,
    Progress,
    Report,
    Started,
)
from tickwork.worker.protocol import AgentTiming, Message

__all__ = ["Agent", "AgentHub", "LateOutcomes"]

log = logging.getLogger(__name__)

GIVEN_UP_REMEMBERED = 10_000
"""How many attempts given up on the hub remembers, to know a late outcome from a forged one."""

_GivenUp = tuple[int, int, int, int]  # instance id, attempt, task id (-1: none), task attempt


@runtime_checkable
class LateOutcomes(Protocol):
    """What the engine's reporter may also take: an outcome of an attempt that was given up
    on (its worker counted lost) and ran to its end all the same."""

    def late_outcome(
        self, instance_id: int, attempt: int, outcome: RunOutcome, worker: str, at: int
    ) -> None: ...


class AgentHub:
    def __init__(
        self,
        resume_grace_s: float | None = None,
        *,
        timing: AgentTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``timing``: how often agents beat and how long they are waited for (what
        ``welcome`` tells them); ``resume_grace_s`` overrides its grace. ``clock``: seconds,
        monotonic (injected in tests)."""
        self.timing = timing or AgentTiming()
        self.resume_grace_s = self.timing.grace_s if resume_grace_s is None else resume_grace_s
        self._clock = clock
        self._given_up: OrderedDict[_GivenUp, str] = OrderedDict()  # -> the agent's address
        self._sweeper: asyncio.TimerHandle | None = None
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
    def add(self, agent: Agent, hello: Hello | None = None) -> None:
        """The agent joins with its ``hello`` (what it holds): it takes back what it held
        if it is a detached agent reconnecting, the hello settles that, and only then may
        runs go to it (the runs waiting for a worker among them: ``on_join``)."""
        agent.connected_at = now_ms()
        agent.last_seen = self._clock()
        detached = self._detached.pop(agent.identity, None)
        if detached is not None:
            previous, expiry = detached
            expiry.cancel()
            self._adopt(agent, previous)
        if hello is not None:
            self._declared(agent, hello.job_types)
            self.resume(agent, hello)
        self._agents.setdefault((agent.namespace, agent.group_id), []).append(agent)
        self._sweep_soon()
        log.info("worker %s joined %s/%s", agent.address, agent.namespace, agent.group_id)
        for listener in list(self._joined):
            listener(agent)

    def reconnecting(self, agent: Agent) -> bool:
        """A detached agent of that identity holds runs that wait for it (``join``)."""
        return agent.identity in self._detached

    def join(self, agent: Agent, first: list[Message]) -> None:
        """The agent's first frame arrived: it joins with the ``hello`` that opens it (an
        agent that sends none joins holding nothing known), then the rest is handled."""
        hello = None
        if first and first[0].get("op") == "hello":
            try:
                parsed = parse_from_agent(first[0])
            except InvalidParameter as exc:
                log.warning("worker %s sent a bad hello: %s", agent.address, exc.message)
            else:
                hello = parsed if isinstance(parsed, Hello) else None
            first = first[1:]
        self.add(agent, hello)
        for message in first:
            self.handle(agent, message)

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
        agent.unconfirmed, previous.unconfirmed = previous.unconfirmed, {}
        for iid in agent.holds:
            if self._holder.get(iid) is previous:
                self._holder[iid] = agent
        # only kills and discards carry over: a ``run`` or ``tasks`` that never went out is
        # not in the hello, so its run counts as lost and goes again; sending it now as well
        # would run it twice
        agent.outbox[:0] = [m for m in previous.outbox if isinstance(m, Kill | Discard)]
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
            unconfirmed_unstarted=True,  # it never had them: they go again, using no retry
            keep_run=lambda iid, attempt: (iid, attempt) in runs,
            keep_task=lambda iid, tid, attempt, t_attempt: (iid, tid, attempt, t_attempt) in tasks,
        )
        held = {(iid, attempt) for iid, attempt in agent.holds.items()}
        held |= {(iid, attempt) for (iid, _), (attempt, _) in agent.tasks.items()}
        stale = runs | {(iid, attempt) for iid, _, attempt, _ in tasks}
        for iid, attempt in sorted(stale - held):  # the kill names its attempt (fencing)
            agent.send(Kill(iid, "the server no longer holds this run for this worker", attempt))

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
        *,
        unconfirmed_unstarted: bool = False,
    ) -> tuple[int, int]:
        """Drop the runs and tasks the agent holds (but those kept) and report each with
        ``outcome``; how many runs and tasks."""
        runs = [(i, a) for i, a in agent.holds.items() if not keep_run(i, a)]
        tasks = [(k, v) for k, v in agent.tasks.items() if not keep_task(*k, *v)]
        for iid, attempt in runs:
            unstarted = unconfirmed_unstarted and iid in agent.unconfirmed
            self._give_up(agent, iid, attempt, replace(outcome, unstarted=unstarted))
        for (iid, task_id), (attempt, task_attempt) in tasks:
            del agent.tasks[(iid, task_id)]
            self._remember_given_up((iid, attempt, task_id, task_attempt), agent)
            if self._reporter is not None:
                self._reporter.finished(iid, attempt, outcome, now_ms(), (task_id, task_attempt))
        return len(runs), len(tasks)

    def _give_up(self, agent: Agent, iid: int, attempt: int, outcome: RunOutcome) -> None:
        """The agent holds the run no more: it ends with ``outcome`` (the engine's rules)."""
        del agent.holds[iid]
        agent.unconfirmed.pop(iid, None)
        if self._holder.get(iid) is agent:
            del self._holder[iid]
        self._remember_given_up((iid, attempt, -1, 0), agent)
        if self._reporter is not None:
            self._reporter.finished(iid, attempt, outcome, now_ms())

    def _remember_given_up(self, key: _GivenUp, agent: Agent) -> None:
        self._given_up[key] = agent.address
        if len(self._given_up) > GIVEN_UP_REMEMBERED:
            self._given_up.popitem(last=False)

    # -- silent agents -------------------------------------------------------------------------
    def quiet(self, agent: Agent) -> bool:
        """Silent for about two heartbeats: no more runs go to it."""
        return self._clock() - agent.last_seen >= self.timing.quiet_s

    def _sweep_soon(self) -> None:
        if self._sweeper is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a unit test): ``sweep`` is called by hand
                return
            self._sweeper = loop.call_later(self.timing.heartbeat_s / 2, self._sweep_due)

    def _sweep_due(self) -> None:
        self._sweeper = None
        self.sweep()
        if self._agents and any(self._agents.values()):
            self._sweep_soon()

    def sweep(self) -> None:
        """Take back from each quiet agent the runs it never confirmed started: they go
        elsewhere now, as a new attempt that uses up no retry, rather than wait for the
        agent to be given up (a MaxConcurrency slot held meanwhile rejects the next fires).
        The agent, frozen or cut off, starts nothing it reads after such a silence."""
        for agent in self.all():
            if not agent.unconfirmed or not self.quiet(agent):
                continue
            silent = self._clock() - agent.last_seen
            outcome = RunOutcome(
                InstanceStatus.FAILED,
                f"worker {agent.address} fell silent ({silent:.1f} s) before it confirmed "
                "the start; sent to another worker",
                lost=True,
                unstarted=True,
            )
            for iid in list(agent.unconfirmed):
                attempt = agent.holds.get(iid)
                if attempt is None:
                    agent.unconfirmed.pop(iid)
                    continue
                self._give_up(agent, iid, attempt, outcome)
            log.warning("worker %s is silent for %.1f s; its unstarted runs go elsewhere",
                        agent.address, silent)  # fmt: skip

    def live(self, namespace: str, group_id: str) -> list[Agent]:
        """The agents of a group that take runs: not the draining ones, nor those silent
        for about two heartbeats (``quiet``)."""
        return [
            a
            for a in self._agents.get((namespace, group_id), ())
            if not a.draining and not self.quiet(a)
        ]

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
        agent.unconfirmed[request.instance_id] = self._clock()

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
        agent.last_seen = self._clock()
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
            if not (isinstance(message, Finished) and self._late(agent, message)):
                self._ignore(agent, message, task)
            return
        match message:
            case Log():
                reporter.log(iid, attempt, message.at, message.line)
            case Finished():
                outcome = message.outcome
                if task is not None:
                    del agent.tasks[(iid, task[0])]
                else:
                    del agent.holds[iid]
                    if agent.unconfirmed.pop(iid, None) is not None and outcome.lost:
                        # lost before its start: it goes again without using up a retry
                        outcome = replace(outcome, unstarted=True)
                    if self._holder.get(iid) is agent:
                        del self._holder[iid]
                reporter.finished(iid, attempt, outcome, message.at, task)
            case Started():
                if task is None:
                    agent.unconfirmed.pop(iid, None)
                reporter.started(iid, attempt, agent.address, message.at, task)
            case Progress():
                reporter.progress(iid, attempt, message.progress)
            case Mapped():
                reporter.mapped(iid, attempt, message.task, message.task_name, message.tasks)

    def _late(self, agent: Agent, message: Finished) -> bool:
        """An outcome of an attempt this agent was given up on: recorded as late (once),
        not dropped. False when the agent never held it (ignored as any forged report)."""
        task = message.task
        task_id, task_attempt = (-1, 0) if task is None else task
        key = (message.instance_id, message.attempt, task_id, task_attempt)
        if self._given_up.get(key) != agent.address:
            return False
        del self._given_up[key]
        reporter = self._reporter
        if task is None and isinstance(reporter, LateOutcomes):
            reporter.late_outcome(
                message.instance_id, message.attempt, message.outcome, agent.address, message.at
            )
        return True

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
