"""A run's sink: lines logged by its threads are bounded on their way to the loop, and a
worker that cuts its copy of the log reports the tail at the end with what it dropped."""

from __future__ import annotations

import asyncio
import threading
import time

from tickwork.domain.enums import ExecuteMode, JobType, TimeType, TriggerType
from tickwork.domain.log_cap import LogLimits
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey
from tickwork.worker.executors.base import THREAD_LINES_WAITING, RunSink
from tickwork.worker.loop_inbox import inbox_of

REQUEST = RunRequest(
    instance_id=5,
    job_id=1,
    job_name="j",
    namespace="ns",
    group_id="g",
    job_type=JobType.PROCESSOR,
    execute_mode=ExecuteMode.STANDALONE,
    time_type=TimeType.API,
    trigger_type=TriggerType.API,
    schedule_time=0,
    data_time=0,
    attempt=0,
    max_attempt=0,
)


class Lines:
    """A reporter that keeps the lines; ``log_room`` answers ``room`` when it is set."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.room: asyncio.Future[None] | None = None

    def log_room(self) -> asyncio.Future[None] | None:
        return self.room

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None: ...

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None:
        self.lines.append(line)

    def progress(self, instance_id: int, attempt: int, progress: str) -> None: ...

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None: ...

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None: ...


def wait_blocking(condition: object, within: float = 30.0) -> None:
    """Wait on this (the loop's) thread, so that the loop runs none of the inbox's calls."""
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


async def until(condition: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.005)


async def test_a_thread_that_logs_faster_than_the_loop_takes_waits_for_it() -> None:
    loop = asyncio.get_running_loop()
    reporter = Lines()
    sink = RunSink(reporter, REQUEST, loop, room=reporter.log_room)
    inbox = inbox_of(loop)
    count = 3 * THREAD_LINES_WAITING

    thread = threading.Thread(
        target=lambda: [sink.log_threadsafe(f"line {n}") for n in range(count)], daemon=True
    )
    thread.start()
    # the loop is held here: the thread's lines pile up in the inbox until it has to wait
    wait_blocking(lambda: len(inbox) >= THREAD_LINES_WAITING)
    thread.join(0.2)
    assert thread.is_alive()  # waiting for a place, not piling up more
    assert len(inbox) == THREAD_LINES_WAITING
    await until(lambda: not thread.is_alive())
    await until(lambda: len(reporter.lines) == count)
    assert reporter.lines == [f"line {n}" for n in range(count)]
    sink.close()


async def test_a_thread_waits_while_its_lines_wait_to_be_written() -> None:
    loop = asyncio.get_running_loop()
    reporter = Lines()
    reporter.room = loop.create_future()  # the writer is behind from the start
    sink = RunSink(reporter, REQUEST, loop, room=reporter.log_room)
    count = 2 * THREAD_LINES_WAITING
    thread = threading.Thread(
        target=lambda: [sink.log_threadsafe(str(n)) for n in range(count)], daemon=True
    )
    thread.start()
    await until(lambda: len(reporter.lines) == THREAD_LINES_WAITING)
    await asyncio.sleep(0.1)
    assert thread.is_alive()
    assert len(reporter.lines) == THREAD_LINES_WAITING  # no more until there is room
    room, reporter.room = reporter.room, None
    room.set_result(None)
    await until(lambda: not thread.is_alive() and len(reporter.lines) == count)
    sink.close()


async def test_closing_the_sink_releases_a_waiting_thread() -> None:
    loop = asyncio.get_running_loop()
    reporter = Lines()
    reporter.room = loop.create_future()  # never done
    sink = RunSink(reporter, REQUEST, loop, room=reporter.log_room)
    thread = threading.Thread(
        target=lambda: [sink.log_threadsafe("x") for _ in range(2 * THREAD_LINES_WAITING)],
        daemon=True,
    )
    thread.start()
    await until(lambda: len(reporter.lines) == THREAD_LINES_WAITING)
    sink.close()  # the run ended: what its threads log now is dropped
    await until(lambda: not thread.is_alive())
    assert len(reporter.lines) == THREAD_LINES_WAITING


async def test_a_sink_that_cuts_the_log_reports_the_tail_and_the_count_at_close() -> None:
    reporter = Lines()
    sink = RunSink(
        reporter, REQUEST, asyncio.get_running_loop(), limits=LogLimits(max_bytes=0, max_lines=20)
    )
    for n in range(1_000):
        sink.log(f"line {n}")
    assert reporter.lines == [f"line {n}" for n in range(18)]  # the head went on at once
    sink.close()
    assert reporter.lines[18:] == ["line 998", "line 999"]
    assert sink.dropped_lines == 980
    assert sink.dropped_bytes == sum(len(f"line {n}\n") for n in range(18, 998))
