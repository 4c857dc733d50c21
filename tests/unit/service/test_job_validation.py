"""The ranges of a job's schedule fields and numbers (issue 13, item 9): every value outside
them is refused naming the field, before anything is stored or planned."""

from __future__ import annotations

from typing import Any

import pytest

from tickwork.domain.enums import JobType, TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Job
from tickwork.service.validation import validate_job

TEN_YEARS_S = 10 * 366 * 86_400  # 316,224,000
WEEK_S = 7 * 86_400
LATEST_MS = 253_402_214_399_999  # 9999-12-30T23:59:59.999Z
EARLIEST_MS = -62_135_510_400_000  # 0001-01-02T00:00:00.000Z


def _job(**fields: Any) -> Job:
    values: dict[str, Any] = {
        "namespace": "default",
        "group_id": "default",
        "name": "report",
        "job_type": JobType.SHELL,
        "time_type": TimeType.CRON,
        "time_expression": "0 0 2 * * ?",
        "content": "echo hi",
    }
    values.update(fields)
    return Job(**values)


def _refused(job: Job) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        validate_job(job)
    return caught.value


@pytest.mark.parametrize(
    "offset", [10_000_000_000_000_000, TEN_YEARS_S + 1, -TEN_YEARS_S - 1, 2**63, -(2**63)]
)
def test_a_data_offset_beyond_ten_years_is_refused_naming_it(offset: int) -> None:
    error = _refused(_job(data_offset=offset))
    assert error.field == "data_offset"
    assert f"data_offset must be from {-TEN_YEARS_S} to {TEN_YEARS_S}, got {offset}" == (
        error.message
    )


@pytest.mark.parametrize("offset", [0, -3600, 86_400, TEN_YEARS_S, -TEN_YEARS_S])
def test_a_data_offset_within_ten_years_is_taken(offset: int) -> None:
    validate_job(_job(data_offset=offset))


# (field, the largest value taken, the smallest value taken)
BOUNDS = [
    ("max_concurrency", 10_000, 1),
    ("max_attempt", 1000, 0),
    ("attempt_interval", WEEK_S, 0),
    ("timeout", TEN_YEARS_S, 0),
    ("fail_times", 10_000, 1),
    ("page_size", 10_000, 1),
    ("consumer_size", 1000, 1),
    ("queue_size", 1_000_000, 1),
    ("dispatcher_size", 1000, 1),
    ("task_max_attempt", 1000, 0),
    ("task_attempt_interval", WEEK_S, 0),
    ("replicas", 1000, 1),
    ("history_limit", 100_000_000, 1),
]


@pytest.mark.parametrize(("field", "largest", "smallest"), BOUNDS)
def test_every_number_of_a_job_has_a_range(field: str, largest: int, smallest: int) -> None:
    validate_job(_job(**{field: largest}))
    validate_job(_job(**{field: smallest}))
    for wrong in (largest + 1, smallest - 1, 2**31, 2**63):  # 2**31: PostgreSQL's INTEGER
        error = _refused(_job(**{field: wrong}))
        assert error.field == field
        assert error.message == f"{field} must be from {smallest} to {largest}, got {wrong}"


@pytest.mark.parametrize("field", ["timeout", "data_offset", "max_attempt"])
@pytest.mark.parametrize("wrong", [True, 1.5, "3"])
def test_a_number_that_is_not_an_integer_is_refused(field: str, wrong: object) -> None:
    error = _refused(_job(**{field: wrong}))
    assert error.field == field and "must be an integer" in error.message


@pytest.mark.parametrize("field", ["start_time", "end_time"])
@pytest.mark.parametrize("instant", [LATEST_MS + 1, EARLIEST_MS - 1, 2**63, -(2**63)])
def test_a_window_instant_no_datetime_holds_is_refused(field: str, instant: int) -> None:
    error = _refused(_job(**{field: instant}))
    assert error.field == field
    assert f"{field} must be from {EARLIEST_MS} to {LATEST_MS}" in error.message


def test_the_widest_window_is_taken() -> None:
    validate_job(_job(start_time=EARLIEST_MS, end_time=LATEST_MS))


@pytest.mark.parametrize(
    ("expression", "offset"),
    [("9999-12-30 00:00:00", 86_400), ("0001-01-03 00:00:00", -2 * 86_400)],
)
def test_a_one_time_fire_whose_data_time_no_datetime_holds_is_refused(
    expression: str, offset: int
) -> None:
    error = _refused(
        _job(time_type=TimeType.ONE_TIME, time_expression=expression, data_offset=offset)
    )
    assert error.field == "data_offset"
    assert "data time" in error.message
    validate_job(_job(time_type=TimeType.ONE_TIME, time_expression=expression))


def test_a_one_time_instant_past_64_bits_is_refused_naming_the_expression() -> None:
    error = _refused(_job(time_type=TimeType.ONE_TIME, time_expression="99999999999999999999"))
    assert error.field == "time_expression"


@pytest.mark.parametrize(
    ("field", "limit"), [("time_expression", 1000), ("timezone", 100), ("calendar", 128)]
)
def test_schedule_texts_have_a_length_limit(field: str, limit: int) -> None:
    error = _refused(_job(**{field: "x" * (limit + 1)}))
    assert error.field == field
    assert error.message == f"{field} is longer than {limit} characters"
