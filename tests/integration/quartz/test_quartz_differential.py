"""tickwork's Quartz cron against Quartz 2.3.2 itself: same validity, same fire times."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Answer, QuartzOracle, Request
from tickwork.domain.errors import InvalidTimeExpression
from tickwork.timing.cron import QuartzCron

pytestmark = pytest.mark.quartz

DST_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Tehran",
    "Australia/Lord_Howe",
]
ZONES = [*DST_ZONES, "", "UTC", "Asia/Shanghai", "Asia/Kolkata", "GMT+8", "GMT-3:30", "GMT+05:45"]

HAND_PICKED = [
    "0 0 12 * * ?",
    "0 15 10 ? * *",
    "0 15 10 * * ? 2027",
    "0 * 14 * * ?",
    "0 0/5 14,18 * * ?",
    "0 0-5 14 * * ?",
    "0 10,44 14 ? 3 WED",
    "0 15 10 ? * MON-FRI",
    "0 15 10 15 * ?",
    "0 15 10 L * ?",
    "0 15 10 L-2 * ?",
    "0 15 10 L-30 * ?",
    "0 15 10 ? * 6L",
    "0 15 10 ? * 6L 2026-2029",
    "0 15 10 ? * 6#3",
    "0 15 10 ? * 2#5",
    "0 0 12 1/5 * ?",
    "0 11 11 11 11 ?",
    "0 0 0 29 2 ?",
    "0 0 0 30 2 ?",
    "0 0 0 31 * ?",
    "0 0 0 15W * ?",
    "0 0 0 1W * ?",
    "0 0 0 31W * ?",
    "0 0 0 LW * ?",
    "0 0 0 L-3W * ?",
    "0 0 0 L-W * ?",
    "0 0 0 L-30W * ?",
    "0 0 0 L-27W 2 ?",
    "0 0 0 0W * ?",
    "0 0 0 ? * L",
    "0 0 0 ? * 7L",
    "0 0 0 ? * 1L",
    "0 0 0 ? * SUN#1",
    "0 0 0 ? * sat#5",
    "0 0 0 ? JAN-MAR MON,WED,FRI",
    "0 0 0 ? NOV-FEB *",
    "0 0 22-2 * * ?",
    "50-10 * * * * ?",
    "0 50-10/7 * * * ?",
    "*/7 */13 */5 */9 */5 ? */3",
    "0 0 0 * 7/6 ?",
    "0 0 0 ? * 6-2",
    "0 0 0 ? * MON-SUN",
    "0 0 0 1-31/10 * ?",
    "0 0 0 * * ? 2030",
    "0 0 0 * * ? 2020",
    "0 0 0 * * ? 2099-2101",
    "0 0 0 ? * MONDAY",
    "0 0 0 ? JANUARY *",
    "0 0 5X * * ?",
    "*X * * * * ?",
    "0 0 0 ?X * *",
    "/5 * * * * ?",
    "*/0 * * * * ?",
    "0 0 0 1-5/0 * ?",
    "0 0 0 * * ? * extra fields",
    "0 0 0 * * ?\t",
    "  0   0  0 * * ?  ",
    "0 0 0 ? * 9#2",
    # invalid
    "",
    "0 0 0 * *",
    "0 0 0 * * *",
    "0 0 0 ? * ?",
    "60 * * * * ?",
    "0 60 * * * ?",
    "0 0 24 * * ?",
    "0 0 0 0 * ?",
    "0 0 0 32 * ?",
    "0 0 0 * 13 ?",
    "0 0 0 * 0 ?",
    "0 0 0 ? * 0",
    "0 0 0 ? * 8",
    "0 0 0 ? * FOO",
    "0 0 0 ? FOO *",
    "0 0 0 ? * MO",
    "0 0 0 ? * MON#6",
    "0 0 0 ? * MON#0",
    "0 0 0 ? * 2#1,3#2",
    "0 0 0 L,5 * ?",
    "0 0 0 ? * 5L,2",
    "0 0 0 L-31 * ?",
    "0 0 0 32W * ?",
    "0 0 0 ? * 8L",
    "0 0 0 5L * ?",
    "0 0 0 ? * 5W",
    "0 0 0 5#2 * ?",
    "0 0 0 * * ? 2030-2020",
    "*/61 * * * * ?",
    "0 0 */25 * * ?",
    "0 0 0 */32 * ?",
    "0 0 0 ? */13 *",
    "0 0 0 ? * */8",
    "0 0 0 ? * 1/",
    "0 0 0 ? * /",
    "0 0 0 ? * 1-",
    "0 0 0 ? * 1-X",
    "0 0 0 ? * 1/X",
    "0 0 0 ? * 1-5/",
    "0 0 0 ? * 1/1X",
    "0 0 0 L- * ?",
    "? 0 0 * * ?",
    "0 0 0 ?? * *",
    "0 0 0 * * ? ?",
    "0 0 0 * * ? 99999999999",
    "0 0 0 * * ? L",
    "L * * * * ?",
    "0 L * * * ?",
    "0 0 L * * ?",
    "0 0 0 * L ?",
    "0 0 0 W * ?",
    "0 0 0 * * ? #",
    "0 0 0 * * ? 2026#2",
    "a b c d e f",
    "0 0 0 * * % ",
    "0 0 0 ? * MON-FOO",
    "0 0 0 ? JAN-FOO *",
    "0 0 0 ? JAN-XY *",
]


# Quartz never returns from getTimeAfter on these; tickwork refuses them.
QUARTZ_LOOPS = {"0 0 0 0W * ?", "0 0 0 L-30W * ?"}


def _ours(request: Request) -> Answer:
    try:
        cron = QuartzCron(request.expression, request.zone)
    except InvalidTimeExpression as exc:
        return Answer("PARSE", offset=exc.position or 0, message=exc.message)
    times: list[int] = []
    after = request.start_ms
    for _ in range(request.count):
        fire = cron.next_after(after)
        if fire is None:
            break
        times.append(fire)
        after = fire
    return Answer("OK", tuple(times))


def _values(expression: str) -> list[tuple[int, int]]:
    """(start, length) of each comma-separated value of each field."""
    found: list[tuple[int, int]] = []
    index = 0
    while index < len(expression):
        if expression[index] in " \t,":
            index += 1
            continue
        start = index
        while index < len(expression) and expression[index] not in " \t,":
            index += 1
        found.append((start, index - start))
    return found


def _compare(requests: list[Request], answers: list[Answer]) -> None:
    mismatches: list[str] = []
    for request, theirs in zip(requests, answers, strict=True):
        ours = _ours(request)
        label = f"{request.expression!r} in {request.zone or 'UTC'!r} after {request.start_ms}"
        if theirs.kind == "OK":
            if ours.kind != "OK":
                mismatches.append(f"{label}: Quartz accepts, we refuse: {ours.message}")
            elif ours.times != theirs.times:
                mismatches.append(
                    f"{label}: Quartz {_iso(theirs.times)} != ours {_iso(ours.times)}"
                )
        elif ours.kind != "PARSE":
            mismatches.append(f"{label}: Quartz refuses ({theirs.message}), we accept")
        else:
            ok = 0 <= ours.offset <= len(request.expression)
            if theirs.kind == "PARSE" and theirs.offset > 0:
                # Quartz's offset is inside the value (tickwork keeps it on the value's last
                # character when Quartz points past it).
                ok = ok and (
                    ours.offset == theirs.offset  # "Unexpected end of expression."
                    or any(
                        ours.offset - start == min(theirs.offset, length - 1)
                        for start, length in _values(request.expression)
                    )
                )
            if not ok:
                mismatches.append(
                    f"{label}: error position {ours.offset} ({ours.message}) vs Quartz offset "
                    f"{theirs.offset} ({theirs.message})"
                )
    assert not mismatches, f"{len(mismatches)} of {len(requests)} differ:\n" + "\n".join(
        mismatches[:40]
    )


def _iso(times: tuple[int, ...]) -> list[str]:
    return [datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def _transitions(zone: str, first_year: int, last_year: int) -> list[int]:
    """UTC instants (ms) where the zone's offset changes, found by a daily scan and bisection."""
    tz = ZoneInfo(zone)

    def offset(ms: int) -> object:
        return datetime.fromtimestamp(ms // 1000, tz).utcoffset()

    found: list[int] = []
    step = 86_400_000
    t, end = _ms(first_year, 1, 1), _ms(last_year + 1, 1, 1)
    while t < end:
        if offset(t) != offset(t + step):
            low, high = t, t + step
            while high - low > 1000:
                mid = (low + high) // 2 // 1000 * 1000
                if offset(mid) == offset(low):
                    low = mid
                else:
                    high = mid
            found.append(high)
        t += step
    return found


def _dst_starts(zone: str) -> list[int]:
    years = (2019, 2021) if zone == "Asia/Tehran" else (2025, 2027)
    starts: list[int] = []
    for instant in _transitions(zone, *years):
        for delta_s in (-7200, -3601, -3600, -1800, -1, 0, 1, 1800, 3599, 5400):
            starts.append(instant + delta_s * 1000)
    return starts


DST_EXPRESSIONS = [
    "0 */15 * * * ?",
    "0 0 * * * ?",
    "0 30 * * * ?",
    "0 30 2 * * ?",
    "0 30 1 * * ?",
    "0 0 2 * * ?",
    "0 0 3 * * ?",
    "0 0 0 * * ?",
    "0 30 0 * * ?",
    "0 0 23 * * ?",
    "0 0,30 0-3 * * ?",
    "*/20 59 * * * ?",
    "0 15 2 ? * SUN",
    "0 0 2 L * ?",
    "0 45 1 1W * ?",
    "0 0 0 ? * 1#1",
    "0 59 1 * * ?",
    "0 0 1 * * ?",
    "30 29 2 * * ?",
]


def test_hand_picked_expressions(quartz: QuartzOracle) -> None:
    rng = random.Random(1)
    requests = []
    for expression in HAND_PICKED:
        zones = (
            ("",) if expression in QUARTZ_LOOPS else ("", "America/New_York", "Australia/Sydney")
        )
        for zone in zones:
            start = _ms(2026, 1, 1) + rng.randrange(0, 4 * 365 * 86400) * 1000
            requests.append(Request(expression, zone, start, 8))
    for expression in ("0 0 0 29 2 ?", "0 0 12 ? 2 6L", "0 0 0 L * ?", "0 0 0 LW 2 ?"):
        requests.append(Request(expression, "Europe/London", _ms(2027, 12, 31), 6))
    _compare(requests, quartz.ask(requests))


def test_daylight_saving_transitions(quartz: QuartzOracle) -> None:
    requests = [
        Request(expression, zone, start, 5)
        for zone in DST_ZONES
        for start in _dst_starts(zone)
        for expression in DST_EXPRESSIONS
    ]
    _compare(requests, quartz.ask(requests))


def _number(rng: random.Random, low: int, high: int) -> str:
    return str(rng.randint(low, high))


def _simple_field(rng: random.Random, low: int, high: int, names: list[str] | None) -> str:
    def value() -> str:
        if names and rng.random() < 0.4:
            return rng.choice(names)
        return _number(rng, low, high)

    roll = rng.random()
    if roll < 0.2:
        return "*"
    if roll < 0.35:
        return value()
    if roll < 0.5:
        return f"{value()}-{value()}"
    if roll < 0.6:
        return f"*/{rng.randint(1, high - low + 1)}"
    if roll < 0.7:
        return f"{_number(rng, low, high)}/{rng.randint(1, high - low + 1)}"
    if roll < 0.8:
        return f"{_number(rng, low, high)}-{_number(rng, low, high)}/{rng.randint(1, 9)}"
    return ",".join(value() for _ in range(rng.randint(2, 4)))


MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def _day_fields(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.45:
        dom = rng.choice(
            [
                _simple_field(rng, 1, 31, None),
                "L",
                f"L-{rng.randint(0, 30)}",
                "LW",
                f"L-{rng.randint(0, 6)}W",
                f"{rng.randint(1, 31)}W",
                "?",
            ]
        )
        return dom, "?" if dom != "?" else "*"
    dow = rng.choice(
        [
            _simple_field(rng, 1, 7, DAYS),
            f"{rng.randint(1, 7)}L",
            f"{rng.choice(DAYS)}L",
            "L",
            f"{rng.randint(1, 7)}#{rng.randint(1, 5)}",
            f"{rng.choice(DAYS)}#{rng.randint(1, 5)}",
        ]
    )
    return "?", dow


def _expression(rng: random.Random) -> str:
    dom, dow = _day_fields(rng)
    fields = [
        rng.choice(["0", "*/30", _simple_field(rng, 0, 59, None)]),
        _simple_field(rng, 0, 59, None),
        _simple_field(rng, 0, 23, None),
        dom,
        _simple_field(rng, 1, 12, MONTHS),
        dow,
    ]
    if rng.random() < 0.25:
        fields.append(rng.choice(["*", "2027", "2026-2030", "2026/3", "2028,2031", "2030-2032/2"]))
    if rng.random() < 0.15:  # make some of them wrong on purpose
        index = rng.randrange(len(fields))
        fields[index] = rng.choice(
            [fields[index] + rng.choice("LW#-/,?X"), "99", "?", "FOO", fields[index][:-1] or "*"]
        )
    if rng.random() < 0.3:
        fields = [f.lower() for f in fields]
    return " ".join(fields)


@pytest.mark.parametrize("seed", [11, 22])
def test_random_expressions(quartz: QuartzOracle, seed: int) -> None:
    rng = random.Random(seed)
    requests = []
    for _ in range(300):
        expression = _expression(rng)
        zone = rng.choice(ZONES)
        start = _ms(2024, 1, 1) + rng.randrange(0, 8 * 365 * 86400) * 1000
        if "W" not in expression.upper() and rng.random() < 0.3:
            start += rng.randrange(1, 1000)  # Quartz reads the clock's ms in 'W' cases only
        requests.append(Request(expression, zone, start, 6))
    _compare(requests, quartz.ask(requests))
