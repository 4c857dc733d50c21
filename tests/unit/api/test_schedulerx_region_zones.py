"""The SchedulerX face's time settings: the zone of a region, an unset Timezone filled with
it, TimeType -1, and the product's second_delay range."""

from __future__ import annotations

import pytest

from tickwork.api.schedulerx.actions.convert import new_job
from tickwork.api.schedulerx.actions.job_time import (
    check_second_delay,
    check_update_times,
    fill_zone,
    time_type_of,
)
from tickwork.api.schedulerx.params import Params
from tickwork.api.schedulerx.zones import REGION_ZONES, region_zone
from tickwork.domain.enums import JobType, TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Job
from tickwork.timing import parse_timezone


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("cn-hangzhou", "Asia/Shanghai"),
        ("cn-beijing", "Asia/Shanghai"),
        ("CN-Shenzhen", "Asia/Shanghai"),
        ("cn-hongkong", "Asia/Shanghai"),
        ("ap-southeast-1", "Asia/Singapore"),
        ("us-west-1", "America/Los_Angeles"),
        ("eu-central-1", "Europe/Berlin"),
        ("public", "Asia/Shanghai"),
        ("", "Asia/Shanghai"),
        (None, "Asia/Shanghai"),
    ],
)
def test_a_region_has_its_zone(region: str | None, zone: str) -> None:
    assert region_zone(region) == zone


def test_the_server_setting_overrides_every_region() -> None:
    assert region_zone("us-west-1", "Europe/Paris") == "Europe/Paris"
    assert region_zone("nowhere-1", "GMT+3") == "GMT+3"
    assert region_zone("us-west-1", " ") == "America/Los_Angeles"


def test_every_listed_zone_exists() -> None:
    for zone in REGION_ZONES.values():
        parse_timezone(zone)


def test_create_fills_an_unset_or_blank_zone_and_keeps_a_given_one() -> None:
    for given in ({}, {"timezone": ""}, {"timezone": "  "}):
        changes = dict(given)
        fill_zone(changes, "Asia/Tokyo", creating=True)
        assert changes["timezone"] == "Asia/Tokyo"
    changes = {"timezone": "UTC"}
    fill_zone(changes, "Asia/Tokyo", creating=True)
    assert changes["timezone"] == "UTC"


def test_update_keeps_the_stored_zone_unless_one_is_given() -> None:
    changes: dict[str, object] = {"content": "echo"}
    fill_zone(changes, "Asia/Tokyo", creating=False)
    assert "timezone" not in changes
    changes = {"timezone": ""}
    fill_zone(changes, "Asia/Tokyo", creating=False)
    assert changes == {"timezone": "Asia/Tokyo"}


def test_new_job_without_timezone_is_in_the_region_zone() -> None:
    fields = {"Name": "n", "JobType": "shell", "Content": "echo", "TimeType": "1"}
    assert new_job(Params.of(fields), "ns", "g", "Europe/Berlin").timezone == "Europe/Berlin"
    named = Params.of({**fields, "Timezone": "GMT+8"})
    assert new_job(named, "ns", "g", "Europe/Berlin").timezone == "GMT+8"


def test_time_type_minus_one_is_none() -> None:
    assert time_type_of(-1) is TimeType.NONE
    with pytest.raises(InvalidParameter) as caught:
        time_type_of(2)
    assert caught.value.field == "TimeType" and "-1 (none)" in caught.value.message


@pytest.mark.parametrize("expression", ["1", "60", " 30 ", "007"])
def test_second_delay_takes_1_to_60_seconds(expression: str) -> None:
    check_second_delay(TimeType.SECOND_DELAY, expression)


@pytest.mark.parametrize("expression", ["0", "61", "3600", "-5", "1.5", "ten", "", "9" * 40])
def test_second_delay_outside_1_to_60_is_refused_naming_time_expression(
    expression: str,
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        check_second_delay(TimeType.SECOND_DELAY, expression)
    error = caught.value
    assert error.field == "TimeExpression"
    assert "TimeExpression" in error.message and "from 1 to 60" in error.message
    assert repr(expression) in error.message


def test_the_range_is_second_delay_s_only() -> None:
    check_second_delay(TimeType.FIXED_RATE, "3600")
    check_second_delay(TimeType.API, "")


def test_an_update_checks_the_range_only_when_it_touches_the_schedule() -> None:
    stored = Job(
        namespace="ns",
        group_id="g",
        name="n",
        job_type=JobType.SHELL,
        content="echo",
        time_type=TimeType.SECOND_DELAY,
        time_expression="300",
    )  # fmt: skip  (a job the native API stored with a longer delay)
    check_update_times({"content": "echo 2"}, stored)
    with pytest.raises(InvalidParameter):
        check_update_times({"time_type": TimeType.SECOND_DELAY}, stored)
    check_update_times({"time_expression": "45"}, stored)
    with pytest.raises(InvalidParameter):
        check_update_times({"time_type": TimeType.SECOND_DELAY, "time_expression": "61"}, stored)
    check_update_times({"time_type": TimeType.CRON, "time_expression": "0 * * * * ?"}, stored)
