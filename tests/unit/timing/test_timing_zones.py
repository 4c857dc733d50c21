"""Time zone names and Java's way with daylight-saving gaps and overlaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickwork.domain.errors import InvalidParameter
from tickwork.timing import parse_timezone
from tickwork.timing.zones import civil_from_days, days_from_civil, zone_rules


def _offset(name: str) -> timedelta | None:
    return parse_timezone(name).utcoffset(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("", timedelta(0)),
        ("UTC", timedelta(0)),
        ("GMT", timedelta(0)),
        ("GMT+8", timedelta(hours=8)),
        ("GMT+08:00", timedelta(hours=8)),
        ("GMT+8:00", timedelta(hours=8)),
        ("GMT-3:30", timedelta(hours=-3, minutes=-30)),
        ("GMT+0545", timedelta(hours=5, minutes=45)),
        ("UTC-5", timedelta(hours=-5)),
        ("gmt+1", timedelta(hours=1)),
        ("Asia/Shanghai", timedelta(hours=8)),
        ("America/New_York", timedelta(hours=-5)),
    ],
)
def test_time_zone_forms(name: str, offset: timedelta) -> None:
    assert _offset(name) == offset


@pytest.mark.parametrize("name", ["Mars/Base", "GMT+25", "GMT+8:75", "GMT+", "../etc/passwd", "/x"])
def test_bad_time_zones_name_the_field(name: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_timezone(name)
    assert caught.value.field == "timezone"
    assert repr(name) in caught.value.message


def test_civil_day_arithmetic_round_trips() -> None:
    for days in range(-800, 800_000, 997):
        assert days_from_civil(*civil_from_days(days)) == days
    assert days_from_civil(1970, 1, 1) == 0
    assert civil_from_days(days_from_civil(2028, 2, 29)) == (2028, 2, 29)


def _wall(y: int, mo: int, d: int, h: int, mi: int) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp() * 1000)


def test_wall_time_in_a_gap_lands_after_it() -> None:
    rules = zone_rules("America/New_York")
    # 2026-03-08 02:30 does not exist in New York: Java reads it with the old offset (-5).
    utc = rules.wall_to_utc(_wall(2026, 3, 8, 2, 30))
    assert utc == _wall(2026, 3, 8, 7, 30)
    local = datetime.fromtimestamp(utc / 1000, ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (3, 30)


def test_wall_time_in_an_overlap_is_the_second_one() -> None:
    rules = zone_rules("America/New_York")
    # 2026-11-01 01:30 happens twice; Java takes the later (standard time, -5).
    assert rules.wall_to_utc(_wall(2026, 11, 1, 1, 30)) == _wall(2026, 11, 1, 6, 30)
    assert rules.wall_to_utc(_wall(2026, 11, 1, 0, 30)) == _wall(2026, 11, 1, 4, 30)


def test_fixed_offsets_have_no_transitions() -> None:
    rules = zone_rules("GMT+8")
    assert rules.fixed_offset_ms == 8 * 3_600_000
    assert rules.wall_to_utc(_wall(2026, 1, 1, 8, 0)) == _wall(2026, 1, 1, 0, 0)
    assert rules.offset_at(0) == 8 * 3_600_000
