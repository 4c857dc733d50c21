"""A job's time settings as the SchedulerX face reads them: TimeType (with the product's -1,
"none"), the zone of a job that names none, and the product's range of second_delay.

Translation only: the services get a job with its zone filled in and check its schedule as
they do for every API.
"""

from __future__ import annotations

from typing import Any

from tickwork.domain.enums import TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Job

# SchedulerX's second_delay is a delay of 1 to 60 seconds (the SDK models' TimeExpression:
# "valid values: 1 to 60"). The native API keeps its wider range (docs/native-api.md), so a
# job made there with a longer delay reads back unchanged here; this face refuses to write one.
SECOND_DELAY_S = (1, 60)

_TIME_TYPES = "-1 (none), 1 (cron), 3 (fixed_rate), 4 (second_delay), 5 (one_time), 100 (api)"


def time_type_of(value: int) -> TimeType:
    try:
        return TimeType(value)
    except ValueError:
        raise InvalidParameter(
            f"TimeType {value} is not supported; one of: {_TIME_TYPES}", field="TimeType"
        ) from None


def check_second_delay(time_type: TimeType, expression: str) -> None:
    """A second_delay TimeExpression must be 1..60 seconds, as the product takes it."""
    if time_type != TimeType.SECOND_DELAY:
        return
    text = expression.strip()
    low, high = SECOND_DELAY_S
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and low <= int(text) <= high):
        raise InvalidParameter(
            f"TimeExpression of a second_delay job (TimeType 4) must be a whole number of "
            f"seconds from {low} to {high}, got {expression!r}",
            field="TimeExpression",
        )


def fill_zone(changes: dict[str, Any], zone: str, *, creating: bool) -> None:
    """An unset Timezone is the region's zone: on create when none (or a blank one) is
    given; on update only when a blank one is given (a stored zone stays otherwise)."""
    given = changes.get("timezone")
    if given is None and not creating:
        return
    if given is None or not given.strip():
        changes["timezone"] = zone


def check_update_times(changes: dict[str, Any], job: Job) -> None:
    """The second_delay range, for an update that touches the time type or expression (a
    job stored through the native API with a longer delay may still change other fields)."""
    if "time_type" in changes or "time_expression" in changes:
        check_second_delay(
            changes.get("time_type", job.time_type),
            changes.get("time_expression", job.time_expression),
        )


__all__ = [
    "SECOND_DELAY_S",
    "check_second_delay",
    "check_update_times",
    "fill_zone",
    "time_type_of",
]
