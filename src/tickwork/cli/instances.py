"""``tickwork instance ...``: list and inspect runs, read and follow their logs, act on them."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Annotated, Any

import typer

from tickwork.cli.common import JsonOption, instant_option, open_client, out, print_json
from tickwork.cli.render import detail_table, instance_table
from tickwork.client import JSON, Client
from tickwork.domain.enums import FINAL_STATUSES

instance_app = typer.Typer(help="List, inspect and act on job instances.", no_args_is_help=True)

InstanceId = Annotated[int, typer.Argument(help="Instance id.", metavar="ID", min=1)]

FOLLOW_INTERVAL_S = 0.5
FINAL_STATUS_NAMES = frozenset(s.name.lower() for s in FINAL_STATUSES)


class StatusName(StrEnum):
    """Instance statuses as the API names them (domain.enums.InstanceStatus)."""

    WAITING = "waiting"
    READY = "ready"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    KILLED = "killed"
    PAUSED = "paused"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    PARTIAL_FAILED = "partial_failed"
    SKIPPED = "skipped"
    REMOVED = "removed"


class TriggerName(StrEnum):
    """Trigger types as the API names them (domain.enums.TriggerType)."""

    SCHEDULED = "scheduled"
    BACKFILL = "backfill"
    API = "api"
    MANUAL_RERUN = "manual_rerun"
    SYSTEM_RETRY = "system_retry"


@instance_app.command("list")
def list_instances(
    job: Annotated[int | None, typer.Option("--job", metavar="ID", min=1)] = None,
    status: Annotated[
        list[StatusName] | None, typer.Option("--status", metavar="S", help="Repeatable.")
    ] = None,
    trigger_type: Annotated[
        list[TriggerName] | None, typer.Option("--trigger-type", metavar="T", help="Repeatable.")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="ISO", help="Scheduled at or after (with Z or offset)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="ISO", help="Scheduled before (Z or offset).")
    ] = None,
    page: Annotated[int | None, typer.Option("--page", min=1)] = None,
    page_size: Annotated[int | None, typer.Option("--page-size", min=1)] = None,
    as_json: JsonOption = False,
) -> None:
    """List instances, newest first."""
    from_time = instant_option(from_, "--from")
    to_time = instant_option(to, "--to")
    with open_client() as client:
        result = client.list_instances(
            job_id=job,
            status=[s.value for s in status] if status else None,
            trigger_type=[t.value for t in trigger_type] if trigger_type else None,
            from_time=from_time,
            to_time=to_time,
            page=page,
            page_size=page_size,
        )
    if as_json:
        print_json(result)
    else:
        out().print(instance_table(result))


@instance_app.command("get")
def get(instance_id: InstanceId, as_json: JsonOption = False) -> None:
    """Show one instance."""
    with open_client() as client:
        instance = client.get_instance(instance_id)
    if as_json:
        print_json(instance)
    else:
        out().print(detail_table(instance))


@instance_app.command("logs")
def logs(
    instance_id: InstanceId,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print new lines until the run ends.")
    ] = False,
    offset: Annotated[int | None, typer.Option("--offset", min=0)] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    keyword: Annotated[str | None, typer.Option("--keyword", help="Lines with this text.")] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Start each line with its time (UTC).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print an instance's log lines; with --follow, exit 0 if the run succeeds, else 1."""
    with open_client() as client:
        if follow:
            status = follow_logs(
                client, instance_id, offset, limit, keyword, as_json, timestamps=timestamps
            )
            raise typer.Exit(0 if status == "success" else 1)
        page = client.instance_logs(instance_id, offset=offset, limit=limit, keyword=keyword)
    if as_json:
        print_json(page)
    else:
        for item in _log_items(page):
            typer.echo(log_line(item, timestamps))


def follow_logs(
    client: Client,
    instance_id: int,
    offset: int | None,
    limit: int | None,
    keyword: str | None,
    as_json: bool,
    *,
    timestamps: bool = False,
) -> str:
    """Print log lines as they come until the instance is final; its final status."""
    position = offset or 0
    shown_status = ""
    while True:
        # The status first, then the logs: lines written before a final status are all read.
        instance = client.get_instance(instance_id)
        status = str(instance.get("status", ""))
        if status != shown_status:
            attempt = instance.get("attempt", 0)
            typer.echo(f"instance {instance_id}: {status} (attempt {attempt})", err=True)
            shown_status = status
        position = _drain(client, instance_id, position, limit, keyword, as_json, timestamps)
        if status in FINAL_STATUS_NAMES:
            result = instance.get("result")
            suffix = _result_suffix(result)
            typer.echo(f"instance {instance_id} finished: {status}{suffix}", err=True)
            return status
        time.sleep(FOLLOW_INTERVAL_S)


def _drain(
    client: Client,
    instance_id: int,
    position: int,
    limit: int | None,
    keyword: str | None,
    as_json: bool,
    timestamps: bool = False,
) -> int:
    """Print every line from ``position`` on; the next position."""
    while True:
        page = client.instance_logs(instance_id, offset=position, limit=limit, keyword=keyword)
        items = _log_items(page)
        for item in items:
            typer.echo(
                json.dumps(item, ensure_ascii=False) if as_json else log_line(item, timestamps)
            )
        following = page.get("next_offset")
        if not isinstance(following, int):
            following = position + len(items)
        if not items or following <= position:
            return position
        position = following


def log_line(item: JSON, timestamps: bool = False) -> str:
    line = str(item.get("line", "")).rstrip("\n")
    return f"{item.get('time', '')}  {line}" if timestamps else line


def _log_items(page: JSON) -> list[JSON]:
    items = page.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _result_suffix(result: Any) -> str:
    return f" (result: {result})" if result not in (None, "") else ""


@instance_app.command("stop")
def stop(instance_id: InstanceId, as_json: JsonOption = False) -> None:
    """Kill a running instance."""
    with open_client() as client:
        instance = client.stop_instance(instance_id)
    _print_status(instance, instance_id, as_json)


@instance_app.command("rerun")
def rerun(instance_id: InstanceId, as_json: JsonOption = False) -> None:
    """Run a finished instance again; print the instance id."""
    with open_client() as client:
        instance = client.rerun_instance(instance_id)
    if as_json:
        print_json(instance)
    else:
        typer.echo(instance.get("id", instance_id))


@instance_app.command("set-success")
def set_success(instance_id: InstanceId, as_json: JsonOption = False) -> None:
    """Mark a failed or killed instance successful."""
    with open_client() as client:
        instance = client.set_instance_success(instance_id)
    _print_status(instance, instance_id, as_json)


def _print_status(instance: JSON, instance_id: int, as_json: bool) -> None:
    if as_json:
        print_json(instance)
    else:
        typer.echo(f"instance {instance.get('id', instance_id)}: {instance.get('status', '')}")
