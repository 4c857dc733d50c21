"""Every job type the in-process worker runs, end to end through the engine and the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from runtime_support import final, wait_for

from tickwork.domain.enums import InstanceStatus, JobType, TimeType
from tickwork.domain.models import Instance, Job
from tickwork.domain.queries import LogQuery
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM


def job(job_type: JobType, **fields: object) -> Job:
    return Job(
        namespace="default",
        group_id="default",
        name=f"{job_type.value}-job",
        job_type=job_type,
        time_type=TimeType.API,
        **fields,
    )  # type: ignore[arg-type]


async def run_once(rt: Runtime, spec: Job, params: str = "") -> tuple[Instance, list[str]]:
    created = await rt.services.jobs.create(SYSTEM, spec)
    inst, _ = await rt.services.jobs.trigger(SYSTEM, created.id, instance_parameters=params)
    done: Instance = await wait_for(lambda: final(rt, inst.id))
    lines, _ = await rt.services.instances.logs(SYSTEM, LogQuery(instance_id=inst.id))
    return done, [line.line for line in lines]


async def test_python_script(runtime: Runtime) -> None:
    done, lines = await run_once(
        runtime,
        job(
            JobType.PYTHON,
            content="import os\nprint(os.environ['TICKWORK_INSTANCE_PARAMETERS'])\nprint(6 * 7)",
        ),
        params="p",
    )
    assert done.status == InstanceStatus.SUCCESS
    assert done.result == "42"
    assert lines == ["p", "42"]


async def test_processor_with_progress_logs_and_data_time(runtime: Runtime) -> None:
    spec = job(
        JobType.PROCESSOR,
        class_name="engine_processors:Reports",
        parameters="jp",
        data_offset=-3600,
    )
    done, lines = await run_once(runtime, spec, params="ip")
    assert done.status == InstanceStatus.SUCCESS
    jp, ip, data_time = done.result.split("|")
    assert (jp, ip) == ("jp", "ip")
    expected = datetime.fromtimestamp(done.schedule_time / 1000 - 3600, UTC)
    assert datetime.fromisoformat(data_time) == expected
    assert done.data_time == done.schedule_time - 3_600_000
    assert done.progress == "2/2 done"
    assert any("working on ip" in line for line in lines)


async def test_processor_failure_fails_the_instance(runtime: Runtime) -> None:
    done, _ = await run_once(runtime, job(JobType.PROCESSOR, class_name="engine_processors:Fails"))
    assert (done.status, done.result) == (InstanceStatus.FAILED, "no luck")


@pytest.fixture
async def http_target() -> AsyncIterator[str]:
    """A real HTTP server on loopback answering JSON with the body it received."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        body = (await reader.readexactly(length)).decode() if length else ""
        payload = json.dumps({"code": "200", "got": body}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
            + payload
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/hook"


async def test_http_job_posts_parameters_and_checks_the_response(
    runtime: Runtime, http_target: str
) -> None:
    content = json.dumps(
        {"url": http_target, "method": "POST", "timeout": 5, "respKey": "code", "respValue": "200"}
    )
    done, lines = await run_once(runtime, job(JobType.HTTP, content=content, parameters="a=1&b=2"))
    assert done.status == InstanceStatus.SUCCESS, done
    assert json.loads(done.result)["got"] == "a=1&b=2"
    assert lines


async def test_http_job_with_an_unexpected_answer_fails(runtime: Runtime, http_target: str) -> None:
    content = json.dumps(
        {"url": http_target, "method": "GET", "respKey": "code", "respValue": "500"}
    )
    done, _ = await run_once(runtime, job(JobType.HTTP, content=content))
    assert done.status == InstanceStatus.FAILED


async def test_command_job(runtime: Runtime) -> None:
    done, lines = await run_once(
        runtime, job(JobType.COMMAND, command="printf", command_args=["%s\\n", "a b"])
    )
    assert (done.status, done.result) == (InstanceStatus.SUCCESS, "a b")
    assert lines == ["a b"]
