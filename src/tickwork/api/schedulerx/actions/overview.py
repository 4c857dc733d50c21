"""GetOverview: counts of an app group's jobs and instances, and its runs over time.

``Data`` is a JSON text (as the SDK model has it, a plain string), by ``MetricType`` and
``Operate`` (docs/schedulerx.md, "GetOverview"):

- MetricType 0 (or none), the basic figures: ``jobs``, ``enabledJobs`` and ``instances`` (by
  status name) of the namespace and group given;
- MetricType 1, Operate ``query``: the runs of [StartTime, EndTime], ``triggered``,
  ``success``, ``failed``;
- MetricType 1, Operate ``query_range``: the same interval by interval, ``points`` of
  ``{time, triggered, success, failed}`` every ``step`` seconds.

The counting is the service's (service/overview.py); this module reads and writes fields.
"""

from __future__ import annotations

import json
from typing import Any

from tickwork.api.schedulerx.actions.convert import epoch_ms, sx_names
from tickwork.api.schedulerx.params import MissingParameter
from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.enums import InstanceStatus, JobStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.queries import InstanceFilter, JobFilter
from tickwork.service.overview import RunPoint

_OPERATES = ("query", "query_range")
_NAMES = {"start_time": "StartTime", "end_time": "EndTime"}


@action("GetOverview")
async def get_overview(call: Call) -> dict[str, Any]:
    p = call.params
    namespace, group_id = p.req("Namespace"), p.str("GroupId") or None
    metric = p.int("MetricType", 0)
    operate = (p.str("Operate") or "query").strip()
    if operate not in _OPERATES:
        raise InvalidParameter(
            f"Operate must be query or query_range, got {operate!r}", field="Operate"
        )
    if metric == 0:
        data = await _basic(call, namespace, group_id)
    elif metric == 1:
        data = await _runs(call, namespace, group_id, operate)
    else:
        raise InvalidParameter(
            f"MetricType must be 0 (jobs) or 1 (runs), got {metric}", field="MetricType"
        )
    return {"Data": json.dumps(data, separators=(",", ":"))}


async def _runs(call: Call, namespace: str, group_id: str | None, operate: str) -> dict[str, Any]:
    start = epoch_ms(call.params, "StartTime")
    if start is None:
        raise MissingParameter("StartTime is mandatory with MetricType 1", field="StartTime")
    end = epoch_ms(call.params, "EndTime", end=True)
    overview = call.services.overview
    with sx_names(_NAMES):
        if operate == "query":
            total = await overview.run_totals(call.caller, namespace, group_id, start, end)
            return {
                "start": total.start // 1000,
                "end": total.end // 1000,
                **_counts(total.points[0]),
            }
        series = await overview.run_series(call.caller, namespace, group_id, start, end)
    return {
        "start": series.start // 1000,
        "end": series.end // 1000,
        "step": series.step // 1000,
        "points": [{"time": point.time // 1000, **_counts(point)} for point in series.points],
    }


def _counts(point: RunPoint) -> dict[str, int]:
    return {"triggered": point.triggered, "success": point.success, "failed": point.failed}


async def _basic(call: Call, namespace: str, group_id: str | None) -> dict[str, Any]:
    svc = call.services
    jobs = await svc.jobs.find(
        call.caller, JobFilter(namespace=namespace, group_id=group_id, page_size=1)
    )
    enabled = await svc.jobs.find(
        call.caller,
        JobFilter(
            namespace=namespace, group_id=group_id, status=int(JobStatus.ENABLED), page_size=1
        ),
    )
    instances: dict[str, int] = {}
    for status in InstanceStatus:
        page = await svc.instances.find(
            call.caller,
            InstanceFilter(namespace=namespace, group_id=group_id, statuses=[status], page_size=1),
        )
        if page.total:
            instances[status.name.lower()] = page.total
    return {"jobs": jobs.total, "enabledJobs": enabled.total, "instances": instances}
