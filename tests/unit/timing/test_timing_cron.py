"""Quartz cron: parsing, errors with positions, and fire times (DST included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickwork.domain.errors import InvalidTimeExpression
from tickwork.timing import QuartzCron
from tickwork.timing.cron import RECENT_ANSWERS
from tickwork.timing.cron_parser import parse_cron
from tickwork.timing.cron_search import time_after
from tickwork.timing.zones import zone_rules


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fires(expression: str, after: str, count: int = 4, zone: str = "") -> list[str]:
    cron = QuartzCron(expression, zone)
    times: list[str] = []
    t: int | None = _ms(after)
    for _ in range(count):
        assert t is not None
        t = cron.next_after(t)
        if t is None:
            break
        times.append(_iso(t))
    return times


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        (
            "0 */20 * * * ?",
            "2026-01-01T00:00:00Z",
            ["2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z"],
        ),
        (
            "30 0 12 ? * MON-FRI",
            "2026-01-02T13:00:00Z",
            ["2026-01-05T12:00:30Z", "2026-01-06T12:00:30Z"],
        ),
        ("0 0 0 L * ?", "2028-01-31T00:00:00Z", ["2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"]),
        ("0 0 0 L-3 * ?", "2026-02-01T00:00:00Z", ["2026-02-25T00:00:00Z", "2026-03-28T00:00:00Z"]),
        # 2026-08-15 is a Saturday: 15W fires Friday the 14th; 2026-11-15 is a Sunday: Monday 16th
        (
            "0 0 9 15W 8,11 ?",
            "2026-08-01T00:00:00Z",
            ["2026-08-14T09:00:00Z", "2026-11-16T09:00:00Z"],
        ),
        # 2026-08-01 is a Saturday: 1W does not leave the month, it fires Monday the 3rd
        ("0 0 9 1W 8 ?", "2026-07-01T00:00:00Z", ["2026-08-03T09:00:00Z", "2027-08-02T09:00:00Z"]),
        ("0 0 9 LW 10 ?", "2026-01-01T00:00:00Z", ["2026-10-30T09:00:00Z", "2027-10-29T09:00:00Z"]),
        (
            "0 0 10 ? * 6#3",
            "2026-01-01T00:00:00Z",
            ["2026-01-16T10:00:00Z", "2026-02-20T10:00:00Z"],
        ),
        ("0 0 10 ? * 6L", "2026-01-01T00:00:00Z", ["2026-01-30T10:00:00Z", "2026-02-27T10:00:00Z"]),
        (
            "0 0 10 ? * sun#1",
            "2026-01-01T00:00:00Z",
            ["2026-01-04T10:00:00Z", "2026-02-01T10:00:00Z"],
        ),
        ("0 0 0 29 2 ?", "2026-01-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        (
            "0 0 0 1 JAN ? 2027,2029",
            "2026-06-01T00:00:00Z",
            ["2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z"],
        ),
        (
            "0 0 0 ? NOV-FEB 2",
            "2026-02-23T00:00:00Z",
            ["2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"],
        ),
        ("0 0 0 * * ? 2020", "2026-01-01T00:00:00Z", []),
    ],
)
def test_fire_times(expression: str, after: str, expected: list[str]) -> None:
    assert _fires(expression, after, count=len(expected) or 1) == expected


def test_fires_are_strictly_after_and_ignore_milliseconds() -> None:
    cron = QuartzCron("* * * * * ?")
    assert cron.next_after(_ms("2026-01-01T00:00:00Z")) == _ms("2026-01-01T00:00:01Z")
    assert cron.next_after(_ms("2026-01-01T00:00:00.999Z")) == _ms("2026-01-01T00:00:01Z")


def test_time_zone_of_the_expression() -> None:
    assert _fires("0 0 9 * * ?", "2026-01-01T00:00:00Z", 1, "Asia/Shanghai") == [
        "2026-01-01T01:00:00Z"
    ]
    assert _fires("0 0 9 * * ?", "2026-01-01T00:00:00Z", 1, "GMT-3:30") == ["2026-01-01T12:30:00Z"]


def test_a_wall_time_lost_to_daylight_saving_is_skipped() -> None:
    # New York, 2026-03-08: 02:00 -> 03:00, so 02:30 does not happen that day.
    fires = _fires("0 30 2 * * ?", "2026-03-07T00:00:00Z", 3, "America/New_York")
    assert fires == ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]


def test_a_wall_time_that_happens_twice_fires_once_at_the_second() -> None:
    # New York, 2026-11-01: 01:00-02:00 happens twice; Quartz fires in the second (EST) one.
    fires = _fires("0 30 1 * * ?", "2026-10-31T12:00:00Z", 2, "America/New_York")
    assert fires == ["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]
    quarter = _fires("0 */15 * * * ?", "2026-11-01T04:30:00Z", 3, "America/New_York")
    # 00:45 EDT, then the first 01:00-01:59 (EDT) is passed over: 01:00 EST.
    assert quarter == ["2026-11-01T04:45:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z"]


def test_quartz_quirks_are_kept() -> None:
    assert _fires("0 0 0 ? * MONDAY", "2026-01-01T00:00:00Z", 1) == ["2026-01-05T00:00:00Z"]
    assert _fires("0 0 0 * 7/6 ?", "2026-01-01T00:00:00Z", 2) == [
        "2026-07-01T00:00:00Z",
        "2026-07-02T00:00:00Z",
    ]
    # Fields after the seventh are ignored, as Quartz does.
    assert _fires("0 0 0 * * ? * whatever", "2026-01-01T00:00:00Z", 1) == ["2026-01-02T00:00:00Z"]


@pytest.mark.parametrize(
    ("expression", "position", "words"),
    [
        ("0 0 0 ? * FOO", 10, "invalid day-of-week 'FOO' at position 10"),
        ("0 0 0 ? FOO *", 8, "invalid month 'FOO' at position 8"),
        ("60 * * * * ?", 0, "invalid seconds '60' at position 0"),
        ("0 0 24 * * ?", 4, "invalid hours '24' at position 4"),
        ("0 0 0 32 * ?", 6, "invalid day-of-month '32' at position 6"),
        ("0 0 0 ? * MON#6", 14, "invalid day-of-week 'MON#6' at position 14"),
        ("0 0 0 ? * 1,2#7", 14, "invalid day-of-week '2#7' at position 14"),
        ("0 0 0 L,5 * ?", 6, "'L' cannot be combined"),
        ("0 0 0 * * *", 0, "exactly one of day-of-month and day-of-week must be '?'"),
        ("0 0 0 ? * ?", 10, "invalid day-of-week '?' at position 10"),
        ("0 0 0 * *", 9, "needs 6 or 7 fields"),
        ("", 0, "needs 6 or 7 fields"),
        ("0 0 0 5W * MON", 0, "exactly one of day-of-month and day-of-week"),
        ("0 0 0 * * ? 2030-2020", 12, "invalid year '2030-2020' at position 12"),
        ("L * * * * ?", 0, "invalid seconds"),
        ("0 0 0 0W * ?", 0, "'0W' names no day"),
        ("0 0 0 L-30W * ?", 0, "'L-nW' needs n <= 27"),
        ("*/61 * * * * ?", 3, "invalid seconds '*/61'"),
    ],
)
def test_invalid_expressions(expression: str, position: int, words: str) -> None:
    with pytest.raises(InvalidTimeExpression) as caught:
        QuartzCron(expression)
    assert caught.value.position == position
    assert caught.value.field == "time_expression"
    assert words in caught.value.message


def test_answers_shared_by_jobs_on_one_expression_are_the_searched_ones() -> None:
    """Jobs on one expression in one zone share its recent answers; another zone has its
    own, and answers forgotten when the memory fills are searched again, the same."""
    expression = "7 0 12 * * ?"
    afters = [_ms("2026-03-01T00:00:00Z") + n * 3_600_000 for n in range(RECENT_ANSWERS * 3)]
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        searched = [time_after(parse_cron(expression), zone_rules(zone), t) for t in afters]
        first, second = QuartzCron(expression, zone), QuartzCron(expression, zone)
        assert [first.next_after(t) for t in afters] == searched
        assert [second.next_after(t) for t in reversed(afters)] == searched[::-1]
    utc, shanghai = QuartzCron(expression, "UTC"), QuartzCron(expression, "Asia/Shanghai")
    assert utc.next_after(afters[0]) == _ms("2026-03-01T12:00:07Z")
    assert shanghai.next_after(afters[0]) == _ms("2026-03-01T04:00:07Z")
