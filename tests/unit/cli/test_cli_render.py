"""Rendering of API records as tables for people."""

from __future__ import annotations

import io

from rich.console import Console

from tickwork.cli.render import (
    cell,
    detail_table,
    instance_cells,
    instance_table,
    job_cells,
    job_table,
    schedule,
    shorten,
)

INSTANCE = {
    "id": 12,
    "job_id": 3,
    "namespace": "default",
    "group_id": "default",
    "status": "success",
    "status_code": 4,
    "trigger_type": "scheduled",
    "trigger_type_code": 1,
    "time_type": "cron",
    "schedule_time": "2026-11-21T04:30:00.000Z",
    "data_time": "2026-11-21T04:30:00.000Z",
    "start_time": "2026-11-21T04:30:00.002Z",
    "end_time": None,
    "attempt": 0,
    "worker": "inproc@host",
    "executor": "scheduler",
    "progress": "",
    "result": "hello\nworld",
    "instance_parameters": "",
}

JOB = {
    "id": 3,
    "name": "hello [daily]",
    "namespace": "default",
    "group_id": "g",
    "job_type": "shell",
    "time_type": "cron",
    "time_expression": "*/2 * * * * ?",
    "status": "enabled",
    "next_fire_time": "2026-11-21T04:30:02.000Z",
}


def render(renderable: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(renderable)
    return buffer.getvalue()


def test_instance_row() -> None:
    assert instance_cells(INSTANCE) == [
        "12",
        "3",
        "success",
        "scheduled",
        "2026-11-21 04:30:00.000Z",
        "2026-11-21 04:30:00.002Z",
        "-",
        "0",
        "hello world",
    ]


def test_job_row() -> None:
    assert job_cells(JOB) == [
        "3",
        "hello [daily]",
        "default/g",
        "shell",
        "cron */2 * * * * ?",
        "enabled",
        "2026-11-21 04:30:02.000Z",
    ]


def test_a_job_with_a_schedule_error_shows_it_where_its_next_fire_would_be() -> None:
    marked = JOB | {
        "next_fire_time": None,
        "schedule_error": "data_offset 10000000000000000 puts the data time of a run outside",
    }
    assert job_cells(marked)[-1] == "schedule error: data_offset 10000000000…"  # 40 wide
    assert "schedule error: data_offset" in render(
        job_table({"items": [marked], "total": 1, "page": 1, "page_size": 20})
    )
    assert job_cells(JOB | {"schedule_error": None})[-1] == "2026-11-21 04:30:02.000Z"


def test_schedule_of_an_api_job_has_no_expression() -> None:
    assert schedule({"time_type": "api", "time_expression": ""}) == "api"
    assert schedule({"time_type": "fixed_rate", "time_expression": "30"}) == "fixed_rate 30"


def test_cell_and_shorten() -> None:
    assert cell(None) == "-"
    assert cell("") == "-"
    assert cell(True) == "yes"
    assert cell("not-an-instant") == "not-an-instant"
    assert shorten("a" * 50, 10) == "a" * 9 + "…"
    assert shorten("  a\n b  ") == "a b"


def test_instance_table_shows_rows_and_the_page() -> None:
    text = render(instance_table({"items": [INSTANCE], "total": 41, "page": 2, "page_size": 20}))
    assert "STATUS" in text
    assert "2026-11-21 04:30:00.000Z" in text
    assert "page 2 of 3, 41 in all" in text


def test_job_table_keeps_brackets_in_names() -> None:
    text = render(job_table({"items": [JOB], "total": 1, "page": 1, "page_size": 20}))
    assert "hello [daily]" in text
    assert "cron */2 * * * * ?" in text


def test_detail_table_shows_every_field_and_nested_values_as_json() -> None:
    text = render(detail_table(JOB | {"envs": {"A": "1"}, "contact_info": []}))
    for key in JOB:
        assert key in text
    assert '{"A": "1"}' in text
