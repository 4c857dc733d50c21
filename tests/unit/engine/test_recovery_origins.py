"""Recovery of overdue fires by where they come from (engine/recovery.py, ``Origin``), on a
fake clock with the real run manager: fires adopted from a server that died (or handed over
by one that stops) while this one ran all run, late, one after another under MaxConcurrency;
fires found overdue at start follow the misfire rules as before; a skip names its cause; an
attempt its dead server had claimed or was running runs again as the next attempt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from fake_timers import FakeTimers
from test_run_lifecycle import JOB, NOW, OK, Rig

from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.models import Instance, InstanceUpdate, Job
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.recovery import LOST_WITH_SERVER_RESENDS, Origin, Recovery
from tickwork.engine.run_launch import SLOT_RETRY_S
from tickwork.engine.schedules import ScheduleCache
from tickwork.worker.abc import RunOutcome

EVERY_SECOND = "* * * * * ?"
THRESHOLD = 5000


class FakeStore:
    """The job rows recovery reads (and the schedule cache, its calendars)."""

    def __init__(self, job: Job) -> None:
        self.job = job

    async def get_job(self, job_id: int) -> Job | None:
        return self.job if job_id == self.job.id else None

    def __getattr__(self, name: str) -> Any:  # the schedule cache asks for nothing else here
        raise AssertionError(f"recovery called store.{name}")


class StayHere:
    """Hand-offs that keep everything here (no other server has workers)."""

    async def hand_off_adopted(
        self, leftovers: list[Instance], jobs: Mapping[int, Job | None]
    ) -> list[Instance]:
        return leftovers


class Flushing:
    """The rig's recording writer, with the flush recovery awaits."""

    def __init__(self, rig: Rig) -> None:
        self._rig = rig

    def update(self, update: InstanceUpdate) -> None:
        self._rig.writer.update(update)

    def log(self, line: Any) -> None:
        self._rig.writer.log(line)

    async def flush(self) -> None: ...


JOB_1S = replace(JOB, time_expression=EVERY_SECOND, timezone="UTC")


def recovery(rig: Rig, timers: FakeTimers) -> Recovery:
    store = FakeStore(JOB_1S)
    return Recovery(
        store,  # type: ignore[arg-type]  # only get_job is called
        runs=rig.runs,
        writer=Flushing(rig),  # type: ignore[arg-type]
        jobs=JobRegistry(store),
        schedules=ScheduleCache(store),  # type: ignore[arg-type]
        hand_offs=StayHere(),  # type: ignore[arg-type]
        metrics=rig.metrics,
        misfire_threshold_ms=THRESHOLD,
        final_listeners=(),
        clock=timers.now_ms,
    )


def planned(rig: Rig, iid: int, due: int) -> Instance:
    return rig.instance(iid, due=due, trigger_type=TriggerType.SCHEDULED)


def leftovers(rig: Rig, dues: Sequence[int]) -> list[Instance]:
    return [planned(rig, 1 + n, due) for n, due in enumerate(dues)]


async def test_fires_adopted_late_all_run_one_after_another() -> None:
    """A server died holding a 1-second job's next three fires; adopted 2.5 s after the first
    was due, the two overdue ones run now, in turn (MaxConcurrency 1), none skipped or
    rejected, and the third on time."""
    rig = Rig(job=JOB_1S)
    dead_at = NOW
    fires = leftovers(rig, [dead_at + 1000, dead_at + 2000, dead_at + 3000])
    rig.timers.advance(2500)
    await recovery(rig, rig.timers).recover(fires, Origin.ADOPTED)
    rig.timers.advance(0)
    assert [r.instance_id for r in rig.worker.submitted] == [1]  # the next waits for its slot
    assert rig.writer.statuses(2) == [InstanceStatus.READY]  # claimed, not rejected
    rig.runs.finished(1, 0, OK, rig.timers.now + 5)
    rig.timers.advance(int(SLOT_RETRY_S * 1000))
    assert [r.instance_id for r in rig.worker.submitted] == [1, 2]
    rig.runs.finished(2, 0, OK, rig.timers.now + 5)
    rig.timers.advance(500)  # the third's due instant
    assert [r.instance_id for r in rig.worker.submitted] == [1, 2, 3]
    statuses = [s for iid in (1, 2, 3) for s in rig.writer.statuses(iid)]
    assert InstanceStatus.SKIPPED not in statuses and InstanceStatus.REJECTED not in statuses


async def test_a_fire_handed_over_at_a_stop_that_came_due_meanwhile_runs_late() -> None:
    rig = Rig(job=JOB_1S)
    fire = planned(rig, 1, NOW + 1000)
    rig.timers.advance(1030)  # handed over 30 ms before its due instant, taken up after it
    await recovery(rig, rig.timers).recover([fire], Origin.TAKEN_UP)
    rig.timers.advance(0)
    assert [r.instance_id for r in rig.worker.submitted] == [1]
    assert rig.writer.statuses(1) == [InstanceStatus.READY, InstanceStatus.RUNNING]


async def test_a_late_fire_waits_for_its_slot_only_until_the_misfire_threshold() -> None:
    rig = Rig(job=JOB_1S)
    rig.runs.start_now(rig.instance(9, due=NOW, trigger_type=TriggerType.API), JOB_1S)
    fire = planned(rig, 1, NOW + 1000)
    rig.timers.advance(2000)
    await recovery(rig, rig.timers).recover([fire], Origin.ADOPTED)
    rig.timers.advance(THRESHOLD - 1000 - 50)
    # claimed, and still waiting: run 9 holds the only slot
    assert rig.writer.statuses(1) == [InstanceStatus.READY]
    rig.timers.advance(100)
    assert rig.writer.statuses(1) == [InstanceStatus.READY, InstanceStatus.REJECTED]


async def test_fires_found_overdue_at_start_follow_the_misfire_rules_as_before() -> None:
    """No server ran them: only the newest may fire, and none when the job fires again
    within the threshold (its next regular fire is planned by the rounds anyway)."""
    rig = Rig(job=JOB_1S)
    fires = leftovers(rig, [NOW + 1000, NOW + 2000])
    rig.timers.advance(2500)
    await recovery(rig, rig.timers).recover(fires, Origin.START)
    rig.timers.advance(0)
    assert rig.worker.submitted == []
    assert rig.writer.statuses(1) == rig.writer.statuses(2) == [InstanceStatus.SKIPPED]


async def test_a_skip_past_the_threshold_names_its_cause() -> None:
    for origin, cause in (
        (Origin.START, "no server was running"),
        (Origin.ADOPTED, "its server stopped and this one adopted it only after the threshold"),
    ):
        rig = Rig(job=JOB_1S)
        fires = leftovers(rig, [NOW + 1000, NOW + 2000])  # the older is skipped: newest fires
        rig.timers.advance(2000 + THRESHOLD + 1)
        await recovery(rig, rig.timers).recover(fires, origin)
        assert rig.writer.last(1).status == InstanceStatus.SKIPPED
        assert rig.writer.last(1).result == f"skipped by the misfire policy: {cause}"


async def test_an_attempt_its_server_claimed_runs_again_as_the_next_attempt() -> None:
    """READY: the dead server claimed attempt 0 and may have started it. Attempt 0 is never
    started again: attempt 1 runs at once, using none of the job's retries (the job has
    none), still a scheduled fire (it may never have started: not a system retry)."""
    rig = Rig(job=JOB_1S)
    claimed = replace(planned(rig, 1, NOW + 1000), status=InstanceStatus.READY)
    rig.timers.advance(3000)
    await recovery(rig, rig.timers).recover([claimed], Origin.ADOPTED)
    rig.timers.advance(0)
    lost = rig.writer.updates[0]
    assert lost.status == InstanceStatus.WAITING and lost.trigger_type is None
    assert (lost.result or "").startswith("its server stopped around its start")
    assert [(r.instance_id, r.attempt) for r in rig.worker.submitted] == [(1, 1)]
    assert [r.trigger_type for r in rig.worker.submitted] == [TriggerType.SCHEDULED]
    rig.runs.finished(1, 1, OK, rig.timers.now)
    assert rig.writer.last(1).status == InstanceStatus.SUCCESS


async def test_a_run_lost_with_its_server_again_and_again_ends_failed() -> None:
    rig = Rig(job=JOB_1S)
    running = replace(
        planned(rig, 1, NOW), status=InstanceStatus.RUNNING, attempt=LOST_WITH_SERVER_RESENDS
    )
    await recovery(rig, rig.timers).recover([running], Origin.ADOPTED)
    rig.timers.advance(0)
    assert rig.worker.submitted == []
    last = rig.writer.last(1)
    assert last.status == InstanceStatus.FAILED
    assert last.result == "lost: the server stopped while this attempt ran"


async def test_a_run_lost_with_its_server_is_a_system_retry_that_leaves_the_retries() -> None:
    job = replace(JOB_1S, max_attempt=1, attempt_interval=0)
    rig = Rig(job=job)
    running = replace(planned(rig, 1, NOW), status=InstanceStatus.RUNNING)
    store = FakeStore(job)
    found = Recovery(
        store,  # type: ignore[arg-type]
        runs=rig.runs,
        writer=Flushing(rig),  # type: ignore[arg-type]
        jobs=JobRegistry(store),
        schedules=ScheduleCache(store),  # type: ignore[arg-type]
        hand_offs=StayHere(),  # type: ignore[arg-type]
        metrics=rig.metrics,
        misfire_threshold_ms=THRESHOLD,
        final_listeners=(),
        clock=rig.timers.now_ms,
    )
    await found.recover([running], Origin.ADOPTED)
    rig.timers.advance(0)
    assert rig.writer.updates[0].trigger_type == TriggerType.SYSTEM_RETRY
    assert [r.trigger_type for r in rig.worker.submitted] == [TriggerType.SYSTEM_RETRY]
    rig.runs.finished(1, 1, RunOutcome(InstanceStatus.FAILED, "exit code 1"), rig.timers.now)
    rig.timers.advance(0)  # the job's one retry is still there
    assert [r.attempt for r in rig.worker.submitted] == [1, 2]
