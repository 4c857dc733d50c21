"""The engine prepares scheduled runs ahead of their due instant, and discards what it will
not start. The worker is the real in-process worker, with its calls recorded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from runtime_support import shell_job, wait_for

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus, TimeType
from tickwork.domain.models import Instance
from tickwork.domain.queries import InstanceFilter
from tickwork.engine.engine import Engine, new_server_id
from tickwork.service.rights import SYSTEM
from tickwork.service.services import Services
from tickwork.settings import Settings
from tickwork.store.factory import open_store
from tickwork.worker.abc import RunRequest
from tickwork.worker.inprocess import InProcessWorker


class RecordingWorker(InProcessWorker):
    def __init__(self) -> None:
        super().__init__(concurrency=16, kill_grace=1.0)
        self.calls: list[tuple[str, int, RunRequest | None]] = []

    def prepare(self, request: RunRequest) -> None:
        self.calls.append(("prepare", request.instance_id, request))
        super().prepare(request)

    def discard(self, instance_id: int) -> None:
        self.calls.append(("discard", instance_id, None))
        super().discard(instance_id)

    def submit(self, request: RunRequest) -> None:
        self.calls.append(("submit", request.instance_id, request))
        super().submit(request)


@contextlib.asynccontextmanager
async def engine_services(settings: Settings) -> AsyncIterator[tuple[Services, RecordingWorker]]:
    settings.home_path.mkdir(parents=True, exist_ok=True)
    store = await open_store(settings.effective_database_url, server_id=new_server_id())
    worker = RecordingWorker()
    engine = Engine(store, worker, settings)
    built = Services.build(store, engine)
    await built.namespaces.ensure_defaults()
    await engine.start()
    try:
        yield built, worker
    finally:
        await engine.stop()
        await store.close()


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[tuple[Services, RecordingWorker]]:
    async with engine_services(replace(settings, prepare_ahead_ms=500)) as built:
        yield built


async def test_scheduled_runs_are_prepared_before_they_are_submitted(
    services: tuple[Services, RecordingWorker],
) -> None:
    """Each run is submitted with the very request it was prepared with: planning rounds
    claim the job anew every half second (its next fire time changes), and the run is still
    known unchanged by identity at its due instant, so nothing is rebuilt or compared then."""
    svc, worker = services
    job = await svc.jobs.create(SYSTEM, shell_job("echo ok", TimeType.CRON, "* * * * * ?"))

    async def three_done() -> bool:
        done = [i for i in await instances_of(svc, job.id) if i.status == InstanceStatus.SUCCESS]
        return len(done) >= 3

    await wait_for(three_done, within=15)
    await svc.jobs.set_enabled(SYSTEM, job.id, False)
    submitted = {iid: req for kind, iid, req in worker.calls if kind == "submit"}
    prepared = {iid: req for kind, iid, req in worker.calls if kind == "prepare"}
    assert submitted
    for iid, request in submitted.items():
        assert prepared.get(iid) is request, "every scheduled run was prepared, same request"
        order = [kind for kind, i, _ in worker.calls if i == iid]
        assert order.index("prepare") < order.index("submit")


async def test_withdrawn_fires_are_discarded(settings: Settings) -> None:
    """Disabling a job withdraws its planned fires: one the worker had prepared is discarded
    there, and its row is deleted (it never started). Runs are prepared two seconds ahead
    here so the first one seen prepared is still far from due when the job is disabled (a
    fire that reached its due instant before the withdrawal runs as usual)."""
    async with engine_services(replace(settings, prepare_ahead_ms=2000)) as (svc, worker):
        job = await svc.jobs.create(SYSTEM, shell_job("echo ok", TimeType.CRON, "* * * * * ?"))

        def prepared_not_submitted() -> set[int]:
            prepared = {i for kind, i, _ in worker.calls if kind == "prepare"}
            return prepared - {i for kind, i, _ in worker.calls if kind == "submit"}

        async def one_waiting() -> set[int]:
            return prepared_not_submitted()

        waiting = await wait_for(one_waiting, within=15, interval=0.01)
        planned = {i.id for i in await instances_of(svc, job.id)}
        assert waiting <= planned, "a prepared fire has its row, written when it was planned"
        await svc.jobs.set_enabled(SYSTEM, job.id, False)  # withdraws the planned fires
        order = [(kind, i) for kind, i, _ in worker.calls if i in waiting]
        withdrawn = {
            i
            for i in waiting
            if ("discard", i) in order and ("submit", i) not in order[: order.index(("discard", i))]
        }
        assert withdrawn, f"a fire prepared 2 s ahead was discarded before its start: {order}"
        await svc.engine.flush()
        started = {i for kind, i, _ in worker.calls if kind == "submit"}
        assert not withdrawn & started, "a discarded fire is never submitted afterwards"
        stored = {i.id for i in await instances_of(svc, job.id)}
        assert not withdrawn & stored, "a withdrawn fire never started: its row is deleted"


async def instances_of(svc: Services, job_id: int) -> list[Instance]:
    page = await svc.instances.find(SYSTEM, InstanceFilter(job_id=job_id, page_size=1000))
    return page.items


async def test_periodic_planning_rounds_stay_clear_of_the_instants_fires_are_due(
    services: tuple[Services, RecordingWorker],
) -> None:
    """A planning round holds the loop while it computes and writes: periodic rounds wait
    until just after a batch of fires due in the next 250 ms, so they never start in the
    last quarter second before a whole second when jobs fire every second."""
    svc, _ = services
    for _ in range(3):
        await svc.jobs.create(SYSTEM, shell_job("true", TimeType.CRON, "* * * * * ?"))
    scheduler = svc.engine.scheduler
    starts: list[int] = []
    plan_round = scheduler.plan_round

    async def recorded() -> bool:
        starts.append(now_ms())
        return await plan_round()

    scheduler.plan_round = recorded  # type: ignore[method-assign]
    await asyncio.sleep(6)
    assert len(starts) >= 6, "planning goes on about twice a second"
    # the first rounds plan the fires: only once they are armed is there anything to avoid
    phases = [t % 1000 for t in starts[2:]]
    assert all(not 750 <= phase < 1000 for phase in phases), phases


async def test_housekeeping_writes_stay_clear_of_the_instants_fires_are_due(
    services: tuple[Services, RecordingWorker],
) -> None:
    """On SQLite a batch of status changes or a lease beat holds the loop's thread while it
    writes: each waits out a batch of fires due within 100 ms. A run that ends 50 ms before
    a whole second, when another job fires every second, has its end written after that
    second's fires, not in the moments before them."""
    svc, _ = services
    await svc.jobs.create(SYSTEM, shell_job("true", TimeType.CRON, "* * * * * ?"))
    await svc.jobs.create(
        SYSTEM, shell_job("sleep 0.95", TimeType.CRON, "*/2 * * * * ?", name="late")
    )
    store = svc.engine.store
    writes: list[int] = []
    update_instances, renew_server = store.update_instances, store.renew_server

    async def updates_recorded(*args: Any) -> list[int]:
        writes.append(now_ms())
        return await update_instances(*args)

    async def beats_recorded(*args: Any) -> bool:
        writes.append(now_ms())
        return await renew_server(*args)

    store.update_instances = updates_recorded  # type: ignore[method-assign]
    store.renew_server = beats_recorded  # type: ignore[method-assign]
    await asyncio.sleep(3)  # the first fires are planned and armed
    writes.clear()
    await asyncio.sleep(6)
    phases = sorted(t % 1000 for t in writes)
    assert len(phases) >= 12, "runs end and leases are renewed every second"
    assert all(not 930 <= phase < 1000 for phase in phases), phases
