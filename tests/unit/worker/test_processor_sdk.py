"""The processor SDK and class name checks (no worker involved)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tickwork.domain.enums import JobType
from tickwork.domain.errors import InvalidParameter, InvalidState
from tickwork.domain.job_types import is_processor_job
from tickwork.processor import (
    ROOT_TASK_NAME,
    JobContext,
    MapProcessor,
    MapReduceProcessor,
    ProcessResult,
)
from tickwork.worker.executors import validate_class_name


class Root(MapProcessor):
    def process(self, ctx: JobContext) -> ProcessResult:
        if self.is_root_task(ctx):
            return self.map(["a", "b"], "Letters")
        return ProcessResult(True, str(ctx.task))


class WithoutReduce(MapReduceProcessor):  # reduce is required
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("pkg.module:Class", ("pkg.module", "Class")),
        ("pkg.module.Class", ("pkg.module", "Class")),
        (" module:Outer.Inner ", ("module", "Outer.Inner")),
        ("module.Class", ("module", "Class")),
    ],
)
def test_valid_class_names(name: str, parts: tuple[str, str]) -> None:
    assert validate_class_name(name) == parts


@pytest.mark.parametrize(
    "name", ["", "  ", "Class", "pkg.module:", ":Class", "pkg..mod:C", "pkg.mod:C-1", "1pkg:C"]
)
def test_invalid_class_names(name: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validate_class_name(name)
    assert caught.value.field == "class_name"
    assert "class_name" in caught.value.message


def test_processor_jobs() -> None:
    assert is_processor_job(JobType.PROCESSOR, "", "m:C")
    assert is_processor_job(JobType.PYTHON, " ", "m:C")
    assert not is_processor_job(JobType.PYTHON, "print(1)", "m:C")
    assert not is_processor_job(JobType.PYTHON, "", "")
    assert not is_processor_job(JobType.SHELL, "", "m:C")


def test_a_context_reports_progress_through_its_callback() -> None:
    seen: list[str] = []
    ctx = JobContext(job_id=1, job_instance_id=2, progress_callback=seen.append)
    ctx.report_progress("3/10")
    assert seen == ["3/10"]
    assert ctx.is_root_task and ctx.task_name == ROOT_TASK_NAME


def test_a_bare_context_logs_nowhere_and_ignores_progress() -> None:
    ctx = JobContext(job_id=1, job_instance_id=2)
    ctx.logger.error("goes nowhere")
    ctx.report_progress("ignored")


def test_map_without_distribution_says_what_is_needed() -> None:
    with pytest.raises(InvalidState) as caught:
        Root().process(JobContext(job_id=1, job_instance_id=2))
    assert "execute_mode parallel, grid or batch" in caught.value.message


def test_map_hands_tasks_to_a_bound_dispatcher() -> None:
    calls: list[tuple[list[Any], str]] = []

    def dispatch(task_list: Sequence[Any], task_name: str) -> ProcessResult:
        calls.append((list(task_list), task_name))
        return ProcessResult(True, "mapped")

    processor = Root()
    processor.map_dispatcher = dispatch
    assert processor.process(JobContext(job_id=1, job_instance_id=2)) == ProcessResult(
        True, "mapped"
    )
    assert calls == [(["a", "b"], "Letters")]
    sub = JobContext(job_id=1, job_instance_id=2, task_id=5, task_name="Letters", task="a")
    assert processor.process(sub) == ProcessResult(True, "a")


def test_map_refuses_the_root_task_name() -> None:
    with pytest.raises(InvalidState):
        Root().map([1], ROOT_TASK_NAME)


def test_map_reduce_processors_must_define_reduce() -> None:
    with pytest.raises(TypeError):
        WithoutReduce()  # type: ignore[abstract]
