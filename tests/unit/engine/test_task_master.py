"""Task masters (engine/tasks.py, engine/modes.py) driven by a fake clock and a recording
dispatch: waiting for workers, pinned broadcast parts, task retries after their interval, and
a kill that waits for the workers' answers. No worker runs and no time passes for real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fake_timers import FakeTimers

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.models import Job
from tickwork.engine.modes import create_master
from tickwork.engine.tasks import MasterHooks, TaskMaster
from tickwork.worker.abc import RunOutcome, RunRequest

NOW = 5_000_000


class RecordingDispatch:
    """Where the master's tasks go: recorded; which workers are live is up to the test."""

    wait_s = 30.0

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets
        self.sent: list[tuple[str, RunRequest]] = []
        self.kills: list[tuple[str, int, str]] = []
        self.joined: list[Callable[[Any], None]] = []
        self.misses = 0

    def task_targets(self, request: RunRequest) -> list[str]:
        return list(self.targets)

    def refusal_of(self, request: RunRequest) -> str | None:
        return None

    def send_tasks(self, address: str, requests: list[RunRequest]) -> bool:
        self.sent.extend((address, r) for r in requests)
        return True

    def kill_tasks(
        self, address: str, namespace: str, group_id: str, iid: int, reason: str
    ) -> None:
        self.kills.append((address, iid, reason))

    def worker_joined(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.joined.append(listener)
        return lambda: self.joined.remove(listener)

    def missed(self) -> None:
        self.misses += 1


JOB = Job(
    id=3,
    namespace="ns",
    group_id="g",
    name="spread",
    job_type=JobType.SHELL,
    time_type=TimeType.API,
    execute_mode=ExecuteMode.BROADCAST,
    task_max_attempt=1,
    task_attempt_interval=10,
)

REQUEST = RunRequest(
    instance_id=42,
    job_id=3,
    job_name="spread",
    namespace="ns",
    group_id="g",
    job_type=JobType.SHELL,
    execute_mode=ExecuteMode.BROADCAST,
    time_type=TimeType.API,
    trigger_type=TriggerType.API,
    schedule_time=NOW,
    data_time=NOW,
    attempt=0,
    max_attempt=0,
)


class Rig:
    def __init__(self, targets: list[str], job: Job = JOB) -> None:
        self.timers = FakeTimers(NOW)
        self.dispatch = RecordingDispatch(targets)
        self.outcomes: list[tuple[RunOutcome, int]] = []
        self.log: list[str] = []
        hooks = MasterHooks(
            done=lambda outcome, at: self.outcomes.append((outcome, at)),
            log=self.log.append,
            progress=lambda text: None,
            workers=lambda text: None,
        )
        request = replace(REQUEST, execute_mode=job.execute_mode)
        self.master: TaskMaster = create_master(request, job, self.dispatch, hooks, self.timers)

    def report(self, address: str, outcome: RunOutcome) -> None:
        """The worker at ``address`` says how its last task went."""
        request = [r for a, r in self.dispatch.sent if a == address][-1]
        assert request.task is not None
        key = (request.task.task_id, request.task.attempt)
        self.master.task_finished(key, outcome, self.timers.now)


OK = RunOutcome(InstanceStatus.SUCCESS, "fine")


def test_a_broadcast_gives_each_live_worker_its_part_and_succeeds_when_all_did() -> None:
    rig = Rig(["w2", "w1"])
    rig.master.start()
    assert sorted(a for a, _ in rig.dispatch.sent) == ["w1", "w2"]
    rig.report("w1", OK)
    assert rig.outcomes == []
    rig.report("w2", OK)
    assert [(o.status, at) for o, at in rig.outcomes] == [(InstanceStatus.SUCCESS, NOW)]


def test_with_no_worker_the_run_waits_the_bound_then_fails_saying_why() -> None:
    rig = Rig([])
    rig.master.start()
    rig.timers.advance(29_999)
    assert rig.outcomes == []
    rig.timers.advance(1)
    [(outcome, at)] = rig.outcomes
    assert outcome.status == InstanceStatus.FAILED and "no worker available" in outcome.result
    assert at == NOW + 30_000 and rig.dispatch.misses == 1


def test_a_worker_that_joins_while_the_run_waits_gets_its_part() -> None:
    rig = Rig([])
    rig.master.start()
    rig.timers.advance(5_000)
    rig.dispatch.targets.append("w1")
    for listener in list(rig.dispatch.joined):
        listener(object())
    rig.timers.advance(0)
    assert [a for a, _ in rig.dispatch.sent] == ["w1"]
    rig.timers.advance(60_000)  # the wait bound no longer applies
    assert rig.outcomes == []


def test_a_failed_part_is_retried_after_its_task_attempt_interval() -> None:
    rig = Rig(["w1"])
    rig.master.start()
    rig.report("w1", RunOutcome(InstanceStatus.FAILED, "exit 3"))
    assert len(rig.dispatch.sent) == 1
    rig.timers.advance(9_999)
    assert len(rig.dispatch.sent) == 1
    rig.timers.advance(1)
    assert len(rig.dispatch.sent) == 2
    rig.report("w1", RunOutcome(InstanceStatus.FAILED, "exit 3"))  # no retries left
    [(outcome, _)] = rig.outcomes
    assert outcome.status == InstanceStatus.FAILED and "1 of 1 workers failed" in outcome.result


def test_a_kill_asks_every_busy_worker_and_ends_once_they_answered() -> None:
    rig = Rig(["w1", "w2"])
    rig.master.start()
    rig.master.kill("stopped by alice")
    assert sorted(a for a, _, _ in rig.dispatch.kills) == ["w1", "w2"]
    rig.report("w1", RunOutcome(InstanceStatus.KILLED, "signal 15"))
    assert rig.outcomes == []
    rig.report("w2", RunOutcome(InstanceStatus.KILLED, "signal 15"))
    [(outcome, _)] = rig.outcomes
    assert (outcome.status, outcome.result) == (InstanceStatus.KILLED, "stopped by alice")
    assert rig.timers.pending() == 0  # no progress or wait timer outlives the run
