"""The in-process worker: slots, exactly one outcome per run, kill, stop."""

from __future__ import annotations

import asyncio
import socket
from typing import ClassVar

import pytest
from worker_support import FAILED, KILLED, SUCCESS, RecordingReporter, make_request

from tickwork.domain.enums import JobType
from tickwork.domain.errors import InvalidParameter, InvalidState
from tickwork.processor import JobContext, Processor, ProcessResult
from tickwork.worker.abc import Worker
from tickwork.worker.inprocess import InProcessWorker


class Gate(Processor):
    """Waits for the test to open the gate; counts how many runs are inside at once."""

    gate: ClassVar[asyncio.Event]
    inside: ClassVar[int] = 0
    most_inside: ClassVar[int] = 0

    async def process(self, ctx: JobContext) -> ProcessResult:
        Gate.inside += 1
        Gate.most_inside = max(Gate.most_inside, Gate.inside)
        try:
            await Gate.gate.wait()
        finally:
            Gate.inside -= 1
        return ProcessResult(True, "passed")


@pytest.fixture
def gate() -> asyncio.Event:
    Gate.gate = asyncio.Event()
    Gate.inside = Gate.most_inside = 0
    return Gate.gate


def _gate_request(**changes: object):  # type: ignore[no-untyped-def]
    return make_request(job_type=JobType.PROCESSOR, class_name=f"{__name__}:Gate", **changes)


@pytest.fixture
async def small_worker(reporter: RecordingReporter):  # type: ignore[no-untyped-def]
    worker = InProcessWorker(concurrency=2, kill_grace=1.0)
    await worker.start(reporter)
    yield worker
    await worker.stop(grace=0)


def test_it_is_a_worker() -> None:
    worker: Worker = InProcessWorker(concurrency=1)
    assert worker.address == f"inproc@{socket.gethostname()}"
    assert InProcessWorker(1, "inproc@here").address == "inproc@here"


@pytest.mark.parametrize("concurrency", [0, -1, True])
def test_concurrency_must_be_positive(concurrency: int) -> None:
    with pytest.raises(InvalidParameter) as caught:
        InProcessWorker(concurrency=concurrency)
    assert caught.value.field == "concurrency"


def test_submit_before_start_is_refused() -> None:
    with pytest.raises(InvalidState):
        InProcessWorker(concurrency=1).submit(make_request(content="true"))


async def test_runs_beyond_concurrency_wait_their_turn(
    small_worker: InProcessWorker, reporter: RecordingReporter, gate: asyncio.Event
) -> None:
    requests = [_gate_request() for _ in range(5)]
    for request in requests:
        small_worker.submit(request)
    await reporter.until(lambda: len(reporter.recorded.started) >= 2, "two runs to start")
    for _ in range(20):  # let the others try to get in
        await asyncio.sleep(0.01)
    assert len(reporter.recorded.started) == 2
    assert small_worker.running() == 5

    gate.set()
    for request in requests:
        outcome = await reporter.wait_outcome(request.instance_id)
        assert (outcome.status, outcome.result) == (SUCCESS, "passed")
    assert Gate.most_inside == 2
    assert len(reporter.recorded.started) == 5
    assert small_worker.running() == 0
    assert {worker for _, _, worker, _ in reporter.recorded.started} == {small_worker.address}


async def test_killing_a_waiting_run_finishes_it_without_starting_it(
    small_worker: InProcessWorker, reporter: RecordingReporter, gate: asyncio.Event
) -> None:
    running = [_gate_request(), _gate_request()]
    waiting = _gate_request()
    for request in [*running, waiting]:
        small_worker.submit(request)
    await reporter.until(lambda: len(reporter.recorded.started) >= 2, "two runs to start")

    assert small_worker.kill(waiting.instance_id, "not needed")
    outcome = await reporter.wait_outcome(waiting.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "not needed")
    assert not reporter.was_started(waiting.instance_id)
    gate.set()
    for request in running:
        assert (await reporter.wait_outcome(request.instance_id)).status == SUCCESS


async def test_kill_of_an_unknown_run_is_false(small_worker: InProcessWorker) -> None:
    assert small_worker.kill(123456789, "who?") is False


async def test_a_duplicate_submit_runs_once(
    small_worker: InProcessWorker, reporter: RecordingReporter, gate: asyncio.Event
) -> None:
    request = _gate_request()
    small_worker.submit(request)
    small_worker.submit(request)
    gate.set()
    await reporter.wait_outcome(request.instance_id)
    await asyncio.sleep(0.05)
    assert [f[0] for f in reporter.recorded.finished].count(request.instance_id) == 1


async def test_an_executor_that_raises_fails_the_run_with_its_traceback(
    small_worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(job_type=JobType.COMMAND, command="echo", command_args=("a\x00b",))
    small_worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)
    assert outcome.status == FAILED
    assert outcome.result == "ValueError: embedded null byte"
    lines = reporter.lines(request.instance_id)
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: embedded null byte"


async def test_stop_refuses_new_runs_and_lets_running_ones_finish(
    reporter: RecordingReporter, gate: asyncio.Event
) -> None:
    worker = InProcessWorker(concurrency=2)
    await worker.start(reporter)
    running = _gate_request()
    worker.submit(running)
    await reporter.until(lambda: reporter.was_started(running.instance_id), "the run to start")

    stopping = asyncio.create_task(worker.stop(grace=60))
    await asyncio.sleep(0.01)
    late = make_request(content="echo too late")
    worker.submit(late)
    refused = await reporter.wait_outcome(late.instance_id)
    assert refused.status == FAILED
    assert refused.result == f"worker {worker.address} is stopping"
    assert not reporter.was_started(late.instance_id)

    gate.set()
    await stopping
    assert (await reporter.wait_outcome(running.instance_id)).status == SUCCESS
    assert worker.running() == 0


async def test_stop_kills_what_is_still_running_after_the_grace(
    reporter: RecordingReporter,
) -> None:
    worker = InProcessWorker(concurrency=2, kill_grace=1.0)
    await worker.start(reporter)
    shell = make_request(content="echo up\nsleep 1000\n")
    command = make_request(job_type=JobType.COMMAND, command="sleep", command_args=("1000",))
    worker.submit(shell)
    worker.submit(command)
    await reporter.until(lambda: reporter.lines(shell.instance_id), "the shell run to start")

    await worker.stop(grace=0.1)

    for request in (shell, command):
        outcome = reporter.outcome(request.instance_id)
        assert outcome is not None
        assert (outcome.status, outcome.result) == (KILLED, f"worker {worker.address} stopped")
    assert worker.running() == 0
