"""Processor jobs: classes of this module, named by class_name, run by the in-process worker."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from worker_support import FAILED, KILLED, SUCCESS, RecordingReporter, make_request, run_job

from tickwork.domain.enums import JobType
from tickwork.processor import JobContext, MapProcessor, Processor, ProcessResult

HERE = __name__


class Hello(Processor):
    seen: ClassVar[list[JobContext]] = []

    def process(self, ctx: JobContext) -> ProcessResult:
        Hello.seen.append(ctx)
        ctx.logger.info("hello %s", ctx.job_parameters)
        ctx.logger.debug("not shown at the default level")
        ctx.logger.warning("two\nlines")
        ctx.report_progress("50%")
        ctx.report_progress("100%")
        return ProcessResult(True, f"hello {ctx.job_parameters}")


class LogsOddly(Processor):
    """A log call whose arguments do not fit its format, and a handler of its own."""

    kept: ClassVar[list[str]] = []

    def process(self, ctx: JobContext) -> ProcessResult:
        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                LogsOddly.kept.append(record.getMessage())

        ctx.logger.addHandler(Keep(logging.WARNING))
        ctx.logger.info("%d rows", "many")
        ctx.logger.info("info: not for the handler")
        ctx.logger.warning("for both")
        return ProcessResult(True, "logged")


class SaysNo(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(False, "the upstream file is missing")


class Explodes(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        raise ValueError("boom")


class ReturnsText(Processor):
    def process(self, ctx: JobContext) -> Any:
        return "done"


class AsyncHello(Processor):
    async def process(self, ctx: JobContext) -> ProcessResult:
        await asyncio.sleep(0)
        ctx.logger.info("async hello")
        return ProcessResult(True, "async ok")


class WithHooks(Processor):
    calls: ClassVar[list[str]] = []

    def pre_process(self, ctx: JobContext) -> None:
        WithHooks.calls.append("pre")

    def process(self, ctx: JobContext) -> ProcessResult:
        WithHooks.calls.append("process")
        return ProcessResult(True, "from process")

    async def post_process(self, ctx: JobContext) -> ProcessResult | None:
        WithHooks.calls.append("post")
        return ProcessResult(True, "from post_process")


class FailsInPre(Processor):
    def pre_process(self, ctx: JobContext) -> None:
        raise RuntimeError("not ready")

    def process(self, ctx: JobContext) -> ProcessResult:
        raise AssertionError("process must not run")


class Cooperative(Processor):
    """Works until kill(ctx) tells it to stop."""

    started = threading.Event()
    kills: ClassVar[list[int]] = []

    def __init__(self) -> None:
        self.stop = threading.Event()

    def process(self, ctx: JobContext) -> ProcessResult:
        Cooperative.started.set()
        self.stop.wait(60)
        return ProcessResult(True, "stopped politely")

    def kill(self, ctx: JobContext) -> None:
        Cooperative.kills.append(ctx.job_instance_id)
        self.stop.set()


class Sleeper(Processor):
    async def process(self, ctx: JobContext) -> ProcessResult:
        ctx.logger.info("sleeping")
        await asyncio.sleep(1000)
        return ProcessResult(True, "woke up")


class Mapper(MapProcessor):
    def process(self, ctx: JobContext) -> ProcessResult:
        if self.is_root_task(ctx):
            return self.map([1, 2, 3], "Level1")
        return ProcessResult(True)


class NeedsArguments(Processor):
    def __init__(self, required: str) -> None:
        self.required = required

    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True)


def not_a_class() -> None:
    pass


async def _run(worker: Any, reporter: RecordingReporter, cls: str, **changes: Any) -> Any:
    return await run_job(
        worker, reporter, job_type=JobType.PROCESSOR, class_name=f"{HERE}:{cls}", **changes
    )


async def test_processor_success_with_logger_lines_and_progress(
    worker: Any, reporter: RecordingReporter
) -> None:
    Hello.seen.clear()
    request = make_request(
        job_type=JobType.PROCESSOR,
        class_name=f"{HERE}:Hello",
        job_parameters="world",
        instance_parameters="extra",
        schedule_time=1_700_000_000_000,
        data_time=1_699_996_400_000,
        attempt=2,
        max_attempt=3,
        sharding_id=1,
        sharding_num=4,
        sharding_parameter="east",
    )
    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (SUCCESS, "hello world")
    assert reporter.lines(request.instance_id) == ["INFO hello world", "WARNING two", "lines"]
    progress = [p for iid, _, p in reporter.recorded.progress if iid == request.instance_id]
    assert progress == ["50%", "100%"]
    ctx = Hello.seen[-1]
    assert ctx.job_instance_id == request.instance_id
    assert ctx.schedule_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert ctx.data_time == datetime(2023, 11, 14, 21, 13, 20, tzinfo=UTC)
    assert (ctx.attempt, ctx.max_attempt, ctx.instance_parameters) == (2, 3, "extra")
    assert (ctx.sharding_id, ctx.sharding_num, ctx.sharding_parameter) == (1, 4, "east")
    assert ctx.is_root_task


async def test_a_log_call_that_fails_to_format_is_a_log_line_and_handlers_get_records(
    worker: Any, reporter: RecordingReporter
) -> None:
    LogsOddly.kept.clear()
    outcome, lines = await _run(worker, reporter, "LogsOddly")
    assert (outcome.status, outcome.result) == (SUCCESS, "logged")
    assert lines[0].startswith("ERROR a log call of the job failed to format: TypeError(")
    assert "'%d rows'" in lines[0]
    assert lines[1:] == ["INFO info: not for the handler", "WARNING for both"]
    assert LogsOddly.kept == ["for both"]


async def test_logger_records_after_the_run_are_dropped(
    worker: Any, reporter: RecordingReporter
) -> None:
    Hello.seen.clear()
    outcome, lines = await _run(worker, reporter, "Hello")
    Hello.seen[-1].logger.info("too late")
    Hello.seen[-1].report_progress("too late")
    await asyncio.sleep(0.05)
    assert outcome.status == SUCCESS
    assert all("too late" not in line for _, _, _, line in reporter.recorded.logs)
    assert all(p != "too late" for _, _, p in reporter.recorded.progress)


async def test_python_job_with_class_name_and_no_content_is_a_processor(
    worker: Any, reporter: RecordingReporter
) -> None:
    outcome, _ = await run_job(
        worker, reporter, job_type=JobType.PYTHON, class_name=f"{HERE}.AsyncHello"
    )
    assert (outcome.status, outcome.result) == (SUCCESS, "async ok")


async def test_processor_failure(worker: Any, reporter: RecordingReporter) -> None:
    outcome, _ = await _run(worker, reporter, "SaysNo")
    assert (outcome.status, outcome.result) == (FAILED, "the upstream file is missing")


async def test_processor_exception_fails_with_message_and_traceback(
    worker: Any, reporter: RecordingReporter
) -> None:
    outcome, lines = await _run(worker, reporter, "Explodes")
    assert outcome.status == FAILED
    assert outcome.result == f"{HERE}:Explodes.process() raised ValueError: boom"
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


async def test_processor_returning_something_else_fails_clearly(
    worker: Any, reporter: RecordingReporter
) -> None:
    outcome, _ = await _run(worker, reporter, "ReturnsText")
    assert outcome.status == FAILED
    assert outcome.result == (
        f"{HERE}:ReturnsText.process() returned 'done', expected a ProcessResult"
    )


async def test_pre_and_post_process_wrap_process(worker: Any, reporter: RecordingReporter) -> None:
    WithHooks.calls.clear()
    outcome, _ = await _run(worker, reporter, "WithHooks")
    assert (outcome.status, outcome.result) == (SUCCESS, "from post_process")
    assert WithHooks.calls == ["pre", "process", "post"]


async def test_pre_process_raising_fails_the_run(worker: Any, reporter: RecordingReporter) -> None:
    outcome, _ = await _run(worker, reporter, "FailsInPre")
    assert outcome.status == FAILED
    assert outcome.result == f"{HERE}:FailsInPre.pre_process() raised RuntimeError: not ready"


async def test_map_in_a_standalone_run_fails_with_a_clear_message(
    worker: Any, reporter: RecordingReporter
) -> None:
    outcome, _ = await _run(worker, reporter, "Mapper")
    assert outcome.status == FAILED
    assert "InvalidState" in outcome.result
    assert "execute_mode parallel, grid or batch" in outcome.result


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        ("no_such_module_xyz:Thing", "cannot import module 'no_such_module_xyz'"),
        (f"{HERE}:Missing", f"module {HERE!r} has no 'Missing'"),
        (f"{HERE}:not_a_class", "is not a class"),
        ("not a name", "is not 'package.module:Class'"),
    ],
)
async def test_bad_class_name_fails_clearly(
    worker: Any, reporter: RecordingReporter, class_name: str, message: str
) -> None:
    outcome, _ = await run_job(worker, reporter, job_type=JobType.PROCESSOR, class_name=class_name)
    assert outcome.status == FAILED
    assert message in outcome.result


async def test_a_class_that_cannot_be_instantiated_fails_clearly(
    worker: Any, reporter: RecordingReporter
) -> None:
    outcome, _ = await _run(worker, reporter, "NeedsArguments")
    assert outcome.status == FAILED
    assert outcome.result.startswith(f"cannot create {HERE}:NeedsArguments: TypeError")


async def test_kill_calls_the_processor_kill_then_reports_killed(
    worker: Any, reporter: RecordingReporter
) -> None:
    Cooperative.started.clear()
    request = make_request(job_type=JobType.PROCESSOR, class_name=f"{HERE}:Cooperative")
    worker.submit(request)
    await reporter.until(Cooperative.started.is_set, "the processor to start")

    assert worker.kill(request.instance_id, "operator said so")
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "operator said so")
    assert request.instance_id in Cooperative.kills


async def test_kill_cancels_an_async_processor(worker: Any, reporter: RecordingReporter) -> None:
    request = make_request(job_type=JobType.PROCESSOR, class_name=f"{HERE}:Sleeper")
    worker.submit(request)
    await reporter.until(lambda: reporter.lines(request.instance_id), "the processor to log")

    worker.kill(request.instance_id, "no more sleeping")
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (KILLED, "no more sleeping")


def test_the_logger_is_not_registered_globally() -> None:
    assert not any(name.startswith("tickwork.job.") for name in logging.root.manager.loggerDict)
