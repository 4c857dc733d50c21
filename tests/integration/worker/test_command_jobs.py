"""Command jobs: a program and its arguments, run without a shell."""

from __future__ import annotations

import sys

from worker_support import FAILED, KILLED, SUCCESS, RecordingReporter, make_request, run_job

from tickwork.domain.enums import JobType
from tickwork.worker.executors.process import STDERR_PREFIX
from tickwork.worker.inprocess import InProcessWorker

PRINT_ARGS_AND_ENV = (
    "import os, sys\n"
    "print(sys.argv[1:])\n"
    "print(os.environ.get('GREETING'), os.environ.get('TICKWORK_JOB_ID'))\n"
    "print('warning', file=sys.stderr)\n"
)


async def test_command_runs_without_a_shell_with_args_and_envs(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, lines = await run_job(
        worker,
        reporter,
        job_type=JobType.COMMAND,
        job_id=31,
        command=sys.executable,
        command_args=("-c", PRINT_ARGS_AND_ENV, "$HOME", "a b", "#{schedulerx.jobId}"),
        envs=(("GREETING", "hi"),),
    )
    assert (outcome.status, outcome.result) == (SUCCESS, "hi 31")
    assert lines[0] == "['$HOME', 'a b', '31']"
    assert STDERR_PREFIX + "warning" in lines


async def test_command_exit_code_fails_the_run(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(
        worker, reporter, job_type=JobType.COMMAND, command="sh", command_args=("-c", "exit 4")
    )
    assert (outcome.status, outcome.result) == (FAILED, "exit code 4")


async def test_unknown_command_fails_clearly(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(
        worker, reporter, job_type=JobType.COMMAND, command="no-such-command-tickwork"
    )
    assert outcome.status == FAILED
    assert outcome.result.startswith("cannot start no-such-command-tickwork: ")


async def test_missing_command_fails_clearly(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(worker, reporter, job_type=JobType.COMMAND, command=" ")
    assert (outcome.status, outcome.result) == (FAILED, "a command job needs a command")


async def test_kill_a_command(worker: InProcessWorker, reporter: RecordingReporter) -> None:
    request = make_request(
        job_type=JobType.COMMAND, command="sh", command_args=("-c", "echo up; sleep 1000")
    )
    worker.submit(request)
    await reporter.until(lambda: reporter.lines(request.instance_id), "the command to start")
    worker.kill(request.instance_id, "cancelled by user")
    outcome = await reporter.wait_outcome(request.instance_id)
    assert (outcome.status, outcome.result) == (KILLED, "cancelled by user")
