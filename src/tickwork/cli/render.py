"""Tables for people. Pure functions from the API's JSON to rich renderables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "success": "green",
    "failed": "red",
    "killed": "red",
    "rejected": "red",
    "partial_failed": "red",
    "running": "yellow",
    "ready": "yellow",
    "submitted": "yellow",
    "accepted": "yellow",
    "waiting": "cyan",
    "skipped": "dim",
    "removed": "dim",
    "enabled": "green",
    "disabled": "dim",
}

RESULT_WIDTH = 40

JOB_COLUMNS = ("ID", "NAME", "NAMESPACE/GROUP", "TYPE", "SCHEDULE", "STATUS", "NEXT FIRE")
INSTANCE_COLUMNS = (
    "ID",
    "JOB",
    "STATUS",
    "TRIGGER",
    "SCHEDULED",
    "STARTED",
    "ENDED",
    "ATTEMPT",
    "RESULT",
)


def cell(value: Any) -> str:
    """One value as table text: ``-`` for nothing, the ISO instant without its ``T``."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if len(text) == 24 and text[10] == "T" and text.endswith("Z"):
        return text.replace("T", " ")
    return text


def shorten(text: str, width: int = RESULT_WIDTH) -> str:
    """One line of at most ``width`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def schedule(job: Mapping[str, Any]) -> str:
    """``cron */2 * * * * ?``, ``fixed_rate 30``, ``api``, ``none``."""
    time_type = str(job.get("time_type") or "")
    expression = str(job.get("time_expression") or "")
    if time_type in ("api", "none"):  # no schedule: an expression, if any, means nothing
        return time_type
    return f"{time_type} {expression}".strip()


def job_cells(job: Mapping[str, Any]) -> list[str]:
    return [
        cell(job.get("id")),
        cell(job.get("name")),
        f"{cell(job.get('namespace'))}/{cell(job.get('group_id'))}",
        cell(job.get("job_type")),
        schedule(job),
        cell(job.get("status")),
        next_fire(job),
    ]


def next_fire(job: Mapping[str, Any]) -> str:
    """The job's next fire, or why it has none: planning could not compute its schedule."""
    error = job.get("schedule_error")
    if error:
        return shorten(f"schedule error: {error}")
    return cell(job.get("next_fire_time"))


def instance_cells(instance: Mapping[str, Any]) -> list[str]:
    return [
        cell(instance.get("id")),
        cell(instance.get("job_id")),
        cell(instance.get("status")),
        cell(instance.get("trigger_type")),
        cell(instance.get("schedule_time")),
        cell(instance.get("start_time")),
        cell(instance.get("end_time")),
        cell(instance.get("attempt")),
        cell(shorten(str(instance.get("result") or ""))),
    ]


def job_table(page: Mapping[str, Any]) -> Table:
    return _table(JOB_COLUMNS, [job_cells(j) for j in _items(page)], 5, _caption(page))


def instance_table(page: Mapping[str, Any]) -> Table:
    rows = [instance_cells(i) for i in _items(page)]
    return _table(INSTANCE_COLUMNS, rows, 2, _caption(page))


def simple_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A plain table of the given columns (namespaces, groups)."""
    return _table(columns, [[cell(v) for v in row] for row in rows], None, None)


def detail_table(record: Mapping[str, Any]) -> Table:
    """One record as field / value lines (``job get``, ``instance get``)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        style = STATUS_STYLES.get(value, "") if isinstance(value, str) else ""
        table.add_row(key, Text(cell(shown), style=style))
    return table


def _items(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = page.get("items")
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _caption(page: Mapping[str, Any]) -> str | None:
    total, number, size = page.get("total"), page.get("page"), page.get("page_size")
    if not isinstance(total, int) or not isinstance(number, int) or not isinstance(size, int):
        return None
    pages = max(1, -(-total // size)) if size > 0 else 1
    return f"page {number} of {pages}, {total} in all"


def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    status_column: int | None,
    caption: str | None,
) -> Table:
    table = Table(caption=caption, box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        styled = [
            Text(value, style=STATUS_STYLES.get(value, "") if i == status_column else "")
            for i, value in enumerate(row)
        ]
        table.add_row(*styled)
    return table
