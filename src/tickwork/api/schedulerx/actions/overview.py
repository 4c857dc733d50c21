"""GetOverview: counts of an app group's jobs and instances.

**Decision**: ``Data`` is a JSON text (as the SDK model has it, a plain string) holding
``jobs``, ``enabledJobs`` and ``instances`` (by status name) of the namespace and group given.
"""

from __future__ import annotations

import json
from typing import Any

from tickwork.api.schedulerx.registry import Call, action
from tickwork.domain.enums import InstanceStatus, JobStatus
from tickwork.store.abc import InstanceFilter, JobFilter


@action("GetOverview")
async def get_overview(call: Call) -> dict[str, Any]:
    p = call.params
    namespace, group_id = p.req("Namespace"), p.str("GroupId") or None
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
    data = {"jobs": jobs.total, "enabledJobs": enabled.total, "instances": instances}
    return {"Data": json.dumps(data, separators=(",", ":"))}
