"""The engine's cap on what each attempt keeps of its log, and the writer's back-pressure.

The engine is real (RunManager, BatchWriter, RunLogs); the store is a recorder of what the
writer hands it, and the worker a recorder of what the engine hands it (no process runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tickwork.domain.enums import InstanceStatus, JobType, TimeType, TriggerType
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.models import Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.runs import RunManager
from tickwork.engine.writer import LOG_BACKLOG_LINES, BatchWriter
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest

OK = RunOutcome(InstanceStatus.SUCCESS, "done")


class RecordingStore:
    """What the batch writer stores; ``append_logs`` waits while ``open`` is clear."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self.open = asyncio.Event()
        self.open.set()

    async def update_instances(self, updates: Sequence[InstanceUpdate]) -> None:
        return None

    async def append_logs(self, lines: Sequence[LogLine]) -> None:
        await self.open.wait()
        self.lines.extend(lines)


class RecordingWorker:
    address = "recorder"

    def __init__(self) -> None:
        self.submitted: list[RunRequest] = []

    async def start(self, reporter: RunReporter) -> None: ...

    async def stop(self, grace: float) -> None: ...

    def prepare(self, request: RunRequest) -> None: ...

    def discard(self, instance_id: int) -> None: ...

    def start_prepared(self, requests: list[RunRequest]) -> None: ...

    def submit(self, request: RunRequest) -> None:
        self.submitted.append(request)

    def let_start(self, timeout: float) -> None: ...

    def kill(self, instance_id: int, reason: str) -> bool:
        return False

    def running(self) -> int:
        return 0


JOB = Job(
    id=7,
    namespace="ns",
    group_id="g",
    name="printer",
    job_type=JobType.SHELL,
    time_type=TimeType.API,
    max_attempt=1,
    attempt_interval=0,
)


def engine(limits: LogLimits) -> tuple[RunManager, RecordingStore, EngineMetrics]:
    store = RecordingStore()
    metrics = EngineMetrics()
    writer = BatchWriter(store)  # type: ignore[arg-type]  # the recorder has what it uses
    runs = RunManager(RecordingWorker(), writer, metrics, {7: JOB}.get, log_limits=limits)
    return runs, store, metrics


async def start(runs: RunManager, instance_id: int = 1) -> None:
    """Start a run; it goes to the worker once its start claim is written."""
    instance = Instance(
        id=instance_id,
        job_id=7,
        namespace="ns",
        group_id="g",
        trigger_type=TriggerType.API,
        time_type=TimeType.API,
        schedule_time=0,
    )
    runs.start_now(instance, JOB)
    await runs._writer.flush()


async def stored(runs: RunManager, store: RecordingStore) -> list[tuple[int, str]]:
    await runs._writer.flush()
    return [(line.attempt, line.line) for line in store.lines]


async def test_an_attempt_keeps_its_head_and_tail_and_one_line_for_the_rest() -> None:
    runs, store, metrics = engine(LogLimits(max_bytes=0, max_lines=100))
    await start(runs)
    for n in range(1, 10_001):
        runs.log(1, 0, n, f"line {n}")
    assert len(await stored(runs, store)) == 90  # the head is written as it comes
    runs.finished(1, 0, OK, 20_000)
    lines = await stored(runs, store)
    assert [text for _, text in lines[:90]] == [f"line {n}" for n in range(1, 91)]
    dropped_bytes = sum(len(f"line {n}\n") for n in range(91, 9_991))  # 98,082: 95.8 KiB
    assert dropped_bytes == 98_082
    assert lines[90][1].startswith(
        "[tickwork] log truncated: 9,900 lines (95.8 KiB) dropped here; each attempt keeps "
        "at most 100 lines of log"
    )
    assert store.lines[90].time == 91  # where the dropping began
    assert [text for _, text in lines[91:]] == [f"line {n}" for n in range(9_991, 10_001)]
    assert len(lines) == 101
    dropped = metrics.log_lines_dropped.labels(reason="cap")._value.get()
    assert dropped == 9_900


async def test_each_attempt_has_its_own_cut() -> None:
    runs, store, _ = engine(LogLimits(max_bytes=0, max_lines=10))
    await start(runs)
    for n in range(30):
        runs.log(1, 0, n, f"first {n}")
    runs.finished(1, 0, RunOutcome(InstanceStatus.FAILED, "exit code 1"), 100)
    await asyncio.sleep(0.01)  # the retry (attempt interval 0) claims attempt 1 ...
    await runs._writer.flush()  # ... which starts once its claim is written
    for n in range(30):
        runs.log(1, 1, n, f"second {n}")
    runs.finished(1, 1, OK, 200)
    lines = await stored(runs, store)
    first = [text for attempt, text in lines if attempt == 0]
    second = [text for attempt, text in lines if attempt == 1]
    assert first[:9] == [f"first {n}" for n in range(9)]
    assert first[9].startswith("[tickwork] log truncated: 20 lines")
    assert first[10] == "first 29"
    assert first[11].startswith("[tickwork] attempt 1 of 2 failed")  # after the tail
    assert second[:9] == [f"second {n}" for n in range(9)]
    assert second[9].startswith("[tickwork] log truncated: 20 lines")
    assert second[10:] == ["second 29"]


async def test_lines_of_an_attempt_that_is_not_running_are_dropped() -> None:
    runs, store, metrics = engine(LogLimits(max_bytes=0, max_lines=10))
    runs.log(1, 0, 1, "before the run is held")
    await start(runs)
    runs.log(1, 3, 2, "an attempt that is not this one")
    runs.log(1, 0, 3, "kept")
    runs.finished(1, 0, OK, 4)
    runs.log(1, 0, 5, "after the outcome")
    assert await stored(runs, store) == [(0, "kept")]
    assert metrics.log_lines_dropped.labels(reason="ended")._value.get() == 3


async def test_what_the_worker_dropped_counts_in_the_truncation_line() -> None:
    runs, store, _ = engine(LogLimits(max_bytes=0, max_lines=10))
    await start(runs)
    for n in range(10):  # a worker that cut its copy: its head and its tail
        runs.log(1, 0, n, f"line {n}")
    cut_by_worker = RunOutcome(InstanceStatus.SUCCESS, "ok", dropped_lines=500, dropped_bytes=4_000)
    runs.finished(1, 0, cut_by_worker, 99)
    lines = [text for _, text in await stored(runs, store)]
    assert lines[:9] == [f"line {n}" for n in range(9)]
    assert lines[9].startswith("[tickwork] log truncated: 500 lines (3.9 KiB) dropped here")
    assert lines[10:] == ["line 9"]


async def test_unbounded_logs_keep_every_line() -> None:
    runs, store, _ = engine(LogLimits(max_bytes=0, max_lines=0))
    await start(runs)
    for n in range(5_000):
        runs.log(1, 0, n, str(n))
    runs.finished(1, 0, OK, 9)
    assert [text for _, text in await stored(runs, store)] == [str(n) for n in range(5_000)]


async def test_the_writer_asks_producers_to_wait_while_its_log_backlog_is_large() -> None:
    store = RecordingStore()
    writer = BatchWriter(store)  # type: ignore[arg-type]
    writer.start()
    try:
        store.open.clear()  # the database is slow: nothing is written for now
        n = 0
        while writer.log_room() is None:
            writer.log(LogLine(1, n, "x"))
            n += 1
        assert n == LOG_BACKLOG_LINES  # the bound: producers that can wait stop here
        room = writer.log_room()
        assert room is not None and not room.done()
        store.open.set()
        await asyncio.wait_for(room, 10)
        assert len(store.lines) >= LOG_BACKLOG_LINES // 2  # done once half was written
        big = "y" * 16_384
        while writer.log_room() is None:  # a backlog of long lines is bounded by its size
            writer.log(LogLine(1, n, big))
            n += 1
        await writer.flush()
    finally:
        await writer.close()
    assert len(store.lines) == n
