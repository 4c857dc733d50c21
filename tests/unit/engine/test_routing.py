"""Where the RoutingWorker sends a run: agents of its group, designation, the server's own
worker, and waiting when nobody is live. The agents are hub entries (no sockets); the local
worker is a recording double."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.models import Designation, Job, RouteEntry, RouteStrategy
from tickwork.engine.agents import Agent, AgentHub
from tickwork.engine.routing import (
    designated,
    designation_allows,
    effective_designation,
    route_designation,
)
from tickwork.engine.routing_worker import RoutingWorker
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest, TaskKey
from tickwork.worker.messages import Run

REQUEST = RunRequest(
    instance_id=1, job_id=1, job_name="j", namespace="ns", group_id="g",
    job_type=JobType.SHELL, execute_mode=ExecuteMode.STANDALONE, time_type=TimeType.API,
    trigger_type=TriggerType.API, schedule_time=0, data_time=0, attempt=0, max_attempt=0,
    content="true",
)  # fmt: skip


class Local:
    def __init__(self, address: str = "inproc@here") -> None:
        self.address = address
        self.submitted: list[int] = []

    async def start(self, reporter: RunReporter) -> None: ...

    async def stop(self, grace: float) -> None: ...

    def prepare(self, request: RunRequest) -> None: ...

    def discard(self, instance_id: int) -> None: ...

    def submit(self, request: RunRequest) -> None:
        self.submitted.append(request.instance_id)

    def let_start(self, timeout: float) -> None: ...

    def kill(self, instance_id: int, reason: str) -> bool:
        return False

    def running(self) -> int:
        return len(self.submitted)


class Outcomes:
    def __init__(self) -> None:
        self.seen: list[tuple[int, RunOutcome]] = []

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
        self.seen.append((instance_id, outcome))

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None: ...


def agent(address: str, labels: tuple[str, ...] = (), group: str = "g") -> Agent:
    return Agent(
        worker_id=address,
        namespace="ns",
        group_id=group,
        address=address,
        labels=labels,
        concurrency=4,
    )


def sent_runs(a: Agent) -> list[int]:
    return [m.request.instance_id for m in a.outbox if isinstance(m, Run)]


def test_designation_rules() -> None:
    workers = Designation(kind=1, workers=["a:1"])
    labels = Designation(kind=2, labels=["gpu"])
    assert designation_allows(None, "x")
    assert designation_allows(workers, "a:1") and not designation_allows(workers, "b:1")
    assert designation_allows(labels, "b:1", ("gpu", "x")) and not designation_allows(labels, "a:1")


def test_a_transferable_designation_that_allows_none_allows_any() -> None:
    places = {"a:1": ("a:1", ("gpu",)), "b:1": ("b:1", ())}
    workers = list(places)
    held = Designation(kind=2, labels=["gpu"], transferable=False)
    assert designated(held, workers, places.__getitem__) == ["a:1"]
    assert designated(None, workers, places.__getitem__) == workers
    tpu = Designation(kind=2, labels=["tpu"], transferable=False)
    assert designated(tpu, workers, places.__getitem__) == []
    assert designated(replace(tpu, transferable=True), workers, places.__getitem__) == workers
    assert designated(replace(tpu, transferable=True), [], places.__getitem__) == []


async def test_runs_go_to_the_least_loaded_agent_of_their_group() -> None:
    hub, local = AgentHub(), Local()
    router = RoutingWorker(local, hub)
    busy, idle, elsewhere = agent("busy:1"), agent("idle:1"), agent("other:1", group="h")
    for a in (busy, idle, elsewhere):
        hub.add(a)
    busy.holds[99] = 0
    router.submit(REQUEST)
    assert sent_runs(idle) == [1] and sent_runs(busy) == [] and local.submitted == []
    assert hub.holder(1) is idle
    other_group = replace(REQUEST, instance_id=2, group_id="x")
    router.submit(other_group)
    assert local.submitted == [2]  # no agent of group x: the server's own worker


async def test_designations_choose_among_agents_and_fall_back_when_transferable() -> None:
    hub, local = AgentHub(), Local()
    outcomes = Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(local, hub)
    plain, gpu = agent("plain:1"), agent("gpu:1", ("gpu",))
    hub.add(plain)
    hub.add(gpu)
    router.submit(replace(REQUEST, designation=Designation(kind=2, labels=["gpu"])))
    assert sent_runs(gpu) == [1]
    held = replace(
        REQUEST,
        instance_id=2,
        designation=Designation(kind=1, workers=["gone:1"], transferable=False),
    )
    router.submit(held)
    assert [(i, o.status) for i, o in outcomes.seen] == [(2, InstanceStatus.FAILED)]
    assert "not transferable" in outcomes.seen[0][1].result
    loose = replace(held, instance_id=3, designation=Designation(kind=1, workers=["gone:1"]))
    router.submit(loose)
    assert 3 in sent_runs(plain) + sent_runs(gpu)  # transferable: any live worker


async def test_a_draining_agent_gets_no_runs() -> None:
    hub, local = AgentHub(), Local()
    router = RoutingWorker(local, hub)
    leaving = agent("leaving:1")
    hub.add(leaving)
    hub.handle(leaving, {"op": "heartbeat", "running": 0, "draining": True})
    router.submit(REQUEST)
    assert sent_runs(leaving) == [] and local.submitted == [1]


async def test_with_nobody_live_a_run_waits_for_an_agent_then_gives_up() -> None:
    hub, outcomes = AgentHub(), Outcomes()
    hub.bind(outcomes)
    misses: list[int] = []
    router = RoutingWorker(Local(address=""), hub, wait_s=0.05, on_miss=lambda: misses.append(1))
    router.submit(REQUEST)
    late = agent("late:1")
    hub.add(late)  # the waiting run goes to the agent that joins
    assert sent_runs(late) == [1]
    router.submit(replace(REQUEST, instance_id=2, group_id="nobody"))
    await asyncio.sleep(0.2)
    assert [i for i, _ in outcomes.seen] == [2] and misses == [1]
    assert "no worker available" in outcomes.seen[0][1].result


def split(*entries: tuple[int, list[str], str], status: int = 1) -> RouteStrategy:
    return RouteStrategy(
        name="split",
        status=status,
        entries=[RouteEntry(percentage=p, targets=t, target_type=k) for p, t, k in entries],
    )


def shares(strategy: RouteStrategy, draws: int = 1000) -> Counter[tuple[int, str]]:
    """Which designation each of ``draws`` evenly spaced draws gets: (kind, first target)."""
    seen: Counter[tuple[int, str]] = Counter()
    for i in range(draws):
        d = route_designation(strategy, i / draws)
        assert d is not None and d.transferable
        seen[(d.kind, (d.labels or d.workers)[0])] += 1
    return seen


def test_a_route_strategy_splits_runs_by_percentage() -> None:
    thirty_seventy = split((30, ["blue"], "label"), (70, ["green"], "label"))
    assert shares(thirty_seventy) == {(2, "blue"): 300, (2, "green"): 700}
    assert route_designation(thirty_seventy, 0.0) == Designation(kind=2, labels=["blue"])
    assert route_designation(thirty_seventy, 0.2999) == Designation(kind=2, labels=["blue"])
    assert route_designation(thirty_seventy, 0.3) == Designation(kind=2, labels=["green"])
    assert route_designation(thirty_seventy, 0.9999999) == Designation(kind=2, labels=["green"])
    # uneven shares whose bounds are not exact in binary still split exactly
    odd = split((57, ["a"], "label"), (0, ["never"], "label"), (43, ["w:1", "w:2"], "worker"))
    assert shares(odd, 10_000) == {(2, "a"): 5700, (1, "w:1"): 4300}
    assert route_designation(odd, 0.99) == Designation(kind=1, workers=["w:1", "w:2"])
    assert shares(split((100, ["all"], "label")), 100) == {(2, "all"): 100}


def test_no_split_without_an_enabled_strategy() -> None:
    assert route_designation(None, 0.5) is None
    assert route_designation(split((100, ["x"], "label"), status=0), 0.5) is None
    with pytest.raises(ValueError, match="draw"):
        route_designation(split((100, ["x"], "label")), 1.0)


def test_a_runs_own_designation_wins_then_the_route_strategy_then_the_jobs() -> None:
    held = Designation(kind=1, workers=["job:1"], transferable=False)
    own = Designation(kind=1, workers=["run:1"], transferable=False)
    job = Job(
        namespace="ns",
        group_id="g",
        name="j",
        job_type=JobType.SHELL,
        time_type=TimeType.API,
        designation=held,
        route_strategy=split((50, ["blue"], "label"), (50, ["green"], "label")),
    )
    assert effective_designation(own, job, 0.1) is own
    assert effective_designation(None, job, 0.1) == Designation(kind=2, labels=["blue"])
    assert effective_designation(None, job, 0.6) == Designation(kind=2, labels=["green"])
    assert job.route_strategy is not None
    job.route_strategy.status = 0  # disabled: the job's designation holds again
    assert effective_designation(None, job, 0.1) is held
    job.route_strategy, job.designation = None, None
    assert effective_designation(None, job, 0.1) is None


async def test_the_servers_own_worker_takes_only_the_groups_allowed_on_it() -> None:
    hub, outcomes, local = AgentHub(), Outcomes(), Local()
    hub.bind(outcomes)
    allowed = {("ns", "g")}
    router = RoutingWorker(
        local, hub, wait_s=0.05, runs_here=lambda ns, group: (ns, group) in allowed
    )
    router.submit(REQUEST)
    assert local.submitted == [1]
    assert [w.in_process for w in router.workers_of("ns", "g")] == [True]
    # another group's runs never reach the server's own worker: they wait for an agent
    foreign = replace(REQUEST, instance_id=2, group_id="foreign")
    assert not router.serves("ns", "foreign") and router.workers_of("ns", "foreign") == []
    router.submit(foreign)
    assert local.submitted == [1]
    their_own = agent("theirs:1", group="foreign")
    hub.add(their_own)
    assert sent_runs(their_own) == [2]
    router.submit(replace(foreign, instance_id=3, group_id="nobody"))
    await asyncio.sleep(0.2)
    assert local.submitted == [1] and [i for i, _ in outcomes.seen] == [3]
    assert "allowed on it" in outcomes.seen[0][1].result


# -- job types: a run goes only to a worker that runs its type ------------------------------
JAVA = replace(REQUEST, job_type=JobType.JAVA, content="", class_name="com.example.Hello")


async def test_a_type_no_live_worker_runs_fails_at_once_naming_the_type() -> None:
    hub, local, outcomes = AgentHub(), Local(), Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(local, hub)
    shell_agent = agent("shell:1")  # declares nothing: tickwork's own types
    hub.add(shell_agent)
    router.submit(JAVA)
    assert local.submitted == [] and sent_runs(shell_agent) == []
    [(iid, outcome)] = outcomes.seen
    assert iid == 1 and outcome.status == InstanceStatus.FAILED
    assert outcome.result.startswith("job type java needs a worker that runs java: ")
    assert "no live worker of app group ns/g runs java" in outcome.result
    router.submit(replace(REQUEST, instance_id=2))  # its own types still run
    assert sent_runs(shell_agent) == [2]


async def test_an_agent_that_declares_a_type_gets_its_runs_and_only_it() -> None:
    hub, local, outcomes = AgentHub(), Local(), Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(local, hub)
    idle_shell, java = agent("shell:1"), agent("java:1")
    java.job_types = frozenset({"java"})
    java.holds[99] = 0  # busier than the shell agent: type wins over load
    for a in (idle_shell, java):
        hub.add(a)
    router.submit(JAVA)
    assert sent_runs(java) == [1] and sent_runs(idle_shell) == [] and outcomes.seen == []
    router.submit(replace(REQUEST, instance_id=2))  # a shell run never goes to the java agent
    assert sent_runs(idle_shell) == [2] and sent_runs(java) == [1]
    assert router.task_targets(JAVA) == ["java:1"]
    assert router.refusal_of(JAVA) is None


async def test_a_type_declared_in_hello_or_heartbeat_replaces_the_declaration() -> None:
    hub, local, outcomes = AgentHub(), Local(), Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(local, hub)
    a = agent("a:1")
    hub.add(a)
    hub.handle(a, {"op": "hello", "runs": [], "tasks": [], "job_types": ["Java", "golang"]})
    assert a.job_types == frozenset({"java", "go"})
    router.submit(JAVA)
    assert sent_runs(a) == [1]
    hub.handle(a, {"op": "heartbeat", "running": 0, "job_types": "shell"})
    router.submit(replace(JAVA, instance_id=2))
    assert sent_runs(a) == [1] and [i for i, _ in outcomes.seen] == [2]
    hub.handle(a, {"op": "heartbeat", "running": 0, "job_types": 7})  # malformed: own types
    assert "shell" in a.job_types and "java" not in a.job_types


async def test_a_designation_does_not_send_a_run_to_a_worker_of_another_type() -> None:
    hub, local, outcomes = AgentHub(), Local(), Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(local, hub)
    hub.add(agent("shell:1", labels=("blue",)))
    held = Designation(kind=2, labels=["blue"], transferable=True)
    router.submit(replace(JAVA, designation=held))
    [(_, outcome)] = outcomes.seen
    assert "needs a worker that runs java" in outcome.result


async def test_a_type_waits_for_a_worker_when_none_is_live_then_says_which_type() -> None:
    hub, outcomes = AgentHub(), Outcomes()
    hub.bind(outcomes)
    router = RoutingWorker(Local(address=""), hub, wait_s=0.05)
    router.submit(JAVA)
    await asyncio.sleep(0.2)
    [(_, outcome)] = outcomes.seen
    assert outcome.result.startswith("job type java needs a worker that runs java: ")
    assert "came within 0.05 s" in outcome.result
