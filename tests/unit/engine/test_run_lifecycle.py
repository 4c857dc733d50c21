"""The run lifecycle (engine/runs.py, run_launch.py, run_endings.py, run_state.py) driven by a
fake clock: release at the due instant, MaxConcurrency, the one retry path, timeouts, stops,
and the moves a run may not make. The worker and the writer are recorders; no time passes for
real and nothing runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from fake_timers import FakeTimers

from tickwork.domain.enums import (
    ExecuteMode,
    InstanceStatus,
    JobStatus,
    JobType,
    TimeType,
    TriggerType,
)
from tickwork.domain.models import Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.run_endings import FREE_RESENDS
from tickwork.engine.run_launch import FENCE_RETRY_S
from tickwork.engine.run_state import IllegalMove, Run, RunState
from tickwork.engine.runs import RunManager
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest

NOW = 1_000_000
OK = RunOutcome(InstanceStatus.SUCCESS, "done")
FAILED = RunOutcome(InstanceStatus.FAILED, "exit code 1")


class RecordingWriter:
    """What the batch writer would store. Each update is written at once, unless ``held``:
    then only when ``write`` is called (and those waiting for it are told)."""

    def __init__(self) -> None:
        self.updates: list[InstanceUpdate] = []
        self.lines: list[LogLine] = []
        self.held = False
        self._written = 0
        self._waiting: list[tuple[int, Callable[[], None]]] = []

    def update(self, update: InstanceUpdate) -> int:
        self.updates.append(update)
        if not self.held:
            self._written = len(self.updates)
        return len(self.updates)

    def update_first(self, update: InstanceUpdate) -> int:
        return self.update(update)  # one lane here: everything is written in order

    def written(self, seq: int, *, first: bool = False) -> bool:
        return self._written >= seq

    def when_written(self, seq: int, callback: Callable[[], None], *, first: bool = False) -> None:
        if self.written(seq):
            callback()
        else:
            self._waiting.append((seq, callback))

    def write(self) -> None:
        """The held updates are written now."""
        self._written = len(self.updates)
        waiting, self._waiting = self._waiting, []
        for _, callback in waiting:
            callback()

    def log(self, line: LogLine) -> None:
        self.lines.append(line)

    def statuses(self, instance_id: int) -> list[InstanceStatus]:
        return [u.status for u in self.updates if u.instance_id == instance_id and u.status]

    def last(self, instance_id: int) -> InstanceUpdate:
        return [u for u in self.updates if u.instance_id == instance_id and u.status][-1]


class RecordingWorker:
    """A worker that runs nothing: it records what it was asked."""

    address = "recorder"

    def __init__(self, *, kills: bool = True) -> None:
        self.submitted: list[RunRequest] = []
        self.killed: list[tuple[int, str]] = []
        self._kills = kills

    async def start(self, reporter: RunReporter) -> None: ...

    async def stop(self, grace: float) -> None: ...

    def submit(self, request: RunRequest) -> None:
        self.submitted.append(request)

    def kill(self, instance_id: int, reason: str) -> bool:
        self.killed.append((instance_id, reason))
        return self._kills

    def running(self) -> int:
        return 0


class PreparingWorker(RecordingWorker):
    """One that also makes runs ready ahead of time (``worker.abc.Preparing``)."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[RunRequest] = []
        self.discarded: list[int] = []
        self.started_together: list[list[RunRequest]] = []

    def prepare(self, request: RunRequest) -> None:
        self.prepared.append(request)

    def discard(self, instance_id: int) -> None:
        self.discarded.append(instance_id)

    def start_prepared(self, requests: list[RunRequest]) -> None:
        self.started_together.append(requests)

    def let_start(self, timeout: float) -> None: ...


JOB = Job(
    id=7,
    namespace="ns",
    group_id="g",
    name="nightly",
    job_type=JobType.SHELL,
    time_type=TimeType.CRON,
    max_attempt=0,
    attempt_interval=30,
)


class Rig:
    def __init__(
        self, worker: RecordingWorker | None = None, job: Job = JOB, prepare_ahead_ms: int = 0
    ) -> None:
        self.timers = FakeTimers(NOW)
        self.worker = worker or RecordingWorker()
        self.writer = RecordingWriter()
        self.metrics = EngineMetrics()
        self.jobs = {job.id: job}
        self.fenced = False
        self.runs = RunManager(
            self.worker,
            self.writer,  # type: ignore[arg-type]  # the recorder has what the runs use
            self.metrics,
            self.jobs.get,
            prepare_ahead_ms,
            fence=lambda: self.fenced,
            timers=self.timers,
        )
        self.finals: list[tuple[int, InstanceStatus]] = []
        self.runs.on_final(lambda job, inst, at: self.finals.append((inst.id, inst.status)))

    def instance(self, iid: int, due: int = NOW + 1000, **kw: object) -> Instance:
        fields: dict[str, object] = dict(
            id=iid,
            job_id=7,
            namespace="ns",
            group_id="g",
            trigger_type=TriggerType.SCHEDULED,
            time_type=TimeType.CRON,
            schedule_time=due,
        )
        fields.update(kw)
        return Instance(**fields)  # type: ignore[arg-type]

    def running(self) -> float:
        return float(self.metrics.running._value.get())


def test_a_planned_fire_is_released_at_its_due_instant_and_not_before() -> None:
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    assert rig.runs.state_of(1) is RunState.PLANNED
    rig.timers.advance(999)
    assert rig.worker.submitted == []
    rig.timers.advance(1)
    assert [r.instance_id for r in rig.worker.submitted] == [1]
    assert rig.runs.state_of(1) is RunState.RUNNING
    # the start claimed, then the start recorded
    assert rig.writer.statuses(1) == [InstanceStatus.READY, InstanceStatus.RUNNING]
    assert rig.writer.last(1).start_time == NOW + 1000
    assert rig.running() == 1
    rig.runs.finished(1, 0, OK, NOW + 1500)
    assert rig.runs.state_of(1) is None and rig.runs.ended_here(1)
    assert rig.writer.last(1).status == InstanceStatus.SUCCESS
    assert rig.finals == [(1, InstanceStatus.SUCCESS)]
    assert rig.running() == 0 and rig.timers.pending() == 0


def test_a_fire_over_max_concurrency_is_rejected_and_the_slot_frees_at_the_end() -> None:
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    rig.runs.arm(rig.instance(2), JOB)
    rig.timers.advance(1000)
    assert [r.instance_id for r in rig.worker.submitted] == [1]
    assert rig.writer.last(2).status == InstanceStatus.REJECTED
    assert "MaxConcurrency 1 reached" in (rig.writer.last(2).result or "")
    assert rig.runs.active_count(7) == 1
    rig.runs.finished(1, 0, OK, NOW + 1100)
    assert rig.runs.active_count(7) == 0
    rig.runs.arm(rig.instance(3, due=NOW + 2000), JOB)
    rig.timers.advance(1000)
    assert [r.instance_id for r in rig.worker.submitted] == [1, 3]


def test_a_failed_attempt_waits_its_attempt_interval_then_runs_again() -> None:
    job = replace(JOB, max_attempt=1)
    rig = Rig(job=job)
    rig.runs.arm(rig.instance(1), job)
    rig.timers.advance(1000)
    rig.runs.finished(1, 0, FAILED, NOW + 1200)
    assert rig.runs.state_of(1) is RunState.WAITING_RETRY
    assert rig.writer.last(1).status == InstanceStatus.WAITING
    assert rig.running() == 0
    rig.timers.advance(29_999)
    assert len(rig.worker.submitted) == 1
    rig.timers.advance(1)
    second = rig.worker.submitted[-1]
    assert (second.attempt, second.trigger_type) == (1, TriggerType.SCHEDULED)
    rig.runs.finished(1, 1, FAILED, rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.FAILED  # no attempts left
    assert rig.finals == [(1, InstanceStatus.FAILED)]
    assert any("retrying in 30 s" in line.line for line in rig.writer.lines)


def test_a_lost_attempt_is_a_system_retry_at_once_and_stays_one() -> None:
    job = replace(JOB, max_attempt=2)
    rig = Rig(job=job)
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), job)
    rig.runs.finished(1, 0, RunOutcome(InstanceStatus.FAILED, "worker gone", lost=True), NOW)
    assert rig.writer.updates[-1].trigger_type == TriggerType.SYSTEM_RETRY
    rig.timers.advance(0)
    assert rig.worker.submitted[-1].trigger_type == TriggerType.SYSTEM_RETRY
    rig.runs.finished(1, 1, FAILED, NOW)  # an ordinary failure of the system retry
    rig.timers.advance(30_000)
    third = rig.worker.submitted[-1]
    assert (third.attempt, third.trigger_type) == (2, TriggerType.SYSTEM_RETRY)


def test_a_timeout_kills_the_attempt_which_fails_and_is_retried() -> None:
    job = replace(JOB, max_attempt=1, timeout=5, timeout_kill_enable=True)
    rig = Rig(job=job)
    rig.runs.arm(rig.instance(1), job)
    rig.timers.advance(1000 + 4999)
    assert rig.worker.killed == []
    rig.timers.advance(1)
    assert rig.worker.killed == [(1, "timed out after 5 s")]
    assert rig.runs.state_of(1) is RunState.STOPPING
    rig.runs.finished(1, 0, RunOutcome(InstanceStatus.KILLED, "killed"), rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.WAITING
    assert rig.writer.last(1).result == "timed out after 5 s"
    assert rig.runs.state_of(1) is RunState.WAITING_RETRY


def test_a_stop_ends_a_running_run_as_killed_and_a_planned_one_at_once() -> None:
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    rig.runs.arm(rig.instance(2, due=NOW + 60_000), replace(JOB, id=7))
    rig.timers.advance(1000)
    assert rig.runs.stop(1, "alice")
    assert rig.runs.state_of(1) is RunState.STOPPING
    rig.runs.finished(1, 0, RunOutcome(InstanceStatus.FAILED, "signal 15"), rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.KILLED
    assert rig.writer.last(1).result == "stopped by alice"
    assert rig.runs.stop(2, "bob")
    assert rig.writer.last(2).status == InstanceStatus.KILLED
    rig.timers.advance(60_000)
    assert [r.instance_id for r in rig.worker.submitted] == [1]
    assert not rig.runs.stop(3, "carol")  # not held


def test_a_run_the_worker_does_not_know_ends_killed_when_stopped() -> None:
    rig = Rig(RecordingWorker(kills=False))
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    rig.runs.stop(1, "alice")
    assert rig.writer.last(1).status == InstanceStatus.KILLED
    assert rig.running() == 0


def test_a_fire_of_a_job_disabled_before_its_due_instant_is_removed() -> None:
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    rig.jobs[7] = replace(JOB, status=JobStatus.DISABLED)
    rig.timers.advance(1000)
    assert rig.writer.last(1).status == InstanceStatus.REMOVED
    assert rig.worker.submitted == [] and rig.finals == []  # removed fires tell nobody


def test_a_fire_is_held_back_while_the_lease_is_in_doubt() -> None:
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    rig.fenced = True
    rig.timers.advance(1000)
    assert rig.worker.submitted == [] and rig.runs.state_of(1) is RunState.PLANNED
    rig.fenced = False
    rig.timers.advance(round(FENCE_RETRY_S * 1000))
    assert [r.instance_id for r in rig.worker.submitted] == [1]


def test_a_preparing_worker_prepares_ahead_and_a_withdrawn_fire_is_discarded() -> None:
    worker = PreparingWorker()
    rig = Rig(worker, prepare_ahead_ms=200)
    rig.runs.arm(rig.instance(1), JOB)
    rig.runs.arm(rig.instance(2, due=NOW + 5000), JOB)
    rig.timers.advance(799)
    assert worker.prepared == []
    rig.timers.advance(1)
    assert [r.instance_id for r in worker.prepared] == [1]
    rig.timers.advance(200)
    # the very request prepared is started, first together with its batch, then submitted
    assert worker.started_together == [[worker.prepared[0]]]
    assert worker.submitted == [worker.prepared[0]]
    rig.runs.finished(1, 0, OK, rig.timers.now)  # a slot is free: 2 will be prepared
    rig.timers.advance(3800)
    assert [r.instance_id for r in worker.prepared] == [1, 2]
    assert rig.runs.withdraw_planned(7) == [2]
    assert worker.discarded == [2]
    rig.timers.advance(1000)
    assert [r.instance_id for r in worker.submitted] == [1]


def test_a_changed_job_is_prepared_again_from_its_new_definition() -> None:
    worker = PreparingWorker()
    rig = Rig(worker, prepare_ahead_ms=200)
    rig.runs.arm(rig.instance(1), JOB)
    rig.timers.advance(800)
    changed = replace(JOB, content="echo new")
    rig.jobs[7] = changed
    rig.runs.job_updated(changed)
    rig.timers.advance(200)
    assert worker.prepared[0].content == "" and worker.submitted[0].content == "echo new"


def test_runs_handed_off_or_left_at_a_lost_lease_are_dropped_without_a_word() -> None:
    rig = Rig()
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    rig.runs.arm(rig.instance(2), replace(JOB, id=7))
    before = len(rig.writer.updates)
    rig.runs.drop_handed_off([1])
    rig.runs.drop_unlaunched()
    assert not rig.runs.holds(1) and not rig.runs.holds(2)
    assert len(rig.writer.updates) == before and rig.finals == []
    assert rig.running() == 0 and rig.runs.active_count(7) == 0
    rig.timers.advance(1000)
    assert [r.instance_id for r in rig.worker.submitted] == [1]  # 2 never fires here


def test_an_outcome_of_another_attempt_is_ignored() -> None:
    rig = Rig()
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    rig.runs.finished(1, 5, OK, NOW)
    assert rig.runs.state_of(1) is RunState.RUNNING


def test_a_distributed_run_without_task_dispatch_fails_with_a_reason() -> None:
    job = replace(JOB, execute_mode=ExecuteMode.BROADCAST)
    rig = Rig(job=job)
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), job)
    rig.timers.advance(0)
    assert rig.writer.last(1).status == InstanceStatus.FAILED
    assert rig.writer.last(1).result == "this server cannot run distributed jobs"


def test_a_run_may_not_make_an_illegal_move() -> None:
    run = Run(instance=Rig().instance(1), job=JOB, attempt=0)
    with pytest.raises(IllegalMove):
        run.move(RunState.STOPPING)  # never started
    run.move(RunState.PLANNED)
    run.move(RunState.ENDED)
    with pytest.raises(IllegalMove):
        run.move(RunState.RUNNING)  # an ended run never runs again


def test_leaving_a_state_cancels_the_timer_it_owned() -> None:
    timers = FakeTimers(NOW)
    run = Run(instance=Rig().instance(1), job=JOB, attempt=0)
    run.move(RunState.WAITING_RETRY, timers.call_later(30, lambda: None))
    assert timers.pending() == 1
    run.move(RunState.RUNNING)
    assert timers.pending() == 0 and run.timer is None


UNSTARTED = RunOutcome(
    InstanceStatus.FAILED, "worker w fell silent before it confirmed the start", lost=True,
    unstarted=True,
)  # fmt: skip


def test_a_run_lost_before_it_started_goes_again_without_using_up_a_retry() -> None:
    rig = Rig()  # max attempts 0
    rig.runs.arm(rig.instance(1), JOB)
    rig.timers.advance(1000)
    for attempt in range(FREE_RESENDS):
        rig.runs.finished(1, attempt, UNSTARTED, rig.timers.now)
        rig.timers.advance(0)
        again = rig.worker.submitted[-1]
        assert (again.attempt, again.trigger_type) == (attempt + 1, TriggerType.SYSTEM_RETRY)
    # a worker that keeps falling silent does not keep the run going for ever
    rig.runs.finished(1, FREE_RESENDS, UNSTARTED, rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.FAILED
    texts = [line.line for line in rig.writer.lines]
    assert any("attempt 1 of 2 was lost" in text for text in texts), texts
    assert any("attempt 3 of 4 was lost" in text for text in texts), texts


def test_a_resend_leaves_the_jobs_retries_whole() -> None:
    job = replace(JOB, max_attempt=1, attempt_interval=0)
    rig = Rig(job=job)
    rig.runs.arm(rig.instance(1), job)
    rig.timers.advance(1000)
    rig.runs.finished(1, 0, UNSTARTED, rig.timers.now)  # never started: sent again
    rig.timers.advance(0)
    rig.runs.finished(1, 1, FAILED, rig.timers.now)  # its own failure: the one retry
    rig.timers.advance(0)
    assert rig.worker.submitted[-1].attempt == 2
    rig.runs.finished(1, 2, FAILED, rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.FAILED


def test_a_run_lost_after_it_started_uses_up_its_attempts() -> None:
    rig = Rig()  # max attempts 0: a started run lost is the end
    rig.runs.arm(rig.instance(1), JOB)
    rig.timers.advance(1000)
    rig.runs.finished(1, 0, replace(UNSTARTED, unstarted=False), rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.FAILED
    assert len(rig.worker.submitted) == 1


def test_a_kill_its_worker_never_confirmed_is_recorded_as_pending_then_lost() -> None:
    rig = Rig()
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    rig.runs.stop(1, "alice")
    assert rig.runs.state_of(1) is RunState.STOPPING  # pending: not recorded killed yet
    assert rig.writer.statuses(1) == [InstanceStatus.READY, InstanceStatus.RUNNING]
    gone = RunOutcome(InstanceStatus.FAILED, "worker w was lost: silent for 10 s", lost=True)
    rig.runs.finished(1, 0, gone, rig.timers.now)
    last = rig.writer.last(1)
    assert last.status == InstanceStatus.KILLED
    assert (last.result or "").startswith("stopped by alice; its worker was lost before it")


def test_a_late_outcome_is_written_to_the_instances_log() -> None:
    rig = Rig()
    rig.runs.late_outcome(1, 0, OK, "agent-a:1", NOW)
    [line] = rig.writer.lines
    assert line.attempt == 0 and line.line.startswith("[tickwork] late outcome: attempt 1")
    assert "agent-a:1" in line.line and "success (done)" in line.line
    assert rig.writer.updates == []  # the status stays what was decided


# -- the start claim -------------------------------------------------------------------------------
def test_no_attempt_goes_to_the_worker_before_its_start_claim_is_written() -> None:
    rig = Rig()
    rig.writer.held = True
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    assert rig.writer.statuses(1) == [InstanceStatus.READY]
    assert rig.writer.updates[-1].attempt == 0
    assert rig.worker.submitted == [] and rig.runs.state_of(1) is RunState.NEW
    rig.writer.write()
    assert [r.instance_id for r in rig.worker.submitted] == [1]
    assert rig.writer.statuses(1) == [InstanceStatus.READY, InstanceStatus.RUNNING]


def test_a_retry_claims_its_own_attempt_before_it_starts() -> None:
    job = replace(JOB, max_attempt=1, attempt_interval=0)
    rig = Rig(job=job)
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), job)
    rig.writer.held = True
    rig.runs.finished(1, 0, FAILED, rig.timers.now)
    rig.timers.advance(0)
    claim = rig.writer.updates[-1]
    assert (claim.status, claim.attempt) == (InstanceStatus.READY, 1)
    assert len(rig.worker.submitted) == 1  # the retry waits for its claim
    rig.writer.write()
    assert [r.attempt for r in rig.worker.submitted] == [0, 1]


def test_a_planned_fire_is_claimed_ahead_and_a_late_claim_holds_it_back() -> None:
    job = replace(JOB, max_concurrency=2)
    rig = Rig(job=job, prepare_ahead_ms=200)
    rig.runs.arm(rig.instance(1), job)
    rig.runs.arm(rig.instance(2, due=NOW + 1100), job)
    rig.timers.advance(800)  # 200 ms before the first is due: it is claimed
    assert rig.writer.statuses(1) == [InstanceStatus.READY] and rig.writer.statuses(2) == []
    rig.writer.held = True
    rig.timers.advance(100)  # the second is claimed, and that claim is slow to be written
    rig.timers.advance(100)
    assert [r.instance_id for r in rig.worker.submitted] == [1]  # claimed in time: on time
    rig.timers.advance(100)
    assert [r.instance_id for r in rig.worker.submitted] == [1]  # due, but not claimed yet
    rig.timers.advance(50)
    rig.writer.write()
    assert [r.instance_id for r in rig.worker.submitted] == [1, 2]
    assert rig.writer.last(2).start_time == NOW + 1150  # started when its claim was written


def test_a_claim_is_taken_back_when_the_run_leaves_unstarted() -> None:
    rig = Rig(prepare_ahead_ms=200)
    rig.runs.arm(rig.instance(1), JOB)
    rig.timers.advance(900)
    assert rig.writer.statuses(1) == [InstanceStatus.READY]
    (given,) = rig.runs.give_up_unlaunched()  # a graceful stop hands it over
    assert given.instance.id == 1
    back = rig.writer.updates[-1]
    assert (back.status, back.attempt) == (InstanceStatus.WAITING, 0)
    assert back.only_if_status == frozenset({InstanceStatus.READY})


def test_a_claim_for_a_run_stopped_while_it_waited_starts_nothing() -> None:
    rig = Rig()
    rig.writer.held = True
    rig.runs.start_now(rig.instance(1, due=NOW, trigger_type=TriggerType.API), JOB)
    rig.runs.stop(1, "alice")
    rig.writer.write()
    assert rig.worker.submitted == []
    assert rig.writer.last(1).status == InstanceStatus.KILLED


def test_a_due_fire_waiting_for_its_claim_is_not_withdrawn_and_ends_removed() -> None:
    """Its job disabled while a fire waits past its instant for its start claim: the fire
    is kept and recorded REMOVED once released, while one not due yet is withdrawn."""
    rig = Rig()
    rig.runs.arm(rig.instance(1), JOB)
    rig.runs.arm(rig.instance(2, due=NOW + 5000), JOB)
    rig.writer.held = True
    rig.timers.advance(1000)  # 1 is due; its claim is not written
    assert rig.runs.state_of(1) is RunState.PLANNED
    assert rig.runs.withdraw_planned(7, due_too=False) == [2]
    rig.jobs[7] = replace(JOB, status=JobStatus.DISABLED)
    rig.writer.write()
    assert rig.worker.submitted == []
    assert rig.writer.last(1).status == InstanceStatus.REMOVED
