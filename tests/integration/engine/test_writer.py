"""The status writer's flush under a steady stream of changes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tickwork.domain.enums import InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.models import AppGroup, Instance, InstanceUpdate, Job, LogLine, Namespace
from tickwork.engine.writer import BatchWriter
from tickwork.store.factory import open_store


async def test_flush_waits_for_what_was_queued_not_for_an_empty_queue(
    database_url: str, tmp_path: Path
) -> None:
    """A lease beat flushes before it looks for runs handed to its server; with runs ending
    all the time the queue is never empty, and a flush that waited for that held the beat
    until the server's lease ran out."""
    store = await open_store(database_url or f"sqlite:///{tmp_path / 'tickwork.db'}")
    writer = BatchWriter(store)
    writer.start()
    feeding = None
    try:
        await store.create_namespace(Namespace(id="ns", name="ns"))
        await store.create_group(AppGroup(namespace="ns", group_id="g", app_key="k"))
        job = await store.create_job(
            Job(
                namespace="ns",
                group_id="g",
                name="j",
                job_type=JobType.SHELL,
                time_type=TimeType.API,
            )
        )
        runs = [
            (await store.create_instance(
                Instance(job_id=job.id, namespace="ns", group_id="g", trigger_type=TriggerType.API,
                         time_type=TimeType.API, schedule_time=n)
            ))[0]
            for n in range(20)
        ]  # fmt: skip
        first, rest = runs[0], runs[1:]

        async def feed() -> None:  # a stream of progress and log lines that never stops
            n = 0
            while True:
                target = rest[n % len(rest)]
                writer.update(InstanceUpdate(instance_id=target.id, progress=str(n)))
                writer.log(LogLine(instance_id=target.id, time=n, line=f"line {n}"))
                n += 1
                await asyncio.sleep(0)

        feeding = asyncio.create_task(feed())
        await asyncio.sleep(0.2)
        writer.update(InstanceUpdate(instance_id=first.id, status=InstanceStatus.RUNNING))
        writer.log(LogLine(instance_id=first.id, time=1, line="queued before the flush"))
        await asyncio.wait_for(writer.flush(), timeout=10)
        stored = await store.get_instance(first.id)
        assert stored is not None and stored.status == InstanceStatus.RUNNING
        assert await store.count_logs(first.id) == 1
        assert not feeding.done()  # the stream was still going
    finally:
        if feeding is not None:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
        await writer.close()
        await store.close()
