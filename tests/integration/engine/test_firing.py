"""Scheduled firing: cron, fixed rate, second delay, one time, misfires, history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from runtime_support import instances, shell_job, wait_for

from tickwork.domain.enums import InstanceStatus, JobStatus, MisfirePolicy, TimeType, TriggerType
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM


async def test_cron_fires_on_every_even_second(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo hello", TimeType.CRON, "*/2 * * * * ?")
    )
    assert job.next_fire_time is not None and job.next_fire_time % 2000 == 0

    async def three_done() -> bool:
        done = [i for i in await instances(runtime, job.id) if i.status == InstanceStatus.SUCCESS]
        return len(done) >= 3

    await wait_for(three_done, within=15)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    items = [i for i in await instances(runtime, job.id) if i.status == InstanceStatus.SUCCESS]
    assert all(i.schedule_time % 2000 == 0 for i in items)
    assert all(i.trigger_type == TriggerType.SCHEDULED for i in items)
    assert all(i.result == "hello" for i in items)
    times = [i.schedule_time for i in items]
    assert len(set(times)) == len(times)
    # each ran close to its due instant (a loose bound: this is not a benchmark)
    assert all(i.start_time is not None and i.start_time - i.schedule_time < 1000 for i in items)


async def test_fixed_rate_fires_every_n_seconds(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo tick", TimeType.FIXED_RATE, "1")
    )

    async def two_done() -> bool:
        return (
            len([i for i in await instances(runtime, job.id) if i.status == InstanceStatus.SUCCESS])
            >= 2
        )

    await wait_for(two_done, within=10)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    times = sorted(
        i.schedule_time
        for i in await instances(runtime, job.id)
        if i.status == InstanceStatus.SUCCESS
    )
    assert all(b - a == 1000 for a, b in zip(times, times[1:], strict=False))


async def test_second_delay_chains_after_the_previous_end(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("sleep 0.3; echo x", TimeType.SECOND_DELAY, "1")
    )

    async def two_done() -> list[object] | None:
        done = [i for i in await instances(runtime, job.id) if i.status == InstanceStatus.SUCCESS]
        return done if len(done) >= 2 else None

    done = await wait_for(two_done, within=15)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    first, second = sorted(done, key=lambda i: i.schedule_time)[:2]  # type: ignore[attr-defined]
    assert first.end_time is not None
    assert second.schedule_time >= first.end_time + 1000
    assert second.schedule_time - (first.end_time + 1000) < 1000


async def test_one_time_fires_once_then_the_job_is_disabled(runtime: Runtime) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    job = await runtime.services.jobs.create(
        SYSTEM,
        shell_job(
            "echo once", TimeType.ONE_TIME, when.strftime("%Y-%m-%d %H:%M:%S"), timezone="UTC"
        ),
    )
    assert job.next_fire_time == int(when.timestamp() * 1000)

    async def disabled() -> bool:
        current = await runtime.services.jobs.get(SYSTEM, job.id)
        return current.status == JobStatus.DISABLED

    await wait_for(disabled, within=10)
    items = await instances(runtime, job.id)
    assert len(items) == 1 and items[0].schedule_time == job.next_fire_time
    assert items[0].status == InstanceStatus.SUCCESS


async def test_disable_withdraws_planned_fires(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo x", TimeType.CRON, "* * * * * ?")
    )
    await asyncio.sleep(0.3)  # fires inside the look-ahead window are planned by now
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    disabled_at = int(time.time() * 1000)
    await asyncio.sleep(2)
    await runtime.engine.flush()
    items = await instances(runtime, job.id)
    assert all(i.schedule_time <= disabled_at for i in items), "a withdrawn fire ran or stayed"
    assert all(InstanceStatus(i.status).is_final for i in items)


async def test_disable_and_enable_within_the_window_misses_no_fire(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo x", TimeType.CRON, "* * * * * ?")
    )
    await asyncio.sleep(1.2)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    await runtime.services.jobs.set_enabled(
        SYSTEM, job.id, True
    )  # the same instants are planned again
    enabled_at = int(time.time() * 1000)
    await asyncio.sleep(3.5)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    await runtime.engine.flush()
    fired = sorted(i.schedule_time for i in await instances(runtime, job.id))
    after = [t for t in fired if t > enabled_at]
    assert len(after) >= 3
    assert all(b - a == 1000 for a, b in zip(after, after[1:], strict=False)), fired


async def test_a_change_that_keeps_the_schedule_keeps_its_fires(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo x", TimeType.CRON, "* * * * * ?")
    )
    await asyncio.sleep(1.2)
    changed_at = int(time.time() * 1000)
    await runtime.services.jobs.update(
        SYSTEM, job.id, {"description": "renamed", "content": "echo y"}
    )
    await asyncio.sleep(3)
    await runtime.services.jobs.set_enabled(SYSTEM, job.id, False)
    await runtime.engine.flush()
    items = sorted(await instances(runtime, job.id), key=lambda i: i.schedule_time)
    after = [i for i in items if i.schedule_time > changed_at]
    times = [i.schedule_time for i in after]
    assert len(times) >= 2 and all(b - a == 1000 for a, b in zip(times, times[1:], strict=False))
    assert after[-1].result == "y"  # later runs use the new definition


async def _stopped_for(
    restart: Callable[..., Awaitable[Runtime]], runtime: Runtime, seconds: float
) -> Runtime:
    await runtime.stop()
    await asyncio.sleep(seconds)
    return await restart()


async def test_misfire_fire_once_after_downtime(
    runtime: Runtime, restart: Callable[..., Awaitable[Runtime]]
) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo x", TimeType.CRON, "* * * * * ?")
    )
    await asyncio.sleep(1.5)
    rt = await _stopped_for(restart, runtime, 5)
    try:

        async def recovered() -> bool:
            items = await instances(rt, job.id)
            return any(i.status == InstanceStatus.SKIPPED for i in items) and any(
                i.status == InstanceStatus.SUCCESS
                and i.start_time is not None
                and i.start_time - i.schedule_time > 3000
                for i in items
            )

        await wait_for(recovered, within=10)
        await rt.services.jobs.set_enabled(SYSTEM, job.id, False)
        items = await instances(rt, job.id)
        times = [i.schedule_time for i in items]
        assert len(times) == len(set(times)), "a fire happened twice"
        skipped = [i for i in items if i.status == InstanceStatus.SKIPPED]
        assert all("misfire" in i.result for i in skipped)
        assert "tickwork_fires_skipped_total" in rt.engine.metrics.render().decode()
    finally:
        await rt.stop()


async def test_misfire_skip_policy_fires_nothing_late(
    runtime: Runtime, restart: Callable[..., Awaitable[Runtime]]
) -> None:
    job = await runtime.services.jobs.create(
        SYSTEM, shell_job("echo x", TimeType.CRON, "* * * * * ?", misfire_policy=MisfirePolicy.SKIP)
    )
    await asyncio.sleep(1.5)
    stopped_at = int(time.time() * 1000)
    rt = await _stopped_for(restart, runtime, 5)
    restarted_at = int(time.time() * 1000)
    try:

        async def skipped_recorded() -> bool:
            return any(i.status == InstanceStatus.SKIPPED for i in await instances(rt, job.id))

        await wait_for(skipped_recorded, within=10)
        await asyncio.sleep(1.5)
        await rt.services.jobs.set_enabled(SYSTEM, job.id, False)
        for inst in await instances(rt, job.id):
            if stopped_at + 1000 < inst.schedule_time < restarted_at - 3500:
                assert inst.status == InstanceStatus.SKIPPED, inst
            if inst.status == InstanceStatus.SUCCESS:
                # fires within the misfire threshold (3 s here) of the restart still run,
                # as soon as the server is up; nothing older runs (a loose bound on purpose)
                assert inst.start_time is not None
                assert inst.start_time - inst.schedule_time < 3000 + 2000
    finally:
        await rt.stop()


async def test_history_is_bounded_per_job(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(SYSTEM, shell_job("echo x", history_limit=3))
    for _ in range(6):
        inst, _ = await runtime.services.jobs.trigger(SYSTEM, job.id)

    async def all_done() -> bool:
        return all(InstanceStatus(i.status).is_final for i in await instances(runtime, job.id))

    await wait_for(all_done)
    deleted = await runtime.engine.prune_now()
    assert deleted == 3
    left = await instances(runtime, job.id)
    assert len(left) == 3 and left[-1].id == inst.id


async def test_history_is_pruned_once_a_tenth_of_its_bound_has_finished(runtime: Runtime) -> None:
    """A job is pruned once a tenth of its bound finished since the last prune: its stored
    history exceeds the bound by that much at most, and most jobs cost no statement."""
    job = await runtime.services.jobs.create(SYSTEM, shell_job("true", history_limit=20))

    async def run(times: int) -> None:
        for _ in range(times):
            await runtime.services.jobs.trigger(SYSTEM, job.id)

        async def all_done() -> bool:
            return all(InstanceStatus(i.status).is_final for i in await instances(runtime, job.id))

        await wait_for(all_done, within=30)

    await run(22)
    assert await runtime.engine.prune_now() == 2
    await run(1)
    assert await runtime.engine.prune_now() == 0  # one finished: under a tenth of 20
    assert len(await instances(runtime, job.id)) == 21
    await run(1)
    assert await runtime.engine.prune_now() == 2
    assert len(await instances(runtime, job.id)) == 20


async def test_pruning_many_jobs_lets_the_event_loop_run_between_steps(runtime: Runtime) -> None:
    """On SQLite each prune is a transaction on the loop's thread: pruning many jobs in one
    go must still let due callbacks run between its steps (it held fires for seconds)."""
    jobs = [
        await runtime.services.jobs.create(SYSTEM, shell_job("true", history_limit=1))
        for _ in range(45)
    ]
    for job in jobs:
        await runtime.services.jobs.trigger(SYSTEM, job.id)
        await runtime.services.jobs.trigger(SYSTEM, job.id)

    async def all_done() -> bool:
        for job in jobs:
            for inst in await instances(runtime, job.id):
                if not InstanceStatus(inst.status).is_final:
                    return False
        return True

    await wait_for(all_done, within=30)
    order: list[str] = []
    store = runtime.engine.store
    prune_history = store.prune_history

    async def recorded(job_id: int, keep: int) -> int:
        order.append("prune")
        return await prune_history(job_id, keep)

    store.prune_history = recorded  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    pruning = True

    def tick() -> None:  # a callback that wants the loop as often as it can get it
        if pruning:
            order.append("tick")
            loop.call_soon(tick)

    loop.call_soon(tick)
    deleted = await runtime.engine.prune_now()
    pruning = False
    assert deleted == 45 and order.count("prune") == 45
    first, last = order.index("prune"), len(order) - 1 - order[::-1].index("prune")
    assert "tick" in order[first:last], "the loop ran nothing else while pruning"
