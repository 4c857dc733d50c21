"""Shell and python script jobs, run as real subprocesses by the in-process worker."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys

import pytest
from worker_support import (
    FAILED,
    KILLED,
    SUCCESS,
    RecordingReporter,
    is_alive,
    make_request,
    run_job,
)

from tickwork.domain.enums import JobType, TriggerType
from tickwork.worker.executors.process import STDERR_PREFIX
from tickwork.worker.inprocess import InProcessWorker


async def test_shell_result_is_the_last_non_empty_stdout_line(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, lines = await run_job(
        worker, reporter, content="echo first\necho second\necho '  last one  '\necho\n"
    )
    assert outcome.status == SUCCESS
    assert outcome.result == "last one"
    assert lines == ["first", "second", "  last one  ", ""]


async def test_each_line_is_reported_with_its_own_time(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(content="echo a\nsleep 0.2\necho b\n")
    worker.submit(request)
    await reporter.wait_outcome(request.instance_id)
    times = [at for iid, _, at, _ in reporter.recorded.logs if iid == request.instance_id]
    assert len(times) == 2
    assert times[1] > times[0]


async def test_non_zero_exit_fails_with_the_last_line(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, lines = await run_job(worker, reporter, content="echo 'disk full'\nexit 3\n")
    assert outcome.status == FAILED
    assert outcome.result == "disk full"
    assert "[tickwork] exit code 3" in lines


async def test_non_zero_exit_without_output_fails_with_the_exit_code(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(worker, reporter, content="exit 7")
    assert (outcome.status, outcome.result) == (FAILED, "exit code 7")


async def test_stderr_is_captured_but_is_not_the_result(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, lines = await run_job(worker, reporter, content="echo out\necho oops >&2\n")
    assert outcome.status == SUCCESS
    assert outcome.result == "out"
    assert STDERR_PREFIX + "oops" in lines


async def test_death_by_signal_is_reported(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(worker, reporter, content="echo before\nkill -9 $$\n")
    assert (outcome.status, outcome.result) == (FAILED, "killed by signal SIGKILL")


async def test_variables_are_substituted_in_the_content(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = (
        "echo 'p=#{schedulerx.jobParameters}'\n"
        "echo 'i=#{schedulerx.instanceParameters}'\n"
        "echo 'shard=#{schedulerx.shardingId}/#{schedulerx.shardingNum}:"
        "#{schedulerx.shardingParameter}'\n"
        "echo 'a=#{schedulerx.attempt} t=#{schedulerx.triggerType}'\n"
        "echo 's=#{schedulerx.scheduleTime} d=#{schedulerx.dataTime}'\n"
        "echo 'job=#{schedulerx.jobId} #{schedulerx.jobName} #{schedulerx.jobInstanceId}'\n"
        "echo 'alias=#{tickwork.jobParameters} unknown=#{schedulerx.nope} #{other.jobId}'\n"
    )
    outcome, lines = await run_job(
        worker,
        reporter,
        instance_id=4242,
        content=script,
        job_parameters="a=1",
        instance_parameters="x",
        sharding_id=2,
        sharding_num=5,
        sharding_parameter="north",
        attempt=1,
        trigger_type=TriggerType.SCHEDULED,
        schedule_time=1_700_000_000_000,  # 2023-11-14 22:13:20 UTC
        data_time=1_699_996_400_000,
        job_id=77,
        job_name="nightly",
    )
    assert outcome.status == SUCCESS
    assert lines == [
        "p=a=1",
        "i=x",
        "shard=2/5:north",
        "a=1 t=1",
        "s=2023-11-14 22:13:20 d=2023-11-14 21:13:20",
        "job=77 nightly 4242",
        "alias=a=1 unknown=#{schedulerx.nope} #{other.jobId}",
    ]


async def test_variables_are_in_the_environment(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = (
        'echo "$TICKWORK_JOB_PARAMETERS|$SCHEDULERX_JOB_PARAMETERS"\n'
        'echo "$TICKWORK_JOB_INSTANCE_ID $TICKWORK_SHARDING_NUM $TICKWORK_SCHEDULE_TIME"\n'
        'echo "$FROM_ENGINE"\n'
    )
    outcome, lines = await run_job(
        worker,
        reporter,
        instance_id=4343,
        content=script,
        job_parameters="k=v&x=$(y)",
        sharding_num=3,
        extra_env=(("FROM_ENGINE", "yes"),),
    )
    assert outcome.status == SUCCESS
    assert lines == ["k=v&x=$(y)|k=v&x=$(y)", "4343 3 2023-11-14 22:13:20", "yes"]


async def test_python_script_runs_with_the_worker_interpreter(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = (
        "import os, sys\n"
        "print('exe', sys.executable)\n"
        "print('params', '#{schedulerx.jobParameters}', os.environ['TICKWORK_JOB_NAME'])\n"
    )
    outcome, lines = await run_job(
        worker, reporter, job_type=JobType.PYTHON, content=script, job_parameters="p1"
    )
    assert outcome.status == SUCCESS
    assert lines[0] == f"exe {sys.executable}"
    assert outcome.result == "params p1 job"


async def test_python_script_exception_fails_with_its_traceback_on_stderr(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = "print('working')\nraise RuntimeError('bad input')\n"
    outcome, lines = await run_job(worker, reporter, job_type=JobType.PYTHON, content=script)
    assert (outcome.status, outcome.result) == (FAILED, "working")
    assert STDERR_PREFIX + "RuntimeError: bad input" in lines
    assert STDERR_PREFIX + "Traceback (most recent call last):" in lines


async def test_empty_script_fails_clearly(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(worker, reporter, content="  \n")
    assert outcome.status == FAILED
    assert "needs a script in its content" in outcome.result


async def test_long_lines_are_cut_and_unterminated_last_line_is_kept(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = "import sys\nsys.stdout.write('x' * 40000 + '\\n' + 'tail')\n"
    outcome, lines = await run_job(worker, reporter, job_type=JobType.PYTHON, content=script)
    assert outcome.status == SUCCESS
    assert outcome.result == "tail"
    assert "".join(lines[:-1]) == "x" * 40000
    assert all(len(line) <= 16 * 1024 for line in lines)


async def test_result_is_kept_to_1000_characters(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = "print('y' * 5000)\n"
    outcome, _ = await run_job(worker, reporter, job_type=JobType.PYTHON, content=script)
    assert outcome.result == "y" * 1000


async def _pids_from_log(reporter: RecordingReporter, instance_id: int, count: int) -> list[int]:
    def pids() -> list[int] | None:
        found = [
            int(line.split()[1]) for line in reporter.lines(instance_id) if line.startswith("pid ")
        ]
        return found if len(found) >= count else None

    result: list[int] = await reporter.until(pids, "the script to print its pids")
    return result


async def test_kill_ends_the_whole_process_tree(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = (
        "sleep 1000 &\n"
        'echo "pid $!"\n'
        "bash -c 'sleep 1000 & echo \"pid $!\"; wait' &\n"
        'echo "pid $$"\n'
        "wait\n"
    )
    request = make_request(content=script)
    worker.submit(request)
    pids = await _pids_from_log(reporter, request.instance_id, 3)
    assert all(is_alive(pid) for pid in pids)

    assert worker.kill(request.instance_id, "stopped by a test")
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "stopped by a test")
    assert [pid for pid in pids if is_alive(pid)] == []
    assert worker.running() == 0
    assert not worker.kill(request.instance_id, "again")


async def test_kill_escalates_to_sigkill_when_sigterm_is_ignored(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    script = (
        "trap '' TERM\n"
        "sleep 1000 &\n"
        'echo "pid $!"\n'
        'echo "pid $$"\n'
        "while true; do sleep 0.1; done\n"
    )
    request = make_request(content=script)
    worker.submit(request)
    pids = await _pids_from_log(reporter, request.instance_id, 2)

    worker.kill(request.instance_id, "no mercy")
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "no mercy")
    assert [pid for pid in pids if is_alive(pid)] == []


async def test_processes_left_behind_are_ended_with_the_run(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(content='sleep 1000 > /dev/null 2>&1 &\necho "pid $!"\necho done\n')
    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)
    pids = await _pids_from_log(reporter, request.instance_id, 1)

    assert (outcome.status, outcome.result) == (SUCCESS, "done")
    assert not is_alive(pids[0])


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid(1)")
async def test_a_detached_process_holding_the_output_does_not_hold_the_run(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    request = make_request(content='setsid sleep 1000 &\necho "pid $!"\necho done\n')
    worker.submit(request)
    try:
        outcome = await reporter.wait_outcome(request.instance_id)
        assert (outcome.status, outcome.result) == (SUCCESS, "done")
    finally:
        for pid in await _pids_from_log(reporter, request.instance_id, 1):
            if is_alive(pid):
                os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0)
