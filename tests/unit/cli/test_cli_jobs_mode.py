"""The execute-mode options of ``tickwork job create`` become job fields."""

from __future__ import annotations

from tickwork.cli.jobs import job_fields
from tickwork.domain.enums import ExecuteMode, JobType


def test_mode_and_task_options_become_job_fields() -> None:
    body = job_fields(
        name="sum",
        job_type=JobType.PROCESSOR,
        mode=ExecuteMode.GRID,
        consumer_size=3,
        task_max_attempt=2,
        task_attempt_interval=5,
        parameters=None,
    )
    assert body == {
        "name": "sum",
        "job_type": "processor",
        "execute_mode": "grid",
        "consumer_size": 3,
        "task_max_attempt": 2,
        "task_attempt_interval": 5,
    }
