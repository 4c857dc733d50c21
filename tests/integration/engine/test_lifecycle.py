"""The life of instances through the real engine, store (SQLite) and in-process worker."""

from __future__ import annotations

import asyncio

import pytest
from runtime_support import final, instances, shell_job, wait_for

from tickwork.domain.enums import InstanceStatus, TimeType, TriggerType
from tickwork.domain.errors import InvalidState, JobDisabled
from tickwork.domain.queries import LogQuery
from tickwork.server import Runtime
from tickwork.service.rights import Caller

TESTER = Caller("tester", is_admin=True)


async def test_api_trigger_runs_and_records_result_and_logs(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        TESTER, shell_job('echo "params=#{schedulerx.instanceParameters}"; echo done')
    )
    inst, created = await runtime.services.jobs.trigger(TESTER, job.id, instance_parameters="p1")
    assert created and inst.trigger_type == TriggerType.API
    done = await wait_for(lambda: final(runtime, inst.id))
    assert done.status == InstanceStatus.SUCCESS
    assert done.result == "done"
    assert done.start_time is not None and done.end_time is not None
    assert done.executor == "tester"
    lines, total = await runtime.services.instances.logs(TESTER, LogQuery(instance_id=inst.id))
    assert [line.line for line in lines] == ["params=p1", "done"]
    assert total == 2


async def test_ten_triggers_at_once_give_ten_runs(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(TESTER, shell_job("echo ok"))
    results = await asyncio.gather(
        *(runtime.services.jobs.trigger(TESTER, job.id) for _ in range(10))
    )
    ids = {inst.id for inst, _ in results}
    assert len(ids) == 10

    async def all_done() -> bool:
        return all([await final(runtime, i) is not None for i in ids])

    await wait_for(all_done)
    assert {i.status for i in await instances(runtime, job.id)} == {InstanceStatus.SUCCESS}


async def test_idempotency_key_gives_the_same_instance(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(TESTER, shell_job("echo ok"))
    first, created1 = await runtime.services.jobs.trigger(TESTER, job.id, idempotency_key="k1")
    again, created2 = await runtime.services.jobs.trigger(TESTER, job.id, idempotency_key="k1")
    assert created1 and not created2
    assert again.id == first.id
    assert len(await instances(runtime, job.id)) == 1


async def test_check_job_status_refuses_a_disabled_job(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(TESTER, shell_job("echo ok"))
    await runtime.services.jobs.set_enabled(TESTER, job.id, False)
    with pytest.raises(JobDisabled):
        await runtime.services.jobs.trigger(TESTER, job.id, check_job_status=True)
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id, check_job_status=False)
    assert (await wait_for(lambda: final(runtime, inst.id))).status == InstanceStatus.SUCCESS


async def test_failure_is_retried_as_the_same_instance(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        TESTER,
        shell_job("echo attempt-#{schedulerx.attempt}; exit 3", max_attempt=2, attempt_interval=0),
    )
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id)
    done = await wait_for(lambda: final(runtime, inst.id))
    assert done.status == InstanceStatus.FAILED
    assert done.attempt == 2
    lines, _ = await runtime.services.instances.logs(TESTER, LogQuery(instance_id=inst.id))
    texts = [line.line for line in lines]
    assert [t for t in texts if t.startswith("attempt-")] == ["attempt-0", "attempt-1", "attempt-2"]
    assert sum("retrying" in t for t in texts) == 2


async def test_timeout_kill_fails_the_attempt(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        TESTER, shell_job("sleep 30", timeout=1, timeout_kill_enable=True)
    )
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id)
    done = await wait_for(lambda: final(runtime, inst.id))
    assert done.status == InstanceStatus.FAILED
    assert "timed out after 1 s" in done.result
    assert done.end_time is not None and done.start_time is not None
    assert done.end_time - done.start_time < 10_000


async def test_stop_kills_a_running_instance_and_set_success(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(TESTER, shell_job("echo started; sleep 30"))
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id)

    async def has_started() -> bool:
        lines, _ = await runtime.services.instances.logs(TESTER, LogQuery(instance_id=inst.id))
        return bool(lines)

    await wait_for(has_started)
    stopped = await runtime.services.instances.stop(TESTER, inst.id)
    assert stopped.status == InstanceStatus.KILLED  # stop returns once the run has ended
    done = await runtime.services.instances.get(TESTER, inst.id)
    assert done.status == InstanceStatus.KILLED
    assert done.result == "stopped by tester"
    with pytest.raises(InvalidState):
        await runtime.services.instances.stop(TESTER, inst.id)
    success = await runtime.services.instances.set_success(TESTER, inst.id)
    assert success.status == InstanceStatus.SUCCESS


async def test_rerun_makes_a_new_manual_instance(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        TESTER, shell_job("echo #{schedulerx.instanceParameters}")
    )
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id, instance_parameters="again")
    await wait_for(lambda: final(runtime, inst.id))
    rerun = await runtime.services.instances.rerun(TESTER, inst.id)
    assert rerun.id != inst.id
    assert rerun.trigger_type == TriggerType.MANUAL_RERUN
    assert rerun.schedule_time == inst.schedule_time
    done = await wait_for(lambda: final(runtime, rerun.id))
    assert done.result == "again"


async def test_rerun_of_a_running_instance_is_refused(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(TESTER, shell_job("sleep 30"))
    inst, _ = await runtime.services.jobs.trigger(TESTER, job.id)
    with pytest.raises(InvalidState, match="only a finished instance"):
        await runtime.services.instances.rerun(TESTER, inst.id)
    await runtime.services.instances.stop(TESTER, inst.id)


async def test_max_concurrency_rejects_scheduled_fires(runtime: Runtime) -> None:
    job = await runtime.services.jobs.create(
        TESTER, shell_job("sleep 2.5", TimeType.CRON, "* * * * * ?", max_concurrency=1)
    )

    async def seen() -> list[object] | None:
        items = await instances(runtime, job.id)
        rejected = [i for i in items if i.status == InstanceStatus.REJECTED]
        return items if len(rejected) >= 2 else None

    items = await wait_for(seen, within=20)
    await runtime.services.jobs.set_enabled(TESTER, job.id, False)
    rejected = [i for i in items if i.status == InstanceStatus.REJECTED]  # type: ignore[attr-defined]
    assert all("MaxConcurrency 1" in i.result for i in rejected)  # type: ignore[attr-defined]
    assert all(i.trigger_type == TriggerType.SCHEDULED for i in rejected)  # type: ignore[attr-defined]
    metrics = runtime.engine.metrics.render().decode()
    assert "tickwork_fires_rejected_total" in metrics
