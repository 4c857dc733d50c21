"""Parsing Quartz cron expressions, rule for rule as Quartz 2.3.2 ``CronExpression`` does.

The parser is a faithful port, quirks included (``MONDAY`` reads as ``MON``, ``5X`` as ``5``,
fields after the seventh are ignored), so that tickwork accepts exactly what Quartz accepts.
The one difference: expressions Quartz accepts but cannot evaluate are refused here: an ``L``
in the seconds, minutes, hours or month field leaves that field empty and Quartz throws on every
fire-time computation; ``0W`` and ``L-28W`` to ``L-30W`` in the day-of-month make Quartz's
search loop forever.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tickwork.domain.errors import InvalidTimeExpression

__all__ = ["CronFields", "parse_cron", "MAX_YEAR"]

SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR = range(7)
ALL_SPEC = 99  # '*'
NO_SPEC = 98  # '?'
# Quartz fixes this when the class loads: the current year + 100.
MAX_YEAR = datetime.now(UTC).year + 100
# Years past this never fire (Quartz stops at MAX_YEAR and at 2999); keep sets small.
_YEAR_CAP = 3001

FIELD_NAMES = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_L_FORM = re.compile(r"L-[0-9]*W?")
_INT_MAX = 2**31 - 1


class _ParseError(Exception):
    """Quartz's ParseException: a message and an offset inside the current value (-1: none)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _JavaError(Exception):
    """A Java runtime exception inside Quartz's parser (Quartz reports it at offset 0)."""


@dataclass(slots=True)
class CronFields:
    """The parsed form of a Quartz cron expression (value sets as sorted lists)."""

    expression: str
    seconds: list[int] = field(default_factory=list)
    minutes: list[int] = field(default_factory=list)
    hours: list[int] = field(default_factory=list)
    days_of_month: list[int] = field(default_factory=list)
    months: list[int] = field(default_factory=list)
    days_of_week: list[int] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    lastday_of_week: bool = False
    nthday_of_week: int = 0
    lastday_of_month: bool = False
    nearest_weekday: bool = False
    lastday_offset: int = 0


def _char(s: str, i: int) -> str:
    if i < 0 or i >= len(s):
        raise _JavaError(f"index {i} out of bounds for length {len(s)}")
    return s[i]


def _substring(s: str, begin: int, end: int | None = None) -> str:
    stop = len(s) if end is None else end
    if begin < 0 or stop > len(s) or begin > stop:
        raise _JavaError(f"begin {begin}, end {stop}, length {len(s)}")
    return s[begin:stop]


def _parse_int(text: str) -> int:
    """Java's Integer.parseInt: optional sign, decimal digits, 32-bit range."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body:
        raise _JavaError(f'For input string: "{text}"')
    value = 0
    for ch in body:
        digit = unicodedata.decimal(ch, -1)
        if digit < 0:
            raise _JavaError(f'For input string: "{text}"')
        value = value * 10 + digit
    value = -value if text[0] == "-" else value
    if value > _INT_MAX or value < -_INT_MAX - 1:
        raise _JavaError(f'For input string: "{text}"')
    return value


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


class _Parser:
    """One run of Quartz's buildExpression over one expression."""

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
        if _is_digit(c):
            val = int(c)
            i += 1
            if i >= len(s):
                self.add_to_set(val, -1, -1, kind)
            else:
                c = s[i]
                if _is_digit(c):
                    val, i = self.get_value(val, s, i)
                self.check_next(i, s, val, kind)
            return
        raise _ParseError(f"Unexpected character: {c}", i)

    def _store_name(self, s: str, kind: int) -> None:
        i = 0
        sub = _substring(s, i, i + 3)
        eval_ = -1
        if kind == MONTH:
            sval = _MONTHS.get(sub, -1) + 1
            if sval <= 0:
                raise _ParseError(f"Invalid Month value: '{sub}'", i)
            if len(s) > i + 3 and s[i + 3] == "-":
                i += 4
                sub = _substring(s, i, i + 3)
                eval_ = _MONTHS.get(sub, -1) + 1
                if eval_ <= 0:
                    raise _ParseError(f"Invalid Month value: '{sub}'", i)
        elif kind == DAY_OF_WEEK:
            sval = _DAYS.get(sub, -1)
            if sval < 0:
                raise _ParseError(f"Invalid Day-of-Week value: '{sub}'", i)
            if len(s) > i + 3:
                c = s[i + 3]
                if c == "-":
                    i += 4
                    sub = _substring(s, i, i + 3)
                    eval_ = _DAYS.get(sub, -1)
                    if eval_ < 0:
                        raise _ParseError(f"Invalid Day-of-Week value: '{sub}'", i)
                elif c == "#":
                    i += 4
                    self.nthday_of_week = self._nth(s, i)
                elif c == "L":
                    self.lastday_of_week = True
                    i += 1
        else:
            raise _ParseError(f"Illegal characters for this position: '{sub}'", i)
        self.add_to_set(sval, eval_, 1 if eval_ != -1 else 0, kind)

    @staticmethod
    def _nth(s: str, i: int) -> int:
        try:
            nth = _parse_int(_substring(s, i))
        except _JavaError:
            nth = 0
        if nth < 1 or nth > 5:
            raise _ParseError("A numeric value between 1 and 5 must follow the '#' option", i)
        return nth

    def _store_no_spec(self, s: str, kind: int) -> None:
        i = 1
        if i + 1 < len(s) and (s[i] != " " and s[i + 1] != "\t"):
            raise _ParseError(f"Illegal character after '?': {s[i]}", i)
        if kind not in (DAY_OF_WEEK, DAY_OF_MONTH):
            raise _ParseError("'?' can only be specified for Day-of-Month or Day-of-Week.", i)
        if kind == DAY_OF_WEEK and not self.lastday_of_month:
            if not self.sets[DAY_OF_MONTH]:
                raise _JavaError("NoSuchElementException")
            if max(self.sets[DAY_OF_MONTH]) == NO_SPEC:
                raise _ParseError("'?' can only be specified for Day-of-Month -OR- Day-of-Week.", i)
        self.add_to_set(NO_SPEC, -1, 0, kind)

    def _store_all(self, s: str, kind: int) -> None:
        i = 0
        c = s[0]
        if c == "*" and i + 1 >= len(s):
            self.add_to_set(ALL_SPEC, -1, 0, kind)
            return
        if c == "/" and (i + 1 >= len(s) or s[i + 1] in " \t"):
            raise _ParseError("'/' must be followed by an integer.", i)
        if c == "*":
            i += 1
        c = _char(s, i)
        if c == "/":
            i += 1
            if i >= len(s):
                raise _ParseError("Unexpected end of string.", i)
            incr = _parse_int(_substring(s, i))  # Quartz reads to the end of the value
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
                    raise _ParseError("Offset from last day must be <= 30", i + 1)
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
                raise _ParseError(f"'L' option is not valid here. (pos={i})", i)
            if val < 1 or val > 7:
                raise _ParseError("Day-of-Week values must be between 1 and 7", -1)
            self.lastday_of_week = True
            self.sets[kind].add(val)
            return
        if c == "W":
            if kind != DAY_OF_MONTH:
                raise _ParseError(f"'W' option is not valid here. (pos={i})", i)
            self.nearest_weekday = True
            if val > 31:
                raise _ParseError(
                    "The 'W' option does not make sense with values larger than 31 "
                    "(max number of days in a month)",
                    i,
                )
            self.sets[kind].add(val)
            return
        if c == "#":
            if kind != DAY_OF_WEEK:
                raise _ParseError(f"'#' option is not valid here. (pos={i})", i)
            self.nthday_of_week = self._nth(s, i + 1)
            self.sets[kind].add(val)
            return
        if c == "-":
            i += 1
            v = _parse_int(_char(s, i))
            end = v
            i += 1
            if i >= len(s):
                self.add_to_set(val, end, 1, kind)
                return
            if _is_digit(s[i]):
                end, i = self.get_value(v, s, i)
            if i < len(s) and s[i] == "/":
                i += 1
                v2 = _parse_int(_char(s, i))
                i += 1
                if i >= len(s):
                    self.add_to_set(val, end, v2, kind)
                    return
                if _is_digit(s[i]):
                    v3, i = self.get_value(v2, s, i)
                    self.add_to_set(val, end, v3, kind)
                else:
                    self.add_to_set(val, end, v2, kind)
                return
            self.add_to_set(val, end, 1, kind)
            return
        if c == "/":
            if i + 1 >= len(s) or s[i + 1] in " \t":
                raise _ParseError("'/' must be followed by an integer.", i)
            i += 1
            v2 = _parse_int(s[i])
            i += 1
            if i >= len(s):
                _check_increment_range(v2, kind, i)
                self.add_to_set(val, -1, v2, kind)
                return
            c = s[i]
            if _is_digit(c):
                v3, _ = self.get_value(v2, s, i)
                _check_increment_range(v3, kind, i)
                self.add_to_set(val, -1, v3, kind)
                return
            raise _ParseError(f"Unexpected character '{c}' after '/'", i)
        self.add_to_set(val, -1, 0, kind)

    @staticmethod
    def get_value(v: int, s: str, i: int) -> tuple[int, int]:
        """Quartz's getValue: v followed by the digits at i; (value, position after)."""
        digits = [str(v)]
        c = s[i]
        while _is_digit(c):
            digits.append(c)
            i += 1
            if i >= len(s):
                break
            c = s[i]
        return _parse_int("".join(digits)), (i if i < len(s) else i + 1)

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
        low, high = _BOUNDS[kind]
        if stop == -1:
            stop = high
        if start in (-1, ALL_SPEC):
            start = low
        modulus = -1
        if stop < start:
            if kind == YEAR:
                raise _JavaError("Start year must be less than stop year")
            modulus = _OVERFLOW[kind]
            stop += modulus
        if modulus == -1:
            if kind == YEAR and stop > _YEAR_CAP:
                if start <= _YEAR_CAP:
                    target.update(range(start, _YEAR_CAP + 1, incr))
                target.add(_YEAR_CAP + 1)
                return
            target.update(range(start, stop + 1, incr))
            return
        for value in range(start, stop + 1, incr):
            wrapped = value % modulus
            if wrapped == 0 and kind in (MONTH, DAY_OF_WEEK, DAY_OF_MONTH):
                wrapped = modulus
            target.add(wrapped)


_BOUNDS = {
    SECOND: (0, 59),
    MINUTE: (0, 59),
    HOUR: (0, 23),
    DAY_OF_MONTH: (1, 31),
    MONTH: (1, 12),
    DAY_OF_WEEK: (1, 7),
    YEAR: (1970, MAX_YEAR),
}
_OVERFLOW = {SECOND: 60, MINUTE: 60, HOUR: 24, MONTH: 12, DAY_OF_WEEK: 7, DAY_OF_MONTH: 31}


def _check_range(val: int, end: int, kind: int) -> None:
    if kind in (SECOND, MINUTE):
        if (val < 0 or val > 59 or end > 59) and val != ALL_SPEC:
            raise _ParseError("Minute and Second values must be between 0 and 59", -1)
    elif kind == HOUR:
        if (val < 0 or val > 23 or end > 23) and val != ALL_SPEC:
            raise _ParseError("Hour values must be between 0 and 23", -1)
    elif kind == DAY_OF_MONTH:
        if (val < 1 or val > 31 or end > 31) and val not in (ALL_SPEC, NO_SPEC):
            raise _ParseError("Day of month values must be between 1 and 31", -1)
    elif kind == MONTH:
        if (val < 1 or val > 12 or end > 12) and val != ALL_SPEC:
            raise _ParseError("Month values must be between 1 and 12", -1)
    elif kind == DAY_OF_WEEK:
        if (val == 0 or val > 7 or end > 7) and val not in (ALL_SPEC, NO_SPEC):
            raise _ParseError("Day-of-Week values must be between 1 and 7", -1)


def _check_increment_range(incr: int, kind: int, pos: int) -> None:
    limits = {SECOND: 59, MINUTE: 59, HOUR: 23, DAY_OF_MONTH: 31, DAY_OF_WEEK: 7, MONTH: 12}
    limit = limits.get(kind)
    if limit is not None and incr > limit:
        raise _ParseError(f"Increment > {limit + 1 if limit in (59, 23) else limit} : {incr}", pos)


def _tokens(text: str, separators: str, base: int) -> list[tuple[str, int]]:
    """Java's StringTokenizer: the non-empty runs between separators, with their positions."""
    found: list[tuple[str, int]] = []
    start = -1
    for index, ch in enumerate(text):
        if ch in separators:
            if start >= 0:
                found.append((text[start:index], base + start))
                start = -1
        elif start < 0:
            start = index
    if start >= 0:
        found.append((text[start:], base + start))
    return found


def _java_trim(token: str, pos: int) -> tuple[str, int]:
    begin, end = 0, len(token)
    while begin < end and token[begin] <= " ":
        begin += 1
    while end > begin and token[end - 1] <= " ":
        end -= 1
    return token[begin:end], pos + begin


def _fail(kind: int, token: str, position: int, reason: str) -> InvalidTimeExpression:
    return InvalidTimeExpression(
        f"invalid {FIELD_NAMES[kind]} {token!r} at position {position}: {reason}",
        position=position,
    )


def parse_cron(expression: str) -> CronFields:
    """Parse a Quartz cron expression; raise InvalidTimeExpression like Quartz refuses it."""
    text = expression.upper()
    parser = _Parser()
    kind = SECOND
    for token, token_pos in _tokens(text, " \t", 0):
        if kind > YEAR:
            break
        expr, expr_pos = _java_trim(token, token_pos)
        if kind in (DAY_OF_MONTH, DAY_OF_WEEK) and "L" in expr and len(expr) > 1 and "," in expr:
            raise _fail(kind, expr, expr_pos, "'L' cannot be combined with other values")
        if kind == DAY_OF_WEEK and expr.count("#") > 1:
            raise _fail(kind, expr, expr_pos, "only one '#' (nth day) is allowed")
        for value, value_pos in _tokens(expr, ",", expr_pos):
            try:
                parser.store(value, kind)
            except _ParseError as exc:
                at = value_pos + min(max(exc.offset, 0), len(value) - 1)
                raise _fail(kind, value, at, exc.message) from None
            except (_JavaError, ValueError, IndexError) as exc:
                raise _fail(kind, value, value_pos, f"malformed value ({exc})") from None
        kind += 1
    if kind <= DAY_OF_WEEK:
        raise InvalidTimeExpression(
            f"cron expression needs 6 or 7 fields (seconds minutes hours day-of-month month "
            f"day-of-week [year]), got {kind} at position {len(expression)}",
            position=len(expression),
        )
    if kind <= YEAR:
        parser.store("*", YEAR)
    dom_spec = NO_SPEC not in parser.sets[DAY_OF_MONTH]
    dow_spec = NO_SPEC not in parser.sets[DAY_OF_WEEK]
    if dom_spec == dow_spec:
        raise InvalidTimeExpression(
            "exactly one of day-of-month and day-of-week must be '?' "
            f"({'neither' if dom_spec else 'both'} is) at position 0",
            position=0,
        )
    for kind in (SECOND, MINUTE, HOUR, MONTH):
        if not parser.sets[kind]:
            raise InvalidTimeExpression(
                f"invalid {FIELD_NAMES[kind]}: 'L' is not allowed in this field at position 0",
                position=0,
            )
    if parser.nearest_weekday and 0 in parser.sets[DAY_OF_MONTH]:
        raise InvalidTimeExpression(
            "invalid day-of-month: '0W' names no day (Quartz loops forever on it) at position 0",
            position=0,
        )
    if parser.nearest_weekday and parser.lastday_of_month and parser.lastday_offset >= 28:
        raise InvalidTimeExpression(
            "invalid day-of-month: 'L-nW' needs n <= 27 (February has no such day and Quartz "
            "loops forever on it) at position 0",
            position=0,
        )
    sets = [sorted(values) for values in parser.sets]
    return CronFields(
        expression=expression,
        seconds=sets[SECOND],
        minutes=sets[MINUTE],
        hours=sets[HOUR],
        days_of_month=sets[DAY_OF_MONTH],
        months=sets[MONTH],
        days_of_week=sets[DAY_OF_WEEK],
        years=sets[YEAR],
        lastday_of_week=parser.lastday_of_week,
        nthday_of_week=parser.nthday_of_week,
        lastday_of_month=parser.lastday_of_month,
        nearest_weekday=parser.nearest_weekday,
        lastday_offset=parser.lastday_offset,
    )
