"""A worker agent speaks only for what it was handed (engine/agents.py ``AgentHub.handle``):
reports on another worker's runs, another attempt, or a task it does not hold are ignored,
and a worker id reconnecting takes back only its own group's runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.engine.agents import Agent, AgentHub
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey

REQUEST = RunRequest(
    instance_id=7, job_id=1, job_name="j", namespace="ns", group_id="b",
    job_type=JobType.SHELL, execute_mode=ExecuteMode.STANDALONE, time_type=TimeType.API,
    trigger_type=TriggerType.API, schedule_time=0, data_time=0, attempt=1, max_attempt=3,
    content="true",
)  # fmt: skip


class Reports:
    """Every report the hub passes on to the engine."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None:
        self.seen.append(("started", instance_id, attempt, task))

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None:
        self.seen.append(("log", instance_id, attempt, line))

    def progress(self, instance_id: int, attempt: int, progress: str) -> None:
        self.seen.append(("progress", instance_id, attempt, progress))

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None:
        self.seen.append(("finished", instance_id, attempt, outcome.status, task))

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None:
        self.seen.append(("mapped", instance_id, attempt, task))


def worker(worker_id: str, group: str) -> Agent:
    return Agent(worker_id=worker_id, namespace="ns", group_id=group, address=f"{worker_id}:1")


def forged(op: str, instance_id: int = 7, attempt: int = 1, **extra: Any) -> dict[str, Any]:
    return {"op": op, "instance_id": instance_id, "attempt": attempt, "at": 1, **extra}


async def test_a_worker_cannot_report_on_another_groups_run() -> None:
    hub, reports = AgentHub(), Reports()
    hub.bind(reports)
    owner, intruder = worker("owner", "b"), worker("intruder", "a")
    hub.add(owner)
    hub.add(intruder)
    hub.assign(REQUEST, owner)
    for message in (
        forged("started"),
        forged("log", line="planted"),
        forged("progress", progress="99%"),
        forged("finished", status=int(InstanceStatus.SUCCESS), result="forged"),
    ):
        hub.handle(intruder, message)
    assert reports.seen == []
    assert hub.holder(7) is owner  # still the owner's run
    hub.handle(owner, forged("log", line="real"))
    hub.handle(owner, forged("finished", status=int(InstanceStatus.SUCCESS), result="ok"))
    assert reports.seen == [
        ("log", 7, 1, "real"),
        ("finished", 7, 1, InstanceStatus.SUCCESS, None),
    ]
    assert hub.holder(7) is None and owner.holds == {}


async def test_a_worker_speaks_only_for_the_attempt_and_tasks_it_holds() -> None:
    hub, reports = AgentHub(), Reports()
    hub.bind(reports)
    owner = worker("owner", "b")
    hub.add(owner)
    hub.assign(REQUEST, owner)
    hub.handle(owner, forged("finished", attempt=0, status=int(InstanceStatus.SUCCESS)))
    hub.handle(owner, forged("log", instance_id=8, line="not mine"))
    # tasks: only the (task, task attempt) sent to it
    owner.tasks[(9, 4)] = (0, 2)
    hub.handle(owner, forged("finished", 9, 0, task_id=5, status=int(InstanceStatus.SUCCESS)))
    hub.handle(
        owner,
        forged("finished", 9, 0, task_id=4, task_attempt=1, status=int(InstanceStatus.SUCCESS)),
    )
    hub.handle(owner, forged("mapped", 9, 0, task_id=5, task_name="x", tasks=["a"]))
    assert reports.seen == []
    hub.handle(
        owner,
        forged("finished", 9, 0, task_id=4, task_attempt=2, status=int(InstanceStatus.SUCCESS)),
    )
    assert reports.seen == [("finished", 9, 0, InstanceStatus.SUCCESS, (4, 2))]
    assert owner.tasks == {}


async def test_a_reconnecting_worker_id_takes_back_only_its_own_groups_runs() -> None:
    hub, reports = AgentHub(resume_grace_s=30), Reports()
    hub.bind(reports)
    owner = worker("w-1", "b")
    hub.add(owner)
    hub.assign(REQUEST, owner)
    hub.disconnected(owner, "network blip")
    impostor = worker("w-1", "a")  # the same worker id, in a group it has an AppKey for
    hub.add(impostor)
    assert impostor.holds == {}
    hub.handle(impostor, forged("finished", status=int(InstanceStatus.SUCCESS), result="forged"))
    assert reports.seen == []
    back = replace(owner, outbox=[], holds={}, tasks={})  # the real worker comes back
    hub.add(back)
    assert back.holds == {7: 1} and hub.holder(7) is back


async def test_a_tasks_log_lines_are_its_workers_to_send() -> None:
    hub, reports = AgentHub(), Reports()
    hub.bind(reports)
    runner, other = worker("runner", "b"), worker("other", "b")
    hub.add(runner)
    hub.add(other)
    runner.tasks[(9, 4)] = (0, 0)  # a task of instance 9, attempt 0
    hub.handle(runner, forged("log", 9, 0, line="from the task"))
    hub.handle(other, forged("log", 9, 0, line="not its task"))
    hub.handle(runner, forged("log", 9, 1, line="another attempt"))
    # a log line may come from a task; a run's end or progress may not
    hub.handle(runner, forged("finished", 9, 0, status=int(InstanceStatus.SUCCESS)))
    hub.handle(runner, forged("progress", 9, 0, progress="50%"))
    assert reports.seen == [("log", 9, 0, "from the task")]
    assert runner.ignored == 3 and other.ignored == 1
