"""``tickwork cron``: try Quartz cron expressions from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from tickwork.clock import now_ms
from tickwork.domain.enums import TimeType
from tickwork.domain.errors import TickworkError
from tickwork.timing import build_schedule, fire_times

__all__ = ["cron_app"]

cron_app = typer.Typer(
    help="Quartz cron expressions (seconds first, optional year, ? L W #, SUN=1..SAT=7).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

MAX_COUNT = 1000


@cron_app.callback()
def _cron() -> None:
    """Quartz cron expressions (seconds first, optional year, ? L W #, SUN=1..SAT=7)."""


class _UsageError(Exception):
    pass


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _parse_after(value: str | None) -> int:
    if value is None:
        return now_ms()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _UsageError(
            f"invalid --after {value!r}: use ISO-8601 with an offset, e.g. 2026-11-21T04:30:00Z"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _UsageError(
            f"invalid --after {value!r}: it has no offset; add 'Z' or '+08:00' "
            "(a time without one is ambiguous)"
        )
    return int(moment.timestamp() * 1000)


def format_utc(ms: int) -> str:
    """An instant as ISO-8601 UTC: 2026-11-21T04:30:02Z (milliseconds only when not zero)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@cron_app.command("next")
def next_command(
    expression: Annotated[str, typer.Argument(help="The cron expression, e.g. '0 */5 * * * ?'.")],
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            "--tz",
            help="Time zone of the expression: IANA name, UTC or GMT+8 (default UTC).",
        ),
    ] = "",
    after: Annotated[
        str | None,
        typer.Option(
            "--after",
            help="Start after this instant: ISO-8601 WITH an offset or Z, e.g. "
            "2026-11-21T12:00:00+08:00 (a value without one is refused). Default: now.",
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="How many fire times.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Print the next fire times of EXPRESSION, one ISO-8601 UTC instant per line."""
    try:
        if not 1 <= count <= MAX_COUNT:
            raise _UsageError(f"invalid --count {count}: must be 1..{MAX_COUNT}")
        start = _parse_after(after)
        schedule = build_schedule(TimeType.CRON, expression, timezone)
        times = [format_utc(t) for t in fire_times(schedule, start, count)]
    except _UsageError as exc:
        raise _fail(str(exc)) from None
    except TickworkError as exc:
        raise _fail(exc.message) from None
    if as_json:
        typer.echo(json.dumps(times))
    else:
        for line in times:
            typer.echo(line)
