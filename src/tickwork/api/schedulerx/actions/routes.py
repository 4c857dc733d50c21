"""CreateRouteStrategy, DeleteRouteStrategy, BatchDeleteRouteStrategy: how a job's runs are
split between workers by percentage.

``StrategyContent`` (Type 3, the only type) is the public API's JSON list of shares::

    [{"percentage": 30, "target": "[\\"blue\\"]", "targetType": "label"},
     {"percentage": 70, "target": ["green"], "targetType": "label"}]

``target`` is a list of labels (``targetType`` "label") or worker addresses ("worker"); the
public example writes it as a string holding a JSON list, and a real JSON list or a
comma-separated string is accepted too. Keys other than these three are ignored. Reading the
JSON is this adapter's; the rules (percentages 0..100 summing to 100, target types, Type,
Status) are the service's (``JobService.set_route_strategy``), and the split is the engine's
(``engine/routing.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tickwork.api.schedulerx.actions.convert import job_of, jobs_of_list, rename_field, sx_names
from tickwork.api.schedulerx.actions.workers import bare_address
from tickwork.api.schedulerx.params import MissingParameter
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain import bounded_json
from tickwork.domain.errors import InvalidParameter, TickworkError
from tickwork.domain.models import ROUTE_BY_PERCENTAGE, RouteEntry, RouteStrategy

CONTENT = "StrategyContent"
# Service fields that are parts of StrategyContent: their errors name StrategyContent.
_CONTENT_FIELDS = frozenset({"entries", "percentage", "target", "target_type"})
_NAMES = {"name": "Name", "type": "Type", "status": "Status"}


@contextmanager
def _strategy_names() -> Iterator[None]:
    """Errors of the service name the SchedulerX parameter: StrategyContent for the
    shares, Name, Type and Status for the rest."""
    try:
        yield
    except TickworkError as exc:
        if exc.field in _CONTENT_FIELDS:
            exc.message = f"{CONTENT}: {exc.message}"
            exc.args = (exc.message,)
            exc.field = CONTENT
        else:
            rename_field(exc, _NAMES)
        raise


def _bad(message: str) -> InvalidParameter:
    return InvalidParameter(f"{CONTENT}: {message}", field=CONTENT)


def _percentage(number: int, value: Any) -> int:
    if isinstance(value, bool):
        raise _bad(f"entry {number}: the percentage must be an integer in 0..100, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise _bad(f"entry {number}: the percentage must be an integer in 0..100, got {value!r}")


def _targets(number: int, value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = bounded_json.loads(text, field=CONTENT)
            except json.JSONDecodeError:
                raise _bad(f"entry {number}: target {value!r} is not a JSON list") from None
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(t, (str, int)) for t in value):
        raise _bad(f"entry {number}: target must be a list of names, got {value!r}")
    return [str(t) for t in value]


def strategy_entries(text: str) -> list[RouteEntry]:
    """The shares of a Type 3 StrategyContent (the service checks their values)."""
    try:
        parsed = bounded_json.loads(text, field=CONTENT)
    except json.JSONDecodeError as exc:
        raise _bad(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(parsed, list):
        raise _bad('must be a JSON list of {"percentage", "target", "targetType"} objects')
    entries: list[RouteEntry] = []
    for number, item in enumerate(parsed, start=1):
        if not isinstance(item, dict):
            raise _bad(f"entry {number} is not an object")
        for key in ("percentage", "target", "targetType"):
            if key not in item:
                raise _bad(f"entry {number} has no {key}")
        target_type = item["targetType"]
        kind = target_type.strip().lower() if isinstance(target_type, str) else repr(target_type)
        targets = _targets(number, item["target"])
        if kind == "worker":  # id@ip:port as GetWorkerList shows it, or ip:port
            targets = [bare_address(t) for t in targets]
        entries.append(
            RouteEntry(
                percentage=_percentage(number, item["percentage"]),
                targets=targets,
                target_type=kind,
            )
        )
    return entries


@action("CreateRouteStrategy")
async def create_route_strategy(call: Call) -> dict[str, Any]:
    """Sets the job's route strategy, replacing the one it had (a job has at most one)."""
    p = call.params
    job = await job_of(call)
    name = p.req("Name")
    given_kind, given_status = p.int("Type"), p.int("Status")
    kind = ROUTE_BY_PERCENTAGE if given_kind is None else given_kind
    status = 1 if given_status is None else given_status
    entries: list[RouteEntry] = []
    if kind == ROUTE_BY_PERCENTAGE:  # another Type: the service refuses it, naming Type
        if not p.has(CONTENT):
            raise MissingParameter(f"{CONTENT} is mandatory for this action", field=CONTENT)
        entries = strategy_entries(p.req(CONTENT))
    strategy = RouteStrategy(name=name, kind=kind, status=status, entries=entries)
    with _strategy_names():
        await call.services.jobs.set_route_strategy(
            call.caller, job.id, strategy, namespace=job.namespace, group_id=job.group_id
        )
    return {"Data": {}}


@action("DeleteRouteStrategy")
async def delete_route_strategy(call: Call) -> dict[str, Any]:
    """Removes the job's route strategy; a job without one is left as it is (no error)."""
    job = await job_of(call)
    if job.route_strategy is not None:
        with sx_names():
            await call.services.jobs.set_route_strategy(
                call.caller, job.id, None, namespace=job.namespace, group_id=job.group_id
            )
    return {}


@action("BatchDeleteRouteStrategy")
async def batch_delete_route_strategy(call: Call) -> dict[str, Any]:
    """Removes the route strategies of every job of JobIdList; all are checked to be in the
    group before any is changed."""
    for job in await jobs_of_list(call):
        if job.route_strategy is not None:
            with sx_names({"job_id": "JobIdList"}):
                await call.services.jobs.set_route_strategy(
                    call.caller, job.id, None, namespace=job.namespace, group_id=job.group_id
                )
    return {}
