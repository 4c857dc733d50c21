"""The batch writer's two lanes (engine/writer.py): updates queued with ``update_first`` (start
claims) are written ahead of the queue, in a statement of their own, without stepping aside
for due fires; whoever waits for one is told once it is written, and not before."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.models import InstanceUpdate, LogLine
from tickwork.engine.writer import BatchWriter


class RecordingStore:
    """Each statement's updates, in the order written; ``gate`` holds them while clear."""

    def __init__(self) -> None:
        self.statements: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def update_instances(self, updates: Sequence[InstanceUpdate]) -> None:
        await self.gate.wait()
        self.statements.append([u.instance_id for u in updates])

    async def append_logs(self, lines: Sequence[LogLine]) -> None:
        return None


class AlwaysBusy:
    """Due fires that never let housekeeping go (a batch is always about to be due)."""

    def __init__(self) -> None:
        self.asked = 0

    async def step_aside(self) -> None:
        self.asked += 1
        await asyncio.sleep(3600)

    async def wait_out(self, within_ms: int, after_ms: int) -> None: ...

    def busy(self, around_ms: int) -> bool:
        return True


def ready(instance_id: int) -> InstanceUpdate:
    return InstanceUpdate(instance_id, status=InstanceStatus.READY, attempt=0)


async def test_a_claim_is_written_ahead_of_the_queue_and_its_waiter_told_then() -> None:
    store = RecordingStore()
    writer = BatchWriter(store)  # type: ignore[arg-type]  # the recorder has what it uses
    writer.start()
    store.gate.clear()  # the queue backs up
    for n in range(1, 4):
        writer.update(InstanceUpdate(n, progress="x"))
    await asyncio.sleep(0)  # the writer took 1-3 and waits on the store
    writer.update(InstanceUpdate(4, progress="y"))
    seq = writer.update_first(ready(9))
    told: list[bool] = []
    writer.when_written(seq, lambda: told.append(writer.written(seq, first=True)), first=True)
    assert not writer.written(seq, first=True) and told == []
    store.gate.set()
    await writer.flush()
    assert store.statements == [[1, 2, 3], [9], [4]]  # 9 went before 4, queued before it
    assert told == [True]
    await writer.close()


async def test_a_claim_does_not_step_aside_for_due_fires() -> None:
    store = RecordingStore()
    fires = AlwaysBusy()
    writer = BatchWriter(store, fires=fires)  # type: ignore[arg-type]
    writer.start()
    seq = writer.update_first(ready(9))
    told = asyncio.Event()
    writer.when_written(seq, told.set, first=True)
    await asyncio.wait_for(told.wait(), 5)
    assert store.statements == [[9]] and fires.asked == 0
    writer.update(InstanceUpdate(4, progress="y"))  # the queue does step aside
    await asyncio.sleep(0.01)
    assert fires.asked == 1 and store.statements == [[9]]
    task = writer._task  # the fires never let it finish: stopped here
    assert task is not None
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
