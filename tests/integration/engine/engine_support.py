"""Small builders for engine tests."""

from __future__ import annotations

from typing import Any

from tickwork.domain.enums import InstanceStatus, JobType, TimeType
from tickwork.domain.models import Instance, Job
from tickwork.server import Runtime
from tickwork.store.abc import InstanceFilter


def shell_job(
    content: str, time_type: TimeType = TimeType.API, expression: str = "", **fields: Any
) -> Job:
    return Job(
        namespace="default",
        group_id="default",
        name=fields.pop("name", "test"),
        job_type=JobType.SHELL,
        time_type=time_type,
        time_expression=expression,
        content=content,
        **fields,
    )


async def instances(rt: Runtime, job_id: int) -> list[Instance]:
    page = await rt.services.instances.find(InstanceFilter(job_id=job_id, page_size=1000))
    return sorted(page.items, key=lambda i: i.id)


async def final(rt: Runtime, instance_id: int) -> Instance | None:
    inst = await rt.services.instances.get(instance_id)
    return inst if InstanceStatus(inst.status).is_final else None
