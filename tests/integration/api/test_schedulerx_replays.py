"""A signed SchedulerX call is accepted once: its replay is refused after the server restarts
and by another server of the same database (the real app on loopback).

Calls are signed with the official SDK's own helpers (alibabacloud_tea_openapi), never with
tickwork's code, and replayed byte for byte as an eavesdropper would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest
from runtime_support import ADMIN_ID, ADMIN_SECRET, instances, served

from tickwork.server import Runtime
from tickwork.settings import Settings

V3 = "ACS3-HMAC-SHA256"


def v3_call(action: str, query: dict[str, str]) -> dict[str, Any]:
    """ACS3-HMAC-SHA256 (the signature in headers), as the V3 client builds it."""
    request = DaraRequest()
    request.method = "GET"
    request.pathname = "/"
    request.query = dict(query)
    request.headers = {
        "host": "tickwork.example:9700",
        "x-acs-version": "2019-04-30",
        "x-acs-action": action,
        "x-acs-date": Utils.get_timestamp(),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "x-acs-content-sha256": Utils.hash(b"", V3).hex(),
        "accept": "application/json",
    }
    request.headers["Authorization"] = Utils.get_authorization(
        request, V3, request.headers["x-acs-content-sha256"], ADMIN_ID, ADMIN_SECRET
    )
    return {"method": "GET", "url": "/", "params": request.query, "headers": request.headers}


def v1_call(action: str, query: dict[str, str]) -> dict[str, Any]:
    """Signature V1, HMAC-SHA1 (the signature in the query), as the SDKs compute it."""
    params = {
        "Action": action,
        "Format": "JSON",
        "Version": "2019-04-30",
        "Timestamp": Utils.get_timestamp(),
        "SignatureNonce": Utils.get_nonce(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": ADMIN_ID,
        **query,
    }
    params["Signature"] = Utils.get_rpcsignature(dict(params), "GET", ADMIN_SECRET)
    return {"method": "GET", "url": "/", "params": params}


async def send(base_url: str, call: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await client.request(**call)


def accepted(response: httpx.Response) -> dict[str, Any]:
    answer: dict[str, Any] = response.json()
    assert response.status_code == 200 and answer["Success"] is True, answer
    return answer


def refused_as_replay(response: httpx.Response) -> None:
    answer = response.json()
    assert response.status_code == 400, answer
    assert answer["Code"] == "SignatureNonceUsed" and answer["Success"] is False, answer


async def execute_calls(base_url: str) -> tuple[int, list[dict[str, Any]]]:
    """A job (made through the native API), and a signed ExecuteJob call of it in each
    signature."""
    async with httpx.AsyncClient(base_url=base_url, auth=(ADMIN_ID, ADMIN_SECRET)) as api:
        created = await api.post(
            "/api/v1/jobs",
            json={"name": "replayed", "job_type": "shell", "content": "true", "time_type": "api"},
        )
    assert created.status_code == 201, created.text
    job_id = int(created.json()["id"])
    query = {"Namespace": "default", "GroupId": "default", "JobId": str(job_id)}
    return job_id, [v3_call("ExecuteJob", query), v1_call("ExecuteJob", query)]


async def test_a_signed_call_is_refused_after_the_server_restarts(
    runtime: Runtime, restart: Callable[..., Awaitable[Runtime]]
) -> None:
    async with served(runtime) as base_url:
        job_id, calls = await execute_calls(base_url)
        for call in calls:
            accepted(await send(base_url, call))
    await runtime.stop()
    again = await restart()
    try:
        async with served(again) as base_url:
            for call in calls:
                refused_as_replay(await send(base_url, call))
            # signed afresh, the same calls go through
            fresh = [v3_call("DescribeRegions", {}), v1_call("DescribeRegions", {})]
            for call in fresh:
                accepted(await send(base_url, call))
        assert len(await instances(again, job_id)) == 2  # one run per accepted call
    finally:
        await again.stop()


@pytest.mark.postgres
async def test_a_call_accepted_by_one_server_is_refused_by_another(
    runtime: Runtime, settings: Settings
) -> None:
    if not settings.database_url:
        pytest.skip("SQLite has one server")
    second = await Runtime.start(replace(settings, home=f"{settings.home}-second"))
    try:
        async with served(runtime) as first_url, served(second) as second_url:
            job_id, calls = await execute_calls(first_url)
            for call in calls:
                accepted(await send(first_url, call))
                refused_as_replay(await send(second_url, call))
                refused_as_replay(await send(first_url, call))
            # and the other way round
            for call in (v3_call("DescribeRegions", {}), v1_call("DescribeRegions", {})):
                accepted(await send(second_url, call))
                refused_as_replay(await send(first_url, call))
        assert len(await instances(runtime, job_id)) == 2
    finally:
        await second.stop()
