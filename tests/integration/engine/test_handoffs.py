"""Instances handed to a server whose notification never arrived are taken up by its periodic
sweep; an instance the engine already holds, or ran, is never started twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from runtime_support import final, shell_job, wait_for

from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.models import Instance
from tickwork.engine.clock import now_ms
from tickwork.server import Runtime
from tickwork.store.abc import LogQuery


async def test_an_instance_handed_over_without_a_notification_still_runs(
    restart: Callable[..., Awaitable[Runtime]],
) -> None:
    runtime = await restart(heartbeat_s=0.1)  # the sweep runs every 5 heartbeats
    try:
        job = await runtime.services.jobs.create(shell_job("echo swept"))
        # as another server's hand-over leaves it when the NOTIFY is lost: owned by this
        # server, waiting, created a while ago, and not held by its engine
        stored, created = await runtime.store.create_instance(
            Instance(
                job_id=job.id,
                namespace=job.namespace,
                group_id=job.group_id,
                trigger_type=TriggerType.API,
                time_type=job.time_type,
                schedule_time=now_ms() - 10_000,
                created_at=now_ms() - 10_000,
                owner=runtime.engine.server_id,
            )
        )
        assert created and not runtime.engine.runs.holds(stored.id)
        done = await wait_for(lambda: final(runtime, stored.id), within=15)
        assert (done.status, done.result, done.attempt) == (InstanceStatus.SUCCESS, "swept", 0)
    finally:
        await runtime.stop()


async def test_a_run_it_holds_is_not_started_twice(
    restart: Callable[..., Awaitable[Runtime]],
) -> None:
    runtime = await restart(heartbeat_s=0.1)
    try:
        job = await runtime.services.jobs.create(shell_job("sleep 1; echo once"))
        triggered, _ = await runtime.services.jobs.trigger(job.id)
        assert runtime.engine.runs.holds(triggered.id)
        # hand-off notifications for it, and a sweep, while it runs
        runtime.engine.runs.start_now(triggered, job)
        runtime.engine.runs.arm(triggered, job)
        await runtime.engine._take_handed([triggered.id])
        await runtime.engine.take_missed_hand_offs()
        done = await wait_for(lambda: final(runtime, triggered.id))
        assert (done.status, done.result, done.attempt) == (InstanceStatus.SUCCESS, "once", 0)
        assert runtime.engine.runs.ended_here(triggered.id)
        lines, _ = await runtime.services.instances.logs(LogQuery(instance_id=triggered.id))
        assert [line.line for line in lines] == ["once"]
    finally:
        await runtime.stop()
