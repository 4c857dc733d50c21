"""Schedules of every time type, calendars, windows and the data offset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickwork.domain.enums import TimeType
from tickwork.domain.errors import InvalidParameter, InvalidTimeExpression
from tickwork.domain.models import Calendar, CalendarMonth
from tickwork.timing import (
    CalendarDays,
    build_schedule,
    check_calendar_months,
    data_time,
    fire_times,
    validate_time,
)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cron_schedule() -> None:
    schedule = build_schedule(TimeType.CRON, "0 0 8 * * ?", "Asia/Shanghai")
    after = _ms("2026-01-01T00:00:00Z")
    assert [_iso(t) for t in fire_times(schedule, after, 2)] == [
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
    ]
    # first_fire counts a fire at exactly "now"
    assert schedule.first_fire(_ms("2026-01-02T00:00:00Z")) == _ms("2026-01-02T00:00:00Z")
    assert schedule.first_fire(_ms("2026-01-02T00:00:00.001Z")) == _ms("2026-01-03T00:00:00Z")


def test_fixed_rate() -> None:
    schedule = build_schedule(TimeType.FIXED_RATE, "30", "")
    assert schedule.next_fire(1_000) == 31_000
    assert schedule.first_fire(10_200) == 41_000  # now rounded up to the second, plus 30 s
    assert fire_times(schedule, 0, 3) == [30_000, 60_000, 90_000]


def test_second_delay() -> None:
    schedule = build_schedule(TimeType.SECOND_DELAY, "5", "")
    assert schedule.next_fire(12_345) == 17_345  # five seconds after the previous run ended
    assert schedule.first_fire(1_000) == 6_000


@pytest.mark.parametrize("time_type", [TimeType.FIXED_RATE, TimeType.SECOND_DELAY])
@pytest.mark.parametrize("expression", ["0", "-5", "1.5", "abc", "", "99999999999"])
def test_seconds_must_be_whole_and_positive(time_type: TimeType, expression: str) -> None:
    with pytest.raises(InvalidTimeExpression) as caught:
        validate_time(time_type, expression, "")
    assert caught.value.field == "time_expression"
    assert "whole number of seconds" in caught.value.message


def test_one_time_in_the_job_time_zone() -> None:
    schedule = build_schedule(TimeType.ONE_TIME, "2026-12-24 20:00:00", "Asia/Shanghai")
    instant = _ms("2026-12-24T12:00:00Z")
    assert schedule.first_fire(0) == instant
    assert schedule.first_fire(instant + 10_000) == instant  # even when it has passed
    assert schedule.next_fire(instant - 1) == instant
    assert schedule.next_fire(instant) is None


def test_one_time_as_epoch_ms() -> None:
    schedule = build_schedule(TimeType.ONE_TIME, "1798142400000", "Asia/Shanghai")
    assert schedule.first_fire(0) == 1798142400000


@pytest.mark.parametrize(
    "expression", ["2026-02-30 10:00:00", "2026-1-5 10:00:00", "tomorrow", "2026-01-05T10:00:00"]
)
def test_bad_one_time(expression: str) -> None:
    with pytest.raises(InvalidTimeExpression) as caught:
        validate_time(TimeType.ONE_TIME, expression, "")
    assert caught.value.field == "time_expression"
    assert repr(expression) in caught.value.message


@pytest.mark.parametrize(
    "expression",
    [
        "253402214400000",  # a millisecond past 9999-12-30T23:59:59.999Z
        "10000000000000000",
        "9223372036854775808",  # past 64 bits
        "9" * 5000,  # more digits than int() reads
        "9999-12-31 12:00:00",  # a datetime, but not in every time zone
    ],
)
def test_a_one_time_instant_must_be_one_that_can_be_stored(expression: str) -> None:
    with pytest.raises(InvalidTimeExpression) as caught:
        validate_time(TimeType.ONE_TIME, expression, "Asia/Shanghai")
    assert caught.value.field == "time_expression"
    assert "one-time instant" in caught.value.message


def test_the_latest_one_time_instant_and_leading_zeros_are_taken() -> None:
    latest = build_schedule(TimeType.ONE_TIME, "253402214399999", "")
    assert latest.first_fire(0) == 253402214399999
    assert build_schedule(TimeType.ONE_TIME, "0" * 30 + "1798142400000", "").first_fire(0) == (
        1798142400000
    )


@pytest.mark.parametrize("time_type", [TimeType.FIXED_RATE, TimeType.SECOND_DELAY])
def test_seconds_of_thousands_of_digits_are_refused_as_out_of_range(time_type: TimeType) -> None:
    with pytest.raises(InvalidTimeExpression) as caught:
        validate_time(time_type, "9" * 5000, "")
    assert "whole number of seconds from 1 to 316224000" in caught.value.message
    assert build_schedule(time_type, "0" * 50 + "30", "").next_fire(0) == 30_000


@pytest.mark.parametrize("time_type", [TimeType.API, TimeType.NONE])
def test_api_and_none_never_fire_by_themselves(time_type: TimeType) -> None:
    schedule = build_schedule(time_type, "", "")
    assert schedule.time_type is time_type  # read back as it was written (-1 stays -1)
    assert schedule.first_fire(0) is None
    assert schedule.next_fire(0) is None


def test_bad_time_zone_and_type() -> None:
    with pytest.raises(InvalidParameter) as caught:
        validate_time(TimeType.CRON, "0 0 0 * * ?", "Nowhere/City")
    assert caught.value.field == "timezone"
    with pytest.raises(InvalidParameter) as caught:
        validate_time(2, "x", "")  # type: ignore[arg-type]
    assert caught.value.field == "time_type"


def test_windows() -> None:
    start, end = _ms("2026-03-01T00:00:00Z"), _ms("2026-03-03T12:00:00Z")
    cron = build_schedule(TimeType.CRON, "0 0 0 * * ?", "", start_time=start, end_time=end)
    assert [_iso(t) for t in fire_times(cron, 0, 10)] == [
        "2026-03-01T00:00:00Z",
        "2026-03-02T00:00:00Z",
        "2026-03-03T00:00:00Z",
    ]
    rate = build_schedule(TimeType.FIXED_RATE, "3600", "", start_time=start, end_time=end)
    assert rate.first_fire(0) == start
    assert rate.next_fire(end - 1) is None
    one = build_schedule(TimeType.ONE_TIME, "2026-04-01 00:00:00", "", end_time=end)
    assert one.first_fire(0) is None
    with pytest.raises(InvalidParameter) as caught:
        build_schedule(TimeType.CRON, "0 0 0 * * ?", "", start_time=end, end_time=start)
    assert caught.value.field == "end_time"


def _calendar(year: int, months: dict[int, list[int]]) -> Calendar:
    return Calendar(
        namespace="ns",
        name="workdays",
        year=year,
        months=[CalendarMonth(month=m, days=d) for m, d in months.items()],
    )


def test_calendar_holds_cron_to_allowed_days_in_the_job_zone() -> None:
    days = CalendarDays.from_calendars([_calendar(2026, {12: [24, 28]}), _calendar(2027, {1: [4]})])
    # 08:00 in Shanghai is 00:00 UTC: the allowed day is the Shanghai date.
    schedule = build_schedule(TimeType.CRON, "0 0 8 * * ?", "Asia/Shanghai", calendar=days)
    fires = [_iso(t) for t in fire_times(schedule, _ms("2026-12-01T00:00:00Z"), 10)]
    assert fires == ["2026-12-24T00:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"]


def test_calendar_years_without_entries_allow_nothing() -> None:
    days = CalendarDays.from_calendars([_calendar(2026, {1: [5]})])
    schedule = build_schedule(TimeType.CRON, "0 0 0 * * ?", "", calendar=days)
    assert schedule.next_fire(_ms("2026-01-05T00:00:00Z")) is None
    empty = build_schedule(TimeType.CRON, "0 0 0 * * ?", "", calendar=CalendarDays([]))
    assert empty.first_fire(0) is None


def test_calendar_check() -> None:
    check_calendar_months(2028, [CalendarMonth(2, [29])])
    with pytest.raises(InvalidParameter, match="2026-02-29"):
        check_calendar_months(2026, [CalendarMonth(2, [29])])
    with pytest.raises(InvalidParameter, match="month 13"):
        check_calendar_months(2026, [CalendarMonth(13, [1])])
    # impossible days are ignored when schedules are built
    assert len(CalendarDays.from_calendars([_calendar(2026, {2: [28, 29, 30]})])) == 1


def test_data_offset() -> None:
    schedule_time = _ms("2026-01-02T00:30:00Z")
    assert _iso(data_time(schedule_time, -3600)) == "2026-01-01T23:30:00Z"
    assert data_time(schedule_time, 0) == schedule_time
