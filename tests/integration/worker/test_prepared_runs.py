"""Prepared runs: the process is started ahead of the due instant, held at a gate, and the
job's code runs only when the run is submitted."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from worker_support import RecordingReporter, is_alive, make_request

from tickwork.domain.enums import InstanceStatus, JobType
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
