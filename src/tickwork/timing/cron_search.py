"""The next fire time of a parsed Quartz cron expression: Quartz 2.3.2 ``getTimeAfter``, ported.

The search walks a lenient calendar field by field exactly as Quartz does, which is what makes
its daylight-saving behaviour (a wall-clock time in a gap is skipped; a wall-clock time that
happens twice fires once, at its second occurrence) and its ``L``/``W``/``#`` corner cases come
out the same.
"""

from __future__ import annotations

from bisect import bisect_left

from tickwork.timing.cron_fields import MAX_YEAR, NO_SPEC, CronFields
from tickwork.timing.lenient import LenientCalendar, last_day_of_month
from tickwork.timing.zones import ZoneRules

__all__ = ["time_after"]

_SATURDAY = 7
# Quartz stops at year 2999 or MAX_YEAR; the slowest legitimate search takes a few ten thousand
# steps. Past this many, the expression cannot fire (and Quartz itself might never return).
_MAX_STEPS = 200_000
_SUNDAY = 1


def _tail(values: list[int], start: int) -> int | None:
    """The first value >= start (Java's ``tailSet(start).first()``), or None."""
    index = bisect_left(values, start)
    return values[index] if index < len(values) else None


def _set_hour(cl: LenientCalendar, hour: int) -> None:
    """Quartz's setCalendarHour: an hour lost to a DST gap moves on to the next hour."""
    cl.hour = hour
    cl.dirty = True
    cl.complete()
    if cl.hour != hour and hour != 24:
        cl.hour = hour + 1
        cl.dirty = True


def _weekday_shift(rules: ZoneRules, year: int, month: int, day: int) -> tuple[int, int]:
    """The day of the 'W' rule (nearest weekday) and the year of the probing calendar.

    Quartz builds a second calendar at 00:00:00 of (year, month, day), lets it roll over and
    reads its day of week; the rolled-over year is kept for the comparison that follows.
    """
    probe = LenientCalendar(rules, 0)
    probe.year, probe.month, probe.day = year, month - 1, day
    probe.hour = probe.minute = probe.second = probe.ms = 0
    probe.dirty = True
    dow = probe.day_of_week()
    ldom = last_day_of_month(month, year)
    if dow == _SATURDAY and day == 1:
        day += 2
    elif dow == _SATURDAY:
        day -= 1
    elif dow == _SUNDAY and day == ldom:
        day -= 2
    elif dow == _SUNDAY:
        day += 1
    return day, probe.year


def _before_start(
    rules: ZoneRules, year: int, month: int, day: int, hr: int, mn: int, sec: int, start: int
) -> bool:
    """Is (year, month, day, hr:mn:sec) in the zone before the search start (whole seconds)?"""
    probe = LenientCalendar(rules, 0)
    probe.year, probe.month, probe.day = year, month - 1, day
    probe.hour, probe.minute, probe.second, probe.ms = hr, mn, sec, 0
    probe.dirty = True
    return probe.get_time() < start


def time_after(cron: CronFields, rules: ZoneRules, after_ms: int) -> int | None:  # noqa: C901
    """The first fire strictly after ``after_ms`` (UTC epoch ms), or None when there is none."""
    seconds, minutes, hours = cron.seconds, cron.minutes, cron.hours
    days_of_month, months, days_of_week = cron.days_of_month, cron.months, cron.days_of_week
    start = (after_ms + 1000) // 1000 * 1000
    cl = LenientCalendar(rules, start)
    cl.dirty = True  # Quartz sets the milliseconds to 0, which re-normalises through the zone
    dom_spec = NO_SPEC not in days_of_month
    dow_spec = NO_SPEC not in days_of_week

    for _ in range(_MAX_STEPS):
        cl.complete()
        if cl.year > 2999:
            return None

        # second
        sec, mn = cl.second, cl.minute
        found = _tail(seconds, sec)
        if found is not None:
            sec = found
        else:
            sec = seconds[0]
            mn += 1
            cl.minute = mn
        cl.second = sec
        cl.dirty = True

        # minute
        cl.complete()
        mn, hr = cl.minute, cl.hour
        t = -1
        found = _tail(minutes, mn)
        if found is not None:
            t = mn
            mn = found
        else:
            mn = minutes[0]
            hr += 1
        if mn != t:
            cl.second = 0
            cl.minute = mn
            _set_hour(cl, hr)
            continue
        cl.minute = mn
        cl.dirty = True

        # hour
        cl.complete()
        hr, day = cl.hour, cl.day
        t = -1
        found = _tail(hours, hr)
        if found is not None:
            t = hr
            hr = found
        else:
            hr = hours[0]
            day += 1
        if hr != t:
            cl.second = 0
            cl.minute = 0
            cl.day = day
            _set_hour(cl, hr)
            continue
        cl.hour = hr
        cl.dirty = True

        # day
        cl.complete()
        day, mon = cl.day, cl.month + 1
        t = -1
        tmon = mon
        if dom_spec and not dow_spec:
            found = _tail(days_of_month, day)
            if cron.lastday_of_month:
                t = day
                day = last_day_of_month(mon, cl.year) - cron.lastday_offset
                if not cron.nearest_weekday:
                    if t > day:
                        mon += 1
                        if mon > 12:
                            mon = 1
                            tmon = 3333
                            cl.add_year(1)
                        day = 1
                else:
                    day, probe_year = _weekday_shift(rules, cl.year, mon, day)
                    if _before_start(rules, probe_year, mon, day, hr, mn, sec, start):
                        day = 1
                        mon += 1
            elif cron.nearest_weekday:
                t = day
                day = days_of_month[0]
                day, probe_year = _weekday_shift(rules, cl.year, mon, day)
                if _before_start(rules, probe_year, mon, day, hr, mn, sec, start):
                    day = days_of_month[0]
                    mon += 1
            elif found is not None:
                t = day
                day = found
                if day > last_day_of_month(mon, cl.year):
                    day = days_of_month[0]
                    mon += 1
            else:
                day = days_of_month[0]
                mon += 1
            if day != t or mon != tmon:
                cl.second = cl.minute = cl.hour = 0
                cl.day = day
                cl.month = mon - 1
                cl.dirty = True
                continue
        elif dow_spec and not dom_spec:
            if cron.lastday_of_week:
                dow = days_of_week[0]
                c_dow = cl.day_of_week()
                days_to_add = 0
                if c_dow < dow:
                    days_to_add = dow - c_dow
                if c_dow > dow:
                    days_to_add = dow + (7 - c_dow)
                last_day = last_day_of_month(mon, cl.year)
                if day + days_to_add > last_day:
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = 1
                    cl.month = mon
                    cl.dirty = True
                    continue
                while day + days_to_add + 7 <= last_day:
                    days_to_add += 7
                day += days_to_add
                if days_to_add > 0:
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = day
                    cl.month = mon - 1
                    cl.dirty = True
                    continue
            elif cron.nthday_of_week != 0:
                dow = days_of_week[0]
                c_dow = cl.day_of_week()
                days_to_add = 0
                if c_dow < dow:
                    days_to_add = dow - c_dow
                elif c_dow > dow:
                    days_to_add = dow + (7 - c_dow)
                day_shifted = days_to_add > 0
                day += days_to_add
                week_of_month = day // 7
                if day % 7 > 0:
                    week_of_month += 1
                days_to_add = (cron.nthday_of_week - week_of_month) * 7
                day += days_to_add
                if days_to_add < 0 or day > last_day_of_month(mon, cl.year):
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = 1
                    cl.month = mon
                    cl.dirty = True
                    continue
                if days_to_add > 0 or day_shifted:
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = day
                    cl.month = mon - 1
                    cl.dirty = True
                    continue
            else:
                c_dow = cl.day_of_week()
                dow = days_of_week[0]
                found = _tail(days_of_week, c_dow)
                if found is not None:
                    dow = found
                days_to_add = 0
                if c_dow < dow:
                    days_to_add = dow - c_dow
                if c_dow > dow:
                    days_to_add = dow + (7 - c_dow)
                if day + days_to_add > last_day_of_month(mon, cl.year):
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = 1
                    cl.month = mon
                    cl.dirty = True
                    continue
                if days_to_add > 0:
                    cl.second = cl.minute = cl.hour = 0
                    cl.day = day + days_to_add
                    cl.month = mon - 1
                    cl.dirty = True
                    continue
        else:  # the parser makes exactly one of them '?'
            return None
        cl.day = day
        cl.dirty = True

        # month
        cl.complete()
        mon, year = cl.month + 1, cl.year
        t = -1
        if year > MAX_YEAR:
            return None
        found = _tail(months, mon)
        if found is not None:
            t = mon
            mon = found
        else:
            mon = months[0]
            year += 1
        if mon != t:
            cl.second = cl.minute = cl.hour = 0
            cl.day = 1
            cl.month = mon - 1
            cl.year = year
            cl.dirty = True
            continue
        cl.month = mon - 1
        cl.dirty = True

        # year
        cl.complete()
        year = cl.year
        t = -1
        found = _tail(cron.years, year)
        if found is None:
            return None
        t = year
        year = found
        if year != t:
            cl.second = cl.minute = cl.hour = 0
            cl.day = 1
            cl.month = 0
            cl.year = year
            cl.dirty = True
            continue
        cl.year = year
        cl.dirty = True
        return cl.get_time()
    return None
