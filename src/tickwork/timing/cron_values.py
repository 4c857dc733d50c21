"""Quartz's ``storeExpressionVals``, ``checkNext`` and ``addToSet``: one comma-separated value of
one field (``5``, ``MON-FRI``, ``*/15``, ``L-3W``, ``6#2``) into that field's value set.

``CronValues`` holds the seven value sets and the ``L``/``W``/``#`` flags of one expression
while ``parse_cron`` (``cron_parser.py``) feeds it the values one at a time. The code follows
Quartz's branch by branch, odd offsets included, because the offset of a ``QuartzParseError``
is where tickwork reports the error, and the differential tests compare it with Quartz's.
"""

from __future__ import annotations

import re

from tickwork.timing.cron_fields import (
    ALL_SPEC,
    BOUNDS,
    DAY_NAMES,
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH,
    MONTH_NAMES,
    NO_SPEC,
    OVERFLOW,
    SECOND,
    YEAR,
    YEAR_CAP,
)
from tickwork.timing.java_text import JavaError, char_at, is_digit, parse_int, substring

__all__ = ["CronValues", "QuartzParseError"]

_L_FORM = re.compile(r"L-[0-9]*W?")


class QuartzParseError(Exception):
    """Quartz's ParseException: a message and an offset inside the current value (-1: none)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class CronValues:
    """The value sets and flags of one expression as Quartz's buildExpression fills them."""

    def __init__(self) -> None:
        self.sets: list[set[int]] = [set() for _ in range(7)]
        self.lastday_of_week = False
        self.nthday_of_week = 0
        self.lastday_of_month = False
        self.nearest_weekday = False
        self.lastday_offset = 0

    # -- storeExpressionVals ------------------------------------------------------------------
    def store(self, s: str, kind: int) -> None:
        i = 0
        if i >= len(s):
            return
        c = s[i]
        if "A" <= c <= "Z" and s != "L" and s != "LW" and not _L_FORM.fullmatch(s):
            self._store_name(s, kind)
            return
        if c == "?":
            self._store_no_spec(s, kind)
            return
        if c in "*/":
            self._store_all(s, kind)
            return
        if c == "L":
            self._store_last(s, kind)
            return
        if is_digit(c):
            val = int(c)
            i += 1
            if i >= len(s):
                self.add_to_set(val, -1, -1, kind)
            else:
                c = s[i]
                if is_digit(c):
                    val, i = self.get_value(val, s, i)
                self.check_next(i, s, val, kind)
            return
        raise QuartzParseError(f"Unexpected character: {c}", i)

    def _store_name(self, s: str, kind: int) -> None:
        i = 0
        sub = substring(s, i, i + 3)
        eval_ = -1
        if kind == MONTH:
            sval = MONTH_NAMES.get(sub, -1) + 1
            if sval <= 0:
                raise QuartzParseError(f"Invalid Month value: '{sub}'", i)
            if len(s) > i + 3 and s[i + 3] == "-":
                i += 4
                sub = substring(s, i, i + 3)
                eval_ = MONTH_NAMES.get(sub, -1) + 1
                if eval_ <= 0:
                    raise QuartzParseError(f"Invalid Month value: '{sub}'", i)
        elif kind == DAY_OF_WEEK:
            sval = DAY_NAMES.get(sub, -1)
            if sval < 0:
                raise QuartzParseError(f"Invalid Day-of-Week value: '{sub}'", i)
            if len(s) > i + 3:
                c = s[i + 3]
                if c == "-":
                    i += 4
                    sub = substring(s, i, i + 3)
                    eval_ = DAY_NAMES.get(sub, -1)
                    if eval_ < 0:
                        raise QuartzParseError(f"Invalid Day-of-Week value: '{sub}'", i)
                elif c == "#":
                    i += 4
                    self.nthday_of_week = self._nth(s, i)
                elif c == "L":
                    self.lastday_of_week = True
                    i += 1
        else:
            raise QuartzParseError(f"Illegal characters for this position: '{sub}'", i)
        self.add_to_set(sval, eval_, 1 if eval_ != -1 else 0, kind)

    @staticmethod
    def _nth(s: str, i: int) -> int:
        try:
            nth = parse_int(substring(s, i))
        except JavaError:
            nth = 0
        if nth < 1 or nth > 5:
            raise QuartzParseError("A numeric value between 1 and 5 must follow the '#' option", i)
        return nth

    def _store_no_spec(self, s: str, kind: int) -> None:
        i = 1
        if i + 1 < len(s) and (s[i] != " " and s[i + 1] != "\t"):
            raise QuartzParseError(f"Illegal character after '?': {s[i]}", i)
        if kind not in (DAY_OF_WEEK, DAY_OF_MONTH):
            raise QuartzParseError("'?' can only be specified for Day-of-Month or Day-of-Week.", i)
        if kind == DAY_OF_WEEK and not self.lastday_of_month:
            if not self.sets[DAY_OF_MONTH]:
                raise JavaError("NoSuchElementException")
            if max(self.sets[DAY_OF_MONTH]) == NO_SPEC:
                raise QuartzParseError(
                    "'?' can only be specified for Day-of-Month -OR- Day-of-Week.", i
                )
        self.add_to_set(NO_SPEC, -1, 0, kind)

    def _store_all(self, s: str, kind: int) -> None:
        i = 0
        c = s[0]
        if c == "*" and i + 1 >= len(s):
            self.add_to_set(ALL_SPEC, -1, 0, kind)
            return
        if c == "/" and (i + 1 >= len(s) or s[i + 1] in " \t"):
            raise QuartzParseError("'/' must be followed by an integer.", i)
        if c == "*":
            i += 1
        c = char_at(s, i)
        if c == "/":
            i += 1
            if i >= len(s):
                raise QuartzParseError("Unexpected end of string.", i)
            incr = parse_int(substring(s, i))  # Quartz reads to the end of the value
            i += 1
            if incr > 10:
                i += 1
            _check_increment_range(incr, kind, i)
        else:
            incr = 1
        self.add_to_set(ALL_SPEC, -1, incr, kind)

    def _store_last(self, s: str, kind: int) -> None:
        i = 1
        if kind == DAY_OF_MONTH:
            self.lastday_of_month = True
        if kind == DAY_OF_WEEK:
            self.add_to_set(7, 7, 0, kind)
        if kind == DAY_OF_MONTH and len(s) > i:
            if s[i] == "-":
                value, pos = self.get_value(0, s, i + 1)
                self.lastday_offset = value
                if value > 30:
                    raise QuartzParseError("Offset from last day must be <= 30", i + 1)
                i = pos
            if len(s) > i and s[i] == "W":
                self.nearest_weekday = True

    # -- checkNext ------------------------------------------------------------------------------
    def check_next(self, pos: int, s: str, val: int, kind: int) -> None:
        i = pos
        if i >= len(s):
            self.add_to_set(val, -1, -1, kind)
            return
        c = s[pos]
        if c == "L":
            if kind != DAY_OF_WEEK:
                raise QuartzParseError(f"'L' option is not valid here. (pos={i})", i)
            if val < 1 or val > 7:
                raise QuartzParseError("Day-of-Week values must be between 1 and 7", -1)
            self.lastday_of_week = True
            self.sets[kind].add(val)
            return
        if c == "W":
            if kind != DAY_OF_MONTH:
                raise QuartzParseError(f"'W' option is not valid here. (pos={i})", i)
            self.nearest_weekday = True
            if val > 31:
                raise QuartzParseError(
                    "The 'W' option does not make sense with values larger than 31 "
                    "(max number of days in a month)",
                    i,
                )
            self.sets[kind].add(val)
            return
        if c == "#":
            if kind != DAY_OF_WEEK:
                raise QuartzParseError(f"'#' option is not valid here. (pos={i})", i)
            self.nthday_of_week = self._nth(s, i + 1)
            self.sets[kind].add(val)
            return
        if c == "-":
            i += 1
            v = parse_int(char_at(s, i))
            end = v
            i += 1
            if i >= len(s):
                self.add_to_set(val, end, 1, kind)
                return
            if is_digit(s[i]):
                end, i = self.get_value(v, s, i)
            if i < len(s) and s[i] == "/":
                i += 1
                v2 = parse_int(char_at(s, i))
                i += 1
                if i >= len(s):
                    self.add_to_set(val, end, v2, kind)
                    return
                if is_digit(s[i]):
                    v3, i = self.get_value(v2, s, i)
                    self.add_to_set(val, end, v3, kind)
                else:
                    self.add_to_set(val, end, v2, kind)
                return
            self.add_to_set(val, end, 1, kind)
            return
        if c == "/":
            if i + 1 >= len(s) or s[i + 1] in " \t":
                raise QuartzParseError("'/' must be followed by an integer.", i)
            i += 1
            v2 = parse_int(s[i])
            i += 1
            if i >= len(s):
                _check_increment_range(v2, kind, i)
                self.add_to_set(val, -1, v2, kind)
                return
            c = s[i]
            if is_digit(c):
                v3, _ = self.get_value(v2, s, i)
                _check_increment_range(v3, kind, i)
                self.add_to_set(val, -1, v3, kind)
                return
            raise QuartzParseError(f"Unexpected character '{c}' after '/'", i)
        self.add_to_set(val, -1, 0, kind)

    @staticmethod
    def get_value(v: int, s: str, i: int) -> tuple[int, int]:
        """Quartz's getValue: v followed by the digits at i; (value, position after)."""
        digits = [str(v)]
        c = s[i]
        while is_digit(c):
            digits.append(c)
            i += 1
            if i >= len(s):
                break
            c = s[i]
        return parse_int("".join(digits)), (i if i < len(s) else i + 1)

    # -- addToSet -------------------------------------------------------------------------------
    def add_to_set(self, val: int, end: int, incr: int, kind: int) -> None:
        target = self.sets[kind]
        _check_range(val, end, kind)
        if incr in (0, -1) and val != ALL_SPEC:
            target.add(val if val != -1 else NO_SPEC)
            return
        start, stop = val, end
        if val == ALL_SPEC and incr <= 0:
            incr = 1
            target.add(ALL_SPEC)
        low, high = BOUNDS[kind]
        if stop == -1:
            stop = high
        if start in (-1, ALL_SPEC):
            start = low
        modulus = -1
        if stop < start:
            if kind == YEAR:
                raise JavaError("Start year must be less than stop year")
            modulus = OVERFLOW[kind]
            stop += modulus
        if modulus == -1:
            if kind == YEAR and stop > YEAR_CAP:
                if start <= YEAR_CAP:
                    target.update(range(start, YEAR_CAP + 1, incr))
                target.add(YEAR_CAP + 1)
                return
            target.update(range(start, stop + 1, incr))
            return
        for value in range(start, stop + 1, incr):
            wrapped = value % modulus
            if wrapped == 0 and kind in (MONTH, DAY_OF_WEEK, DAY_OF_MONTH):
                wrapped = modulus
            target.add(wrapped)


def _check_range(val: int, end: int, kind: int) -> None:
    if kind in (SECOND, MINUTE):
        if (val < 0 or val > 59 or end > 59) and val != ALL_SPEC:
            raise QuartzParseError("Minute and Second values must be between 0 and 59", -1)
    elif kind == HOUR:
        if (val < 0 or val > 23 or end > 23) and val != ALL_SPEC:
            raise QuartzParseError("Hour values must be between 0 and 23", -1)
    elif kind == DAY_OF_MONTH:
        if (val < 1 or val > 31 or end > 31) and val not in (ALL_SPEC, NO_SPEC):
            raise QuartzParseError("Day of month values must be between 1 and 31", -1)
    elif kind == MONTH:
        if (val < 1 or val > 12 or end > 12) and val != ALL_SPEC:
            raise QuartzParseError("Month values must be between 1 and 12", -1)
    elif kind == DAY_OF_WEEK:
        if (val == 0 or val > 7 or end > 7) and val not in (ALL_SPEC, NO_SPEC):
            raise QuartzParseError("Day-of-Week values must be between 1 and 7", -1)


def _check_increment_range(incr: int, kind: int, pos: int) -> None:
    limits = {SECOND: 59, MINUTE: 59, HOUR: 23, DAY_OF_MONTH: 31, DAY_OF_WEEK: 7, MONTH: 12}
    limit = limits.get(kind)
    if limit is not None and incr > limit:
        raise QuartzParseError(
            f"Increment > {limit + 1 if limit in (59, 23) else limit} : {incr}", pos
        )
