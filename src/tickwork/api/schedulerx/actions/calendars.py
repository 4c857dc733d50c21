"""Calendars: CreateSchedulerxCalendar, ManageSchedulerxCalendar, ReadSchedulerxCalendar,
DeleteSchedulerxCalendar.

A calendar is a named year of allowed days, ``MonthDaysContent`` =
``[{"month": 1, "days": [1, 2, 5]}, ...]``. The SchedulerX actions name no namespace (a
calendar belongs to the account's region there); tickwork keeps calendars per namespace, so
these actions work on the ``default`` namespace unless the call adds a ``Namespace``
parameter (a tickwork extension, see docs/schedulerx.md).
"""

from __future__ import annotations

import json
from typing import Any

from tickwork.api.schedulerx.actions.namespaces import schedulerx_errors
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain import bounded_json
from tickwork.domain.errors import AlreadyExists, CalendarNotFound, InvalidParameter
from tickwork.domain.models import Calendar, CalendarMonth
from tickwork.service.namespaces import DEFAULT_NAMESPACE

CONTENT = "MonthDaysContent"
READ_DEFAULT = 20
READ_LIMIT = 100
_FIELDS = {"months": CONTENT, "year": "Year", "name": "CalendarName"}
_SHAPE = '[{"month": 1, "days": [1, 2, 3]}, ...]'


def _namespace(call: Call) -> str:
    return (call.params.str("Namespace") or "").strip() or DEFAULT_NAMESPACE


def _whole(value: Any) -> int | None:
    """A whole number from JSON: 3 or "3" (not true, 3.5 or "x")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_month_days(text: str) -> list[CalendarMonth]:
    """``MonthDaysContent`` as months; InvalidParameter naming it when it is malformed (the
    service checks that the months and days exist)."""
    try:
        parsed = bounded_json.loads(text, field=CONTENT)
    except json.JSONDecodeError:
        raise InvalidParameter(
            f"{CONTENT} must be a JSON array like {_SHAPE}, got {text[:100]!r}", field=CONTENT
        ) from None
    if not isinstance(parsed, list):
        raise InvalidParameter(f"{CONTENT} must be a JSON array like {_SHAPE}", field=CONTENT)
    months: list[CalendarMonth] = []
    for position, entry in enumerate(parsed, 1):
        if not isinstance(entry, dict):
            raise InvalidParameter(
                f"{CONTENT} entry {position} must be an object like "
                f'{{"month": 1, "days": [1, 2]}}, got {json.dumps(entry)[:100]}',
                field=CONTENT,
            )
        month = _whole(entry.get("month"))
        if month is None:
            raise InvalidParameter(
                f'{CONTENT} entry {position} needs a whole number in "month", got '
                f"{json.dumps(entry.get('month'))}",
                field=CONTENT,
            )
        raw_days = entry.get("days", [])
        if not isinstance(raw_days, list):
            raise InvalidParameter(
                f'{CONTENT} entry {position} (month {month}) needs a list in "days"',
                field=CONTENT,
            )
        days: list[int] = []
        for raw in raw_days:
            day = _whole(raw)
            if day is None:
                raise InvalidParameter(
                    f"{CONTENT} month {month}: day {json.dumps(raw)} is not a whole number",
                    field=CONTENT,
                )
            days.append(day)
        months.append(CalendarMonth(month=month, days=days))
    return months


def month_days_content(calendar: Calendar) -> str:
    return json.dumps(
        [{"month": m.month, "days": m.days} for m in calendar.months], separators=(",", ":")
    )


def _year(call: Call) -> int:
    return call.params.req_int("Year")


@action("CreateSchedulerxCalendar")
async def create_calendar(call: Call) -> dict[str, Any]:
    p = call.params
    name, year = p.req("CalendarName"), _year(call)
    months = parse_month_days(p.req(CONTENT))
    namespace = _namespace(call)
    try:
        with schedulerx_errors(namespace=namespace, fields=_FIELDS):
            await call.services.namespaces.create_calendar(
                call.caller, namespace, name, year, months
            )
    except AlreadyExists as exc:
        raise AlreadyExists(
            f"calendar already exists CalendarName: {name} Year: {year} (change it with "
            "ManageSchedulerxCalendar)",
            field="CalendarName",
        ) from exc
    return {}


@action("ManageSchedulerxCalendar")
async def manage_calendar(call: Call) -> dict[str, Any]:
    p = call.params
    name, year = p.req("CalendarName"), _year(call)
    months = parse_month_days(p.req(CONTENT))
    incremental = p.bool("Incremental", False)
    namespace = _namespace(call)
    try:
        with schedulerx_errors(namespace=namespace, fields=_FIELDS):
            await call.services.namespaces.update_calendar(
                call.caller, namespace, name, year, months, incremental=bool(incremental)
            )
    except CalendarNotFound as exc:
        raise _not_found(name, year) from exc
    return {}


@action("ReadSchedulerxCalendar")
async def read_calendar(call: Call) -> dict[str, Any]:
    p = call.params
    name = (p.str("CalendarName") or "").strip()
    year = p.int("Year")
    detail = p.bool("FetchCalendarDetail", False)
    p.bool("FetchSystemCalendar")  # tickwork has no system calendars: accepted, ignored
    limit = p.int("MaxResults", READ_DEFAULT, minimum=1, maximum=READ_LIMIT)
    assert limit is not None
    token = (p.str("NextToken") or "").strip()
    if token and not token.isdigit():
        raise InvalidParameter(
            f"NextToken must be a token a previous ReadSchedulerxCalendar returned, got {token!r}",
            field="NextToken",
        )
    start = int(token or 0)
    namespace = _namespace(call)
    with schedulerx_errors(namespace=namespace):
        calendars = await call.services.namespaces.list_calendars(call.caller, namespace)
    found = [
        c for c in calendars if (not name or c.name == name) and (year is None or c.year == year)
    ]
    page = found[start : start + limit]
    following = start + limit
    records = []
    for calendar in page:
        record: dict[str, Any] = {
            "CalendarName": calendar.name,
            "Year": calendar.year,
            "SystemCalendar": False,
        }
        if detail:
            record[CONTENT] = month_days_content(calendar)
        records.append(record)
    return {
        "Data": {
            "Records": records,
            "Total": len(found),
            "MaxResults": limit,
            "NextToken": str(following) if following < len(found) else "",
        }
    }


@action("DeleteSchedulerxCalendar")
async def delete_calendar(call: Call) -> dict[str, Any]:
    p = call.params
    name, year = p.req("CalendarName"), _year(call)
    namespace = _namespace(call)
    try:
        with schedulerx_errors(namespace=namespace, fields=_FIELDS):
            await call.services.namespaces.delete_calendar(call.caller, namespace, name, year)
    except CalendarNotFound as exc:
        raise _not_found(name, year) from exc
    return {}


def _not_found(name: str, year: int) -> CalendarNotFound:
    return CalendarNotFound(
        f"calendar not exist CalendarName: {name} Year: {year}", field="CalendarName"
    )
