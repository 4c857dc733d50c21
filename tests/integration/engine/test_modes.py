"""Broadcast, sharding and map-reduce runs through the engine, on the server's own worker."""

from __future__ import annotations

import json

import pytest
from prometheus_client import generate_latest
from runtime_support import final, wait_for

from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Instance, Job
from tickwork.domain.queries import LogQuery
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM

SUCCESS = InstanceStatus.SUCCESS
FAILED = InstanceStatus.FAILED


def job(mode: ExecuteMode, class_name: str = "", **fields: object) -> Job:
    return Job(
        namespace="default",
        group_id="default",
        name=f"{mode.value}-job",
        job_type=JobType.PROCESSOR if class_name else JobType.SHELL,
        time_type=TimeType.API,
        execute_mode=mode,
        class_name=class_name,
        **fields,
    )  # type: ignore[arg-type]


async def run_once(rt: Runtime, spec: Job, within: float = 30.0) -> tuple[Instance, list[str]]:
    created = await rt.services.jobs.create(SYSTEM, spec)
    inst, _ = await rt.services.jobs.trigger(SYSTEM, created.id)
    done: Instance = await wait_for(lambda: final(rt, inst.id), within=within)
    lines, _ = await rt.services.instances.logs(SYSTEM, LogQuery(instance_id=inst.id, limit=1000))
    return done, [line.line for line in lines]


async def test_map_reduce_adds_up_what_it_mapped(runtime: Runtime) -> None:
    done, _ = await run_once(
        runtime,
        job(ExecuteMode.GRID, "mode_processors:SumOfNumbers", parameters="1000", page_size=50),
    )
    assert done.status == SUCCESS, done.result
    assert json.loads(done.result) == {"sum": sum(range(1000)), "failed": 0}
    progress = json.loads(done.progress)
    assert progress["total"] == 1000
    assert progress["succeeded"] == 1000 and progress["failed"] == 0
    assert progress["phase"] == "reduce"
    assert progress["workers"] == {runtime.engine.worker.address: {"succeeded": 1000, "failed": 0}}


async def test_subtasks_may_map_more_subtasks(runtime: Runtime) -> None:
    done, _ = await run_once(runtime, job(ExecuteMode.PARALLEL, "mode_processors:NestedSum"))
    assert done.status == SUCCESS, done.result
    assert done.result == str(sum(range(100)))
    assert json.loads(done.progress)["total"] == 110  # 10 chunks and 100 numbers


async def test_a_failed_subtask_is_retried_on_its_own(runtime: Runtime) -> None:
    done, lines = await run_once(
        runtime, job(ExecuteMode.BATCH, "mode_processors:FlakyNumbers", task_max_attempt=1)
    )
    assert done.status == SUCCESS, done.result
    assert done.result == "failed tasks: []"
    assert sum("retry 1 of 1" in line for line in lines) == 5


async def test_tasks_are_counted_in_the_metrics(runtime: Runtime) -> None:
    metrics = runtime.engine.metrics
    before = metrics.task_retries._value.get()
    await run_once(
        runtime, job(ExecuteMode.BATCH, "mode_processors:FlakyNumbers", task_max_attempt=1)
    )
    text = generate_latest(metrics.registry).decode()
    # 50 subtasks, the root and the reduce, all succeeded in the end; 5 retries
    assert 'tickwork_tasks_finished_total{status="success"} 52.0' in text
    assert metrics.task_retries._value.get() - before == 5


async def test_subtasks_failing_for_good_fail_the_run_and_reduce_sees_them(
    runtime: Runtime,
) -> None:
    done, lines = await run_once(runtime, job(ExecuteMode.BATCH, "mode_processors:FlakyNumbers"))
    assert done.status == FAILED
    # task ids start at 1 for the first mapped item (0)
    assert done.result == "5 of 50 subtask(s) failed; reduce: failed tasks: [1, 11, 21, 31, 41]"
    assert sum("failed once" in line for line in lines) == 5


async def test_mapping_what_json_cannot_carry_fails_the_root_task(runtime: Runtime) -> None:
    done, _ = await run_once(runtime, job(ExecuteMode.GRID, "mode_processors:MapsSomethingOdd"))
    assert done.status == FAILED
    assert done.result.startswith("the root task failed:")
    assert "task_list[0] cannot be sent as JSON" in done.result


async def test_broadcast_runs_pre_and_post_process_once(runtime: Runtime) -> None:
    done, lines = await run_once(runtime, job(ExecuteMode.BROADCAST, "mode_processors:EveryWorker"))
    assert done.status == SUCCESS, done.result
    assert done.result.startswith("post_process saw 1: pid ")
    assert lines.count("[pre_process] INFO pre_process once") == 1
    address = runtime.engine.worker.address
    assert f"[tickwork] worker {address}: success: {done.result.split(': ')[1]}" in lines
    assert done.worker == address


async def test_a_broadcast_shell_job_runs_on_the_one_worker(runtime: Runtime) -> None:
    spec = job(ExecuteMode.BROADCAST, content="echo hello from $$")
    done, lines = await run_once(runtime, spec)
    assert done.status == SUCCESS, done.result
    assert done.result == "1 of 1 workers succeeded"
    assert any(line.startswith(f"[{runtime.engine.worker.address}] hello from ") for line in lines)


async def test_sharding_runs_each_shard_once(runtime: Runtime) -> None:
    spec = job(
        ExecuteMode.SHARDING,
        content="echo shard #{tickwork.shardingId}/#{tickwork.shardingNum}="
        "#{tickwork.shardingParameter}",
        parameters="0=a,1=b,2=c\n7=d",
    )
    done, lines = await run_once(runtime, spec)
    assert done.status == SUCCESS, done.result
    assert done.result == "4 of 4 shards succeeded"
    for shard in ("[shard 0] shard 0/4=a", "[shard 1] shard 1/4=b", "[shard 7] shard 7/4=d"):
        assert lines.count(shard) == 1


async def test_a_failed_shard_is_retried_on_its_own(runtime: Runtime) -> None:
    spec = job(
        ExecuteMode.SHARDING,
        "mode_processors:EachShard",
        parameters="0=good,1=bad,2=good",
        task_max_attempt=2,
    )
    done, lines = await run_once(runtime, spec)
    assert done.status == SUCCESS, done.result
    assert sum("shard 1 failed" in line and "retry 1 of 2" in line for line in lines) == 1
    assert lines.count("[shard 0] INFO shard 0 of 3") == 1
    assert lines.count("[shard 1] INFO shard 1 of 3") == 2


async def test_stopping_a_map_reduce_run_kills_its_subtasks(runtime: Runtime) -> None:
    created = await runtime.services.jobs.create(
        SYSTEM,
        job(ExecuteMode.GRID, "mode_processors:SlowNumbers", parameters="200", consumer_size=2),
    )
    inst, _ = await runtime.services.jobs.trigger(SYSTEM, created.id)

    async def some_done() -> bool:
        current = await runtime.services.instances.get(SYSTEM, inst.id)
        return bool(current.progress) and json.loads(current.progress)["succeeded"] >= 2

    await wait_for(some_done)
    await runtime.services.instances.stop(SYSTEM, inst.id)
    done: Instance = await wait_for(lambda: final(runtime, inst.id))
    assert done.status == InstanceStatus.KILLED
    assert done.result == f"stopped by {SYSTEM.key_id}"
    assert runtime.engine.worker.running() == 0


async def test_a_timeout_kill_ends_a_distributed_run_and_its_tasks(runtime: Runtime) -> None:
    spec = job(
        ExecuteMode.GRID,
        "mode_processors:SlowNumbers",
        parameters="200",
        consumer_size=2,
        timeout=1,
        timeout_kill_enable=True,
    )
    done, lines = await run_once(runtime, spec)
    assert done.status == FAILED
    assert done.result == "timed out after 1 s"
    assert "[tickwork] the run went past its timeout of 1 s" in lines
    progress = json.loads(done.progress)
    assert 0 < progress["succeeded"] < 200 and progress["running"] == 0
    await wait_for(lambda: _idle(runtime))


async def _idle(runtime: Runtime) -> bool:
    return runtime.engine.worker.running() == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"execute_mode": ExecuteMode.GRID, "content": "echo"}, "execute_mode", "processor job"),
        ({"execute_mode": ExecuteMode.SHARDING, "content": "echo"}, "parameters", "empty"),
        (
            {"execute_mode": ExecuteMode.SHARDING, "content": "echo", "parameters": "a=1"},
            "parameters",
            "'a=1' is not 'id=parameter'",
        ),
        (
            {"execute_mode": ExecuteMode.SHARDING, "content": "echo", "parameters": "0=a,0=b"},
            "parameters",
            "shard id 0 appears twice",
        ),
    ],
)
async def test_modes_refuse_jobs_they_cannot_run(
    runtime: Runtime, fields: dict[str, object], field: str, message: str
) -> None:
    spec = Job(
        namespace="default",
        group_id="default",
        name="bad",
        job_type=JobType.SHELL,
        time_type=TimeType.API,
        **fields,  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidParameter) as caught:
        await runtime.services.jobs.create(SYSTEM, spec)
    assert caught.value.field == field
    assert message in caught.value.message
