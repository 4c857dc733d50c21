"""Shared helpers of integration tests (importable by name: tests/integration is on sys.path)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn

from tickwork.api.app import create_app
from tickwork.domain.enums import InstanceStatus, JobType, TimeType
from tickwork.domain.models import Instance, Job
from tickwork.domain.queries import InstanceFilter
from tickwork.server import Runtime, uvicorn_options
from tickwork.service.rights import SYSTEM

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"


async def wait_for(
    check: Callable[[], Awaitable[Any]], within: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll until ``check`` returns something truthy; fail with the last value otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    value = None
    while asyncio.get_running_loop().time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s (last value: {value!r})")


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
    page = await rt.services.instances.find(SYSTEM, InstanceFilter(job_id=job_id, page_size=1000))
    return sorted(page.items, key=lambda i: i.id)


async def final(rt: Runtime, instance_id: int) -> Instance | None:
    inst = await rt.services.instances.get(SYSTEM, instance_id)
    return inst if InstanceStatus(inst.status).is_final else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def served(rt: Runtime) -> AsyncIterator[str]:
    """Serve the real app of ``rt`` on a loopback port; its base URL."""
    port = free_port()
    options = uvicorn_options(rt.settings)
    options.pop("loop")  # the test's own loop
    config = uvicorn.Config(
        create_app(rt.services, settings=rt.settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
