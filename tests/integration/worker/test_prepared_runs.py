"""Prepared runs: the process (or, for a processor, a thread with the instance made) is
started ahead of the due instant, held at a gate, and the job's code runs only when the run
is submitted."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from worker_support import SUCCESS, RecordingReporter, is_alive, make_request

from tickwork.domain.enums import InstanceStatus, JobType
from tickwork.processor import JobContext, Processor, ProcessResult
from tickwork.worker.executors.process import GATE_SH
from tickwork.worker.inprocess import InProcessWorker


def gated_pids(instance_id: int) -> list[int]:
    """Live processes whose command line names this instance's script or gate."""
    found = []
    marker = f"tickwork-{instance_id}-".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


async def test_a_prepared_shell_run_is_the_process_started_ahead(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(
        content='echo "pid $$"\necho "params=#{schedulerx.instanceParameters}"',
        instance_parameters="p",
    )
    worker.prepare(request)
    pids = await reporter.until(lambda: gated_pids(request.instance_id), "the gated process")
    assert reporter.recorded.logs == []  # nothing of the job ran yet

    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (InstanceStatus.SUCCESS, "params=p")
    assert reporter.lines(request.instance_id) == [f"pid {pids[0]}", "params=p"]


async def test_a_prepared_python_script_runs_as_main(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(
        job_type=JobType.PYTHON,
        content="import sys\nprint(__name__)\nprint(sys.argv[0].endswith('.py'))\n"
        "print(repr(sys.stdin.read()))",
    )
    worker.prepare(request)
    await reporter.until(lambda: gated_pids(request.instance_id), "the gated interpreter")
    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)
    assert outcome.status == InstanceStatus.SUCCESS
    assert reporter.lines(request.instance_id) == ["__main__", "True", "''"]


async def test_a_prepared_command_runs_its_program(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(
        job_type=JobType.COMMAND, content="", command="echo", command_args=("a b", "c")
    )
    worker.prepare(request)
    worker.submit(request)  # at once: the gate may still be starting
    outcome = await reporter.wait_outcome(request.instance_id)
    assert (outcome.status, outcome.result) == (InstanceStatus.SUCCESS, "a b c")


async def test_discard_ends_the_prepared_process_and_reports_nothing(
    worker: InProcessWorker, reporter: RecordingReporter, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    request = make_request(content=f"touch {marker}")
    worker.prepare(request)
    pids = await reporter.until(lambda: gated_pids(request.instance_id), "the gated process")
    worker.discard(request.instance_id)
    await reporter.until(lambda: not any(is_alive(p) for p in pids), "the process to end")
    assert not marker.exists()
    assert reporter.recorded.finished == [] and reporter.recorded.started == []
    assert gated_pids(request.instance_id) == []  # the script file went with it


async def test_a_changed_request_runs_fresh_and_drops_the_prepared_one(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(content="echo old")
    worker.prepare(request)
    pids = await reporter.until(lambda: gated_pids(request.instance_id), "the gated process")
    worker.submit(replace(request, content="echo new"))
    outcome = await reporter.wait_outcome(request.instance_id)
    assert outcome.result == "new"
    await reporter.until(lambda: not any(is_alive(p) for p in pids), "the old process to end")


async def test_stop_ends_prepared_processes(reporter: RecordingReporter) -> None:
    worker = InProcessWorker(concurrency=4, kill_grace=1.0)
    await worker.start(reporter)
    request = make_request(content="echo never")
    worker.prepare(request)
    pids = await reporter.until(lambda: gated_pids(request.instance_id), "the gated process")
    await worker.stop(grace=0)
    assert not any(is_alive(p) for p in pids)
    assert reporter.recorded.finished == []


def test_a_gated_process_exits_when_its_gate_closes_unopened(tmp_path: Path) -> None:
    """If the server dies, the pipe to the gate closes: the held process ends, runs nothing."""
    marker = tmp_path / "ran"
    gate = subprocess.run(
        ["/bin/sh", "-c", GATE_SH + f"touch {marker}"], input=b"", timeout=30, check=False
    )
    assert gate.returncode == 0
    assert not marker.exists()
    opened = subprocess.run(
        ["/bin/sh", "-c", GATE_SH + f"touch {marker}"], input=b"go\n", timeout=30, check=False
    )
    assert opened.returncode == 0 and marker.exists()


class Traced(Processor):
    """Records the thread its calls ran in, and when."""

    calls: ClassVar[list[tuple[str, str, int]]] = []
    made: ClassVar[int] = 0

    def __init__(self) -> None:
        Traced.made += 1

    def pre_process(self, ctx: JobContext) -> None:
        Traced.calls.append(("pre", threading.current_thread().name, ctx.job_instance_id))

    def process(self, ctx: JobContext) -> ProcessResult:
        Traced.calls.append(("process", threading.current_thread().name, ctx.job_instance_id))
        return ProcessResult(True, f"ran {ctx.job_instance_id}")


async def _imported(worker: InProcessWorker, reporter: RecordingReporter) -> None:
    """Run the class once, so that it is imported (only imported classes are prepared)."""
    request = make_request(job_type=JobType.PROCESSOR, class_name=f"{__name__}:Traced")
    worker.submit(request)
    await reporter.wait_outcome(request.instance_id)


async def test_a_prepared_processor_is_made_ahead_and_its_code_runs_when_submitted(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    await _imported(worker, reporter)
    Traced.calls.clear()
    made = Traced.made
    request = make_request(job_type=JobType.PROCESSOR, class_name=f"{__name__}:Traced")
    worker.prepare(request)
    assert Traced.made == made + 1  # the instance is made ahead
    await asyncio.sleep(0.1)
    assert Traced.calls == []  # nothing of the job ran before it was submitted

    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)
    assert (outcome.status, outcome.result) == (
        InstanceStatus.SUCCESS,
        f"ran {request.instance_id}",
    )
    assert Traced.made == made + 1  # the prepared instance ran: no second one
    # pre_process (the class has its own) was the gated call; process followed in turn
    assert [(c[0], c[2]) for c in Traced.calls] == [
        ("pre", request.instance_id),
        ("process", request.instance_id),
    ]
    assert all(c[1].startswith("tickwork-job") for c in Traced.calls)


async def test_start_prepared_starts_the_code_of_the_prepared_runs_before_their_submit(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    """A burst: the code of runs prepared with these very requests starts at once; a run
    whose request changed, or one never prepared, waits for its submit; each runs once."""
    await _imported(worker, reporter)
    Traced.calls.clear()
    kind = {"job_type": JobType.PROCESSOR, "class_name": f"{__name__}:Traced"}
    same = [make_request(**kind) for _ in range(3)]
    changed = make_request(**kind)
    unprepared = make_request(**kind)
    for request in [*same, changed]:
        worker.prepare(request)
    changed = replace(changed, job_parameters="changed since it was prepared")
    burst = [*same, changed, unprepared]

    worker.start_prepared(burst)
    worker.let_start(5.0)
    await reporter.until(lambda: len(Traced.calls) >= 3, "the prepared runs' code started")
    await asyncio.sleep(0.1)
    assert sorted(c[2] for c in Traced.calls) == sorted(r.instance_id for r in same)

    for request in burst:
        worker.submit(request)
    for request in burst:
        outcome = await reporter.wait_outcome(request.instance_id)
        assert (outcome.status, outcome.result) == (SUCCESS, f"ran {request.instance_id}")
    for request in burst:  # pre_process and process once each, whatever started it
        assert [c[0] for c in Traced.calls if c[2] == request.instance_id] == ["pre", "process"]


async def test_start_prepared_keeps_the_concurrency_bound(reporter: RecordingReporter) -> None:
    """Two slots, four prepared runs due together: two start, the others at their submit
    wait for a slot."""
    worker = InProcessWorker(concurrency=2)
    await worker.start(reporter)
    try:
        kind = {"job_type": JobType.PROCESSOR, "class_name": f"{__name__}:Blocking"}
        Blocking.gate.set()  # one run first, so that the class is imported (and prepared)
        first = make_request(**kind)
        worker.submit(first)
        assert (await reporter.wait_outcome(first.instance_id)).status == SUCCESS
        Blocking.gate.clear()
        Blocking.running = Blocking.most = 0
        requests = [make_request(**kind) for _ in range(4)]
        for request in requests:
            worker.prepare(request)
        worker.start_prepared(requests)
        await reporter.until(lambda: Blocking.running == 2, "two runs going")
        for request in requests:
            worker.submit(request)
        await asyncio.sleep(0.2)
        assert Blocking.running == 2
        Blocking.gate.set()
        for request in requests:
            assert (await reporter.wait_outcome(request.instance_id)).status == SUCCESS
        assert Blocking.most == 2
    finally:
        await worker.stop(grace=1)


async def test_a_discarded_prepared_processor_never_runs(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    await _imported(worker, reporter)
    Traced.calls.clear()
    request = make_request(job_type=JobType.PROCESSOR, class_name=f"{__name__}:Traced")
    worker.prepare(request)
    worker.discard(request.instance_id)
    await asyncio.sleep(0.2)
    assert Traced.calls == []
    assert all(started[0] != request.instance_id for started in reporter.recorded.started)
    assert all(ended[0] != request.instance_id for ended in reporter.recorded.finished)


async def test_prepared_processors_submitted_together_keep_the_concurrency_bound(
    reporter: RecordingReporter,
) -> None:
    """Two slots, four prepared runs submitted in one go: two start at once, the other two
    when a slot comes free, and never more than two run together."""
    worker = InProcessWorker(concurrency=2)
    await worker.start(reporter)
    try:
        await _imported(worker, reporter)
        Blocking.gate.clear()
        Blocking.running = Blocking.most = 0
        requests = [
            make_request(job_type=JobType.PROCESSOR, class_name=f"{__name__}:Blocking")
            for _ in range(4)
        ]
        for request in requests:
            worker.prepare(request)
        for request in requests:
            worker.submit(request)
        await reporter.until(lambda: Blocking.running == 2, "two runs going")
        await asyncio.sleep(0.2)
        assert Blocking.running == 2
        Blocking.gate.set()
        for request in requests:
            assert (
                await reporter.wait_outcome(request.instance_id)
            ).status == InstanceStatus.SUCCESS
        assert Blocking.most == 2
    finally:
        await worker.stop(grace=1)


class Blocking(Processor):
    gate: ClassVar[threading.Event] = threading.Event()
    lock: ClassVar[threading.Lock] = threading.Lock()
    running: ClassVar[int] = 0
    most: ClassVar[int] = 0

    def process(self, ctx: JobContext) -> ProcessResult:
        with Blocking.lock:
            Blocking.running += 1
            Blocking.most = max(Blocking.most, Blocking.running)
        Blocking.gate.wait(30)
        with Blocking.lock:
            Blocking.running -= 1
        return ProcessResult(True, "")
