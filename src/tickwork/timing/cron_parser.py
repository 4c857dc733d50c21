"""Parsing Quartz cron expressions, rule for rule as Quartz 2.3.2 ``CronExpression`` does.

The parser is a faithful port, quirks included (``MONDAY`` reads as ``MON``, ``5X`` as ``5``,
fields after the seventh are ignored), so that tickwork accepts exactly what Quartz accepts.
The one difference: expressions Quartz accepts but cannot evaluate are refused here: an ``L``
in the seconds, minutes, hours or month field leaves that field empty and Quartz throws on every
fire-time computation; ``0W`` and ``L-28W`` to ``L-30W`` in the day-of-month make Quartz's
search loop forever.

This module reads the expression as a whole (split into fields, then into values, and the rules
that span fields); ``cron_values.py`` parses one value, ``cron_fields.py`` says what the fields
are, and ``java_text.py`` has the Java string operations the port relies on.
"""

from __future__ import annotations

from tickwork.domain.errors import InvalidTimeExpression
from tickwork.timing.cron_fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    FIELD_NAMES,
    HOUR,
    MAX_YEAR,
    MINUTE,
    MONTH,
    NO_SPEC,
    SECOND,
    YEAR,
    CronFields,
)
from tickwork.timing.cron_values import CronValues, QuartzParseError
from tickwork.timing.java_text import JavaError, tokenize, trim

# CronFields and MAX_YEAR are re-exported: they were defined here before cron_fields.py.
__all__ = ["CronFields", "parse_cron", "MAX_YEAR"]


def _fail(kind: int, token: str, position: int, reason: str) -> InvalidTimeExpression:
    return InvalidTimeExpression(
        f"invalid {FIELD_NAMES[kind]} {token!r} at position {position}: {reason}",
        position=position,
    )


def parse_cron(expression: str) -> CronFields:
    """Parse a Quartz cron expression; raise InvalidTimeExpression like Quartz refuses it."""
    values = _store_fields(expression)
    _check_day_spec(values)
    _refuse_unevaluable(values)
    return _cron_fields(expression, values)


def _store_fields(expression: str) -> CronValues:
    """Every value of the first seven fields into their sets; a missing year is ``*``."""
    values = CronValues()
    kind = SECOND
    for token, token_pos in tokenize(expression.upper(), " \t", 0):
        if kind > YEAR:
            break
        expr, expr_pos = trim(token, token_pos)
        if kind in (DAY_OF_MONTH, DAY_OF_WEEK) and "L" in expr and len(expr) > 1 and "," in expr:
            raise _fail(kind, expr, expr_pos, "'L' cannot be combined with other values")
        if kind == DAY_OF_WEEK and expr.count("#") > 1:
            raise _fail(kind, expr, expr_pos, "only one '#' (nth day) is allowed")
        for value, value_pos in tokenize(expr, ",", expr_pos):
            _store_value(values, value, value_pos, kind)
        kind += 1
    if kind <= DAY_OF_WEEK:
        raise InvalidTimeExpression(
            f"cron expression needs 6 or 7 fields (seconds minutes hours day-of-month month "
            f"day-of-week [year]), got {kind} at position {len(expression)}",
            position=len(expression),
        )
    if kind <= YEAR:
        values.store("*", YEAR)
    return values


def _store_value(values: CronValues, value: str, value_pos: int, kind: int) -> None:
    """One value into its set; Quartz's errors become InvalidTimeExpression at their position."""
    try:
        values.store(value, kind)
    except QuartzParseError as exc:
        at = value_pos + min(max(exc.offset, 0), len(value) - 1)
        raise _fail(kind, value, at, exc.message) from None
    except (JavaError, ValueError, IndexError) as exc:
        raise _fail(kind, value, value_pos, f"malformed value ({exc})") from None


def _check_day_spec(values: CronValues) -> None:
    """Quartz's rule: exactly one of day-of-month and day-of-week is '?'."""
    dom_spec = NO_SPEC not in values.sets[DAY_OF_MONTH]
    dow_spec = NO_SPEC not in values.sets[DAY_OF_WEEK]
    if dom_spec == dow_spec:
        raise InvalidTimeExpression(
            "exactly one of day-of-month and day-of-week must be '?' "
            f"({'neither' if dom_spec else 'both'} is) at position 0",
            position=0,
        )


def _refuse_unevaluable(values: CronValues) -> None:
    """Refuse what Quartz accepts but cannot evaluate (see the module docstring)."""
    for kind in (SECOND, MINUTE, HOUR, MONTH):
        if not values.sets[kind]:
            raise InvalidTimeExpression(
                f"invalid {FIELD_NAMES[kind]}: 'L' is not allowed in this field at position 0",
                position=0,
            )
    if values.nearest_weekday and 0 in values.sets[DAY_OF_MONTH]:
        raise InvalidTimeExpression(
            "invalid day-of-month: '0W' names no day (Quartz loops forever on it) at position 0",
            position=0,
        )
    if values.nearest_weekday and values.lastday_of_month and values.lastday_offset >= 28:
        raise InvalidTimeExpression(
            "invalid day-of-month: 'L-nW' needs n <= 27 (February has no such day and Quartz "
            "loops forever on it) at position 0",
            position=0,
        )


def _cron_fields(expression: str, values: CronValues) -> CronFields:
    sets = [sorted(field_values) for field_values in values.sets]
    return CronFields(
        expression=expression,
        seconds=sets[SECOND],
        minutes=sets[MINUTE],
        hours=sets[HOUR],
        days_of_month=sets[DAY_OF_MONTH],
        months=sets[MONTH],
        days_of_week=sets[DAY_OF_WEEK],
        years=sets[YEAR],
        lastday_of_week=values.lastday_of_week,
        nthday_of_week=values.nthday_of_week,
        lastday_of_month=values.lastday_of_month,
        nearest_weekday=values.nearest_weekday,
        lastday_offset=values.lastday_offset,
    )
