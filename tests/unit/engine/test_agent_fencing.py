"""The server's half of fencing worker agents (engine/agents.py) on a fake clock: a silent
agent gets no runs after about two heartbeats and gives back the runs it never confirmed
started; an agent joins only with its hello; a late outcome is recorded, not dropped."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.engine.agents import Agent, AgentHub
from tickwork.engine.routing_worker import RoutingWorker
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.messages import Hello, Kill, Run
from tickwork.worker.protocol import AgentTiming

REQUEST = RunRequest(
    instance_id=7, job_id=1, job_name="j", namespace="ns", group_id="g",
    job_type=JobType.SHELL, execute_mode=ExecuteMode.STANDALONE, time_type=TimeType.API,
    trigger_type=TriggerType.API, schedule_time=0, data_time=0, attempt=0, max_attempt=0,
    content="true",
)  # fmt: skip
TIMING = AgentTiming(heartbeat_s=2.0, lease_s=10.0, grace_s=5.0)  # quiet after 5 s


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Reports:
    def __init__(self) -> None:
        self.ended: list[tuple[int, int, RunOutcome]] = []
        self.late: list[tuple[int, int, InstanceStatus, str]] = []

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None: ...

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None: ...

    def progress(self, instance_id: int, attempt: int, progress: str) -> None: ...

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None:
        self.ended.append((instance_id, attempt, outcome))

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None: ...

    def late_outcome(
        self, instance_id: int, attempt: int, outcome: RunOutcome, worker: str, at: int
    ) -> None:
        self.late.append((instance_id, attempt, outcome.status, worker))


class NoLocal:
    address = ""

    async def start(self, reporter: RunReporter) -> None: ...

    async def stop(self, grace: float) -> None: ...

    def submit(self, request: RunRequest) -> None:
        raise AssertionError("no local worker")

    def kill(self, instance_id: int, reason: str) -> bool:
        return False

    def running(self) -> int:
        return 0


def agent(worker_id: str) -> Agent:
    return Agent(worker_id=worker_id, namespace="ns", group_id="g", address=f"{worker_id}:1")


def hub_and_reports() -> tuple[AgentHub, Reports, Clock]:
    clock = Clock()
    hub, reports = AgentHub(timing=TIMING, clock=clock), Reports()
    hub.bind(reports)
    return hub, reports, clock


def report(op: str, attempt: int = 0, **extra: Any) -> dict[str, Any]:
    return {"op": op, "instance_id": 7, "attempt": attempt, "at": 1, **extra}


def runs_sent(a: Agent) -> list[tuple[int, int]]:
    return [(m.request.instance_id, m.request.attempt) for m in a.outbox if isinstance(m, Run)]


async def test_a_silent_agent_gets_no_runs_after_about_two_heartbeats() -> None:
    hub, _, clock = hub_and_reports()
    quiet, busy = agent("quiet"), agent("busy")
    hub.add(quiet, Hello())
    hub.add(busy, Hello())
    busy.holds = {n: 0 for n in range(100, 110)}  # the busier one: runs go to the other
    routing = RoutingWorker(NoLocal(), hub)
    routing.submit(REQUEST)
    assert runs_sent(quiet) == [(7, 0)]
    clock.now += 4.0
    hub.handle(busy, {"op": "heartbeat", "running": 10, "concurrency": 64})
    assert [a.worker_id for a in hub.live("ns", "g")] == ["quiet", "busy"]  # 4 s: one missed
    clock.now += 1.0
    assert [a.worker_id for a in hub.live("ns", "g")] == ["busy"]  # 5 s silent: no more
    routing.submit(replace(REQUEST, instance_id=8))
    assert [i for i, _ in runs_sent(busy)] == [8]
    hub.handle(quiet, {"op": "heartbeat", "running": 0, "concurrency": 64})
    assert [a.worker_id for a in hub.live("ns", "g")] == ["quiet", "busy"]  # heard again


async def test_a_silent_agent_gives_back_the_runs_it_never_confirmed_started() -> None:
    hub, reports, clock = hub_and_reports()
    frozen = agent("frozen")
    hub.add(frozen, Hello())
    hub.assign(REQUEST, frozen)
    hub.assign(replace(REQUEST, instance_id=8), frozen)
    hub.handle(frozen, report("started", instance_id=8))
    clock.now += 4.9
    hub.sweep()
    assert reports.ended == []  # not quiet yet
    clock.now += 0.2
    hub.sweep()
    [(iid, attempt, outcome)] = reports.ended
    assert (iid, attempt, outcome.lost, outcome.unstarted) == (7, 0, True, True)
    assert "before it confirmed the start" in outcome.result
    assert frozen.holds == {8: 0}  # the started one stays its own until it is given up
    assert hub.holder(7) is None
    # what the frozen agent says of it later is a late outcome, recorded once, not its run
    hub.handle(frozen, report("finished", status=int(InstanceStatus.SUCCESS), result="ok"))
    hub.handle(frozen, report("finished", status=int(InstanceStatus.SUCCESS), result="ok"))
    assert reports.late == [(7, 0, InstanceStatus.SUCCESS, "frozen:1")]
    assert len(reports.ended) == 1


async def test_an_outcome_of_an_attempt_never_handed_over_is_not_a_late_one() -> None:
    hub, reports, _ = hub_and_reports()
    intruder = agent("intruder")
    hub.add(intruder, Hello())
    hub.handle(intruder, report("finished", status=int(InstanceStatus.SUCCESS)))
    assert reports.late == [] and reports.ended == [] and intruder.ignored == 1


async def test_a_reconnecting_agent_joins_only_with_its_hello_settled() -> None:
    hub, reports, _ = hub_and_reports()
    routing = RoutingWorker(NoLocal(), hub, wait_s=60)
    first = agent("w-1")
    hub.add(first, Hello())
    hub.assign(REQUEST, first)  # it holds instance 7
    hub.disconnected(first, "network blip")
    routing.submit(replace(REQUEST, instance_id=9))  # no live agent: waits for one
    back = replace(first, outbox=[], holds={}, tasks={}, unconfirmed={})
    hub.join(back, [Hello(runs=((7, 0), (5, 2))).to_wire()])
    # the hello was settled before the waiting run was routed to it: that run is not
    # counted lost for missing from the hello (it ran anyway, before)
    assert back.holds == {7: 0, 9: 0} and runs_sent(back) == [(9, 0)]
    # a run it names that the server no longer holds for it is killed, that attempt only
    kills = [m for m in back.outbox if isinstance(m, Kill)]
    assert [(k.instance_id, k.attempt) for k in kills] == [(5, 2)]
    assert reports.ended == []


async def test_run_messages_queued_for_a_lost_connection_are_not_sent_after_it() -> None:
    hub, reports, _ = hub_and_reports()
    first = agent("w-1")
    hub.add(first, Hello())
    hub.assign(REQUEST, first)
    first.send(Run(REQUEST))  # queued, never sent: the connection closed
    hub.disconnected(first, "network blip")
    back = replace(first, outbox=[], holds={}, tasks={}, unconfirmed={})
    hub.join(back, [Hello().to_wire()])  # it never got the run
    assert runs_sent(back) == []  # not sent now beside the retry
    [(iid, _, outcome)] = reports.ended
    assert iid == 7 and outcome.lost
