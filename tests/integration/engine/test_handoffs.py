"""Instances handed to a server whose notification never arrived are taken up by the look at
its lease beats; an instance the engine already holds, or ran, is never started twice, nor a
hand-off taken up twice; runs waiting on one server for a worker go to the server a worker of
their group joins."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from runtime_support import final, served, shell_job, wait_for
from websockets.asyncio.client import connect

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.models import Instance, Job
from tickwork.domain.queries import LogQuery
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM
from tickwork.settings import Settings
from tickwork.store.sql import SqlStore
from tickwork.store.tables import hand_offs
from tickwork.worker.protocol import APP_KEY_HEADER, CONNECT_PATH, decode, encode


async def handed_unnoticed(runtime: Runtime, job: Job, **fields: Any) -> Instance:
    """An API instance as another server's hand-over leaves it when the NOTIFY is lost:
    owned by this server, waiting, created 10 s ago, its hand-off recorded, not held by its
    engine."""
    ago = now_ms() - 10_000
    stored, created = await runtime.store.create_instance(
        Instance(
            job_id=job.id,
            namespace=job.namespace,
            group_id=job.group_id,
            trigger_type=TriggerType.API,
            time_type=job.time_type,
            schedule_time=ago,
            created_at=ago,
            owner=runtime.engine.server_id,
            **fields,
        )
    )
    assert created
    store = runtime.store
    assert isinstance(store, SqlStore)
    async with store.engine.begin() as conn:  # as store.hand_off records it, without NOTIFY
        await conn.execute(
            sa.insert(hand_offs).values(instance_id=stored.id, to_server=runtime.engine.server_id)
        )
    return stored


async def test_an_instance_handed_over_without_a_notification_still_runs(
    restart: Callable[..., Awaitable[Runtime]],
) -> None:
    runtime = await restart(heartbeat_s=0.1)  # the look runs at every beat
    try:
        job = await runtime.services.jobs.create(SYSTEM, shell_job("echo swept"))
        stored = await handed_unnoticed(runtime, job)
        assert not runtime.engine.runs.holds(stored.id)
        done = await wait_for(lambda: final(runtime, stored.id), within=15)
        assert (done.status, done.result, done.attempt) == (InstanceStatus.SUCCESS, "swept", 0)
    finally:
        await runtime.stop()


async def test_a_retry_due_after_a_first_attempt_is_taken_up_as_the_second(
    restart: Callable[..., Awaitable[Runtime]],
) -> None:
    """An instance whose first attempt failed with a retry due (waiting, attempt 0, with an end
    time), handed to a server, runs as attempt 1: not its first attempt again."""
    runtime = await restart(heartbeat_s=0.1)
    try:
        job = await runtime.services.jobs.create(
            SYSTEM, shell_job("echo retried", max_attempt=1, attempt_interval=0)
        )
        ago = now_ms() - 10_000
        stored = await handed_unnoticed(
            runtime, job, start_time=ago, end_time=ago + 100, result="exit code 1"
        )
        done = await wait_for(lambda: final(runtime, stored.id), within=15)
        assert (done.status, done.result, done.attempt) == (InstanceStatus.SUCCESS, "retried", 1)
    finally:
        await runtime.stop()


async def test_a_run_it_holds_is_not_started_twice(
    restart: Callable[..., Awaitable[Runtime]],
) -> None:
    runtime = await restart(heartbeat_s=0.1)
    try:
        job = await runtime.services.jobs.create(SYSTEM, shell_job("sleep 1; echo once"))
        triggered, _ = await runtime.services.jobs.trigger(SYSTEM, job.id)
        assert runtime.engine.runs.holds(triggered.id)
        # hand-off notifications for it, and a sweep, while it runs
        runtime.engine.runs.start_now(triggered, job)
        runtime.engine.runs.arm(triggered, job)
        await runtime.engine.inbox.take_up([triggered.id])
        await runtime.engine.inbox.take_up_missed()
        done = await wait_for(lambda: final(runtime, triggered.id))
        assert (done.status, done.result, done.attempt) == (InstanceStatus.SUCCESS, "once", 0)
        assert runtime.engine.runs.ended_here(triggered.id)
        lines, _ = await runtime.services.instances.logs(SYSTEM, LogQuery(instance_id=triggered.id))
        assert [line.line for line in lines] == ["once"]
    finally:
        await runtime.stop()


@pytest.mark.postgres
async def test_runs_waiting_for_a_worker_go_to_the_server_an_agent_joins(
    settings: Settings,
) -> None:
    """Two servers without workers of their own; runs wait on the first for a worker of
    their group. When an agent connects to the second, the first hands its waiting runs
    over at its next lease beat, the retry of a run that already waited out the bound
    (attempt 1) as well as a first attempt, and the agent runs each as that attempt."""
    if not settings.database_url:
        pytest.skip("SQLite has one server")
    common = replace(settings, no_worker=True, worker_wait_s=4.0, heartbeat_s=0.2)
    first = await Runtime.start(common)
    second = await Runtime.start(replace(common, home=f"{settings.home}-second"))
    try:
        jobs = first.services.jobs
        retried = await jobs.create(
            SYSTEM, shell_job("true", name="retried", max_attempt=1, attempt_interval=0)
        )
        once = await jobs.create(SYSTEM, shell_job("true", name="once"))
        retried_run, _ = await jobs.trigger(SYSTEM, retried.id)

        async def retry_waiting() -> bool:
            return first.engine.runs.holds(retried_run.id) and any(
                r.instance_id == retried_run.id and r.attempt == 1
                for r in first.engine.worker.parked()
            )

        await wait_for(retry_waiting, within=15)
        once_run, _ = await jobs.trigger(SYSTEM, once.id)

        async def both_waiting() -> bool:  # the trigger's, once its start claim is written
            parked = {r.instance_id for r in first.engine.worker.parked()}
            return parked == {retried_run.id, once_run.id}

        await wait_for(both_waiting, within=15)
        async with served(second) as base_url:
            ran = await agent_runs(second, base_url, count=2)
        assert ran == {retried_run.id: 1, once_run.id: 0}
        for iid, attempt in ran.items():
            done = await wait_for(lambda iid=iid: final(second, iid), within=10)
            assert (done.status, done.attempt, done.worker) == (
                InstanceStatus.SUCCESS,
                attempt,
                "joined:1",
            )
            assert done.owner == second.engine.server_id
        assert not first.engine.worker.parked()
        assert not first.engine.runs.holds(once_run.id)
    finally:
        await second.stop()
        await first.stop()


async def agent_runs(rt: Runtime, base_url: str, count: int) -> dict[int, int]:
    """Connect a worker agent of the default group to ``rt`` and complete the first ``count``
    runs sent to it (within the first server's wait bound); instance id -> attempt."""
    key = (await rt.services.namespaces.get_group(SYSTEM, "default", "default")).app_key
    url = (
        base_url.replace("http://", "ws://")
        + f"{CONNECT_PATH}?namespace=default&group=default&worker_id=w&address=joined:1"
    )
    ran: dict[int, int] = {}
    async with connect(url, additional_headers={APP_KEY_HEADER: key}) as ws:
        async with asyncio.timeout(3.5):
            while len(ran) < count:
                for message in decode(await ws.recv()):
                    if message["op"] != "run":
                        continue
                    iid, attempt = message["request"]["instance_id"], message["request"]["attempt"]
                    ran[iid] = attempt
                    await ws.send(encode(finished(iid, attempt)))
        await asyncio.sleep(0.3)  # the last outcome is read before the socket closes
    return ran


def finished(iid: int, attempt: int) -> list[dict[str, object]]:
    return [
        {"op": "started", "instance_id": iid, "attempt": attempt, "at": now_ms()},
        {
            "op": "finished",
            "instance_id": iid,
            "attempt": attempt,
            "status": 4,
            "result": "ok",
            "at": now_ms(),
        },
    ]
