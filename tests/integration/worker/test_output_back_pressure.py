"""A run printing faster than its lines are written waits on its own output, and a worker that
cuts its copy of a run's log (as an agent does) reports its head, tail and what it dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from worker_support import FAILED, KILLED, SUCCESS, RecordingReporter, make_request

from tickwork.domain.enums import JobType
from tickwork.domain.log_cap import LogLimits
from tickwork.worker.inprocess import InProcessWorker

PRINTER = "for n in range(200_000):\n    print(n)\n"


class SlowReporter(RecordingReporter):
    """The engine's double with a writer that falls behind: past ``behind_at`` lines it
    answers ``log_room`` with a future that the test completes."""

    def __init__(self, behind_at: int) -> None:
        super().__init__()
        self.behind_at = behind_at
        self.room: asyncio.Future[None] | None = None

    def log_room(self) -> asyncio.Future[None] | None:
        if self.room is None and len(self.recorded.logs) >= self.behind_at:
            self.room = asyncio.get_running_loop().create_future()
        return self.room

    def catch_up(self) -> None:
        room, self.room = self.room, None
        assert room is not None
        self.behind_at = 10**9
        room.set_result(None)


@pytest.fixture
def slow() -> SlowReporter:
    return SlowReporter(behind_at=1_000)


@pytest.fixture
async def slow_worker(slow: SlowReporter) -> AsyncIterator[InProcessWorker]:
    worker = InProcessWorker(concurrency=4, kill_grace=1.0)
    await worker.start(slow)
    yield worker
    await worker.stop(grace=0)


async def test_a_process_waits_on_its_output_while_its_lines_wait_to_be_written(
    slow_worker: InProcessWorker, slow: SlowReporter
) -> None:
    request = make_request(job_type=JobType.PYTHON, content=PRINTER)
    slow_worker.submit(request)
    await slow.until(lambda: slow.room is not None, "the writer to fall behind")
    await asyncio.sleep(0.5)  # a printer of 200,000 lines would be done by now
    assert len(slow.recorded.logs) == 1_000  # not one line read past the point
    assert slow.outcome(request.instance_id) is None  # it waits on its full pipe
    slow.catch_up()
    outcome = await slow.wait_outcome(request.instance_id)
    assert (outcome.status, outcome.result) == (SUCCESS, "199999")
    assert slow.lines(request.instance_id) == [str(n) for n in range(200_000)]


async def test_a_waiting_process_is_killed_at_once(
    slow_worker: InProcessWorker, slow: SlowReporter
) -> None:
    request = make_request(job_type=JobType.PYTHON, content=PRINTER)
    slow_worker.submit(request)
    await slow.until(lambda: slow.room is not None, "the writer to fall behind")
    assert slow_worker.kill(request.instance_id, "stopped by test")
    outcome = await slow.wait_outcome(request.instance_id)  # the writer is still behind
    assert (outcome.status, outcome.result) == (KILLED, "stopped by test")


async def test_a_worker_cutting_the_log_reports_head_tail_and_the_count(
    reporter: RecordingReporter,
) -> None:
    worker = InProcessWorker(concurrency=2, kill_grace=1.0)
    worker.log_limits = LogLimits(max_bytes=0, max_lines=100)
    await worker.start(reporter)
    try:
        # the result is the last stdout line, far from the end of the log
        script = 'echo "the result"\nfor n in $(seq 1 5000); do echo "noise $n" >&2; done\nexit 3'
        request = make_request(content=script)
        worker.submit(request)
        outcome = await reporter.wait_outcome(request.instance_id)
    finally:
        await worker.stop(grace=0)
    lines = reporter.lines(request.instance_id)
    assert lines[:90] == ["the result"] + [f"[stderr] noise {n}" for n in range(1, 90)]
    assert lines[90:] == [f"[stderr] noise {n}" for n in range(4992, 5001)] + [
        "[tickwork] exit code 3"
    ]
    assert (outcome.status, outcome.result) == (FAILED, "the result")
    assert outcome.dropped_lines == 5_000 - 89 - 9
    assert outcome.dropped_bytes == sum(len(f"[stderr] noise {n}\n") for n in range(90, 4992))
