"""A server with no worker of its own (--no-worker): runs wait for an agent, up to a bound."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest
from runtime_support import wait_for
from websockets.asyncio.client import connect

from tickwork.settings import Settings
from tickwork.worker.protocol import APP_KEY_HEADER, CONNECT_PATH, decode, encode

JOB = {"name": "waits", "job_type": "shell", "content": "echo hi", "time_type": "api"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, no_worker=True, worker_wait_s=1.5)


async def status_of(api: httpx.AsyncClient, iid: int) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/api/v1/instances/{iid}")).json()
    return body


async def test_a_run_with_no_live_worker_fails_after_the_bound(api: httpx.AsyncClient) -> None:
    job = (await api.post("/api/v1/jobs", json=JOB)).json()
    iid = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()["id"]
    assert (await status_of(api, iid))["status"] == "running"  # waiting for a worker

    async def failed() -> dict[str, Any] | None:
        body = await status_of(api, iid)
        return body if body["status"] == "failed" else None

    body = await wait_for(failed)
    assert "no worker available" in body["result"] and "1.5 s" in body["result"]
    metrics = (await api.get("/metrics")).text
    assert "tickwork_runs_no_worker_total 1.0" in metrics


async def test_a_waiting_run_goes_to_the_agent_that_connects(api: httpx.AsyncClient) -> None:
    job = (await api.post("/api/v1/jobs", json=JOB)).json()
    iid = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()["id"]
    key = (await api.get("/api/v1/namespaces/default/groups/default")).json()["app_key"]
    base = str(api.base_url).replace("http://", "ws://").rstrip("/")
    url = f"{base}{CONNECT_PATH}?namespace=default&group=default&worker_id=w&address=late:1"
    async with connect(url, additional_headers={APP_KEY_HEADER: key}) as ws:
        run = None
        while run is None:
            for message in decode(await ws.recv()):
                if message["op"] == "run":
                    run = message["request"]
        assert run["instance_id"] == iid
        await ws.send(
            encode(
                [
                    {"op": "started", "instance_id": iid, "attempt": 0, "at": 1},
                    {
                        "op": "finished",
                        "instance_id": iid,
                        "attempt": 0,
                        "status": 4,
                        "result": "late",
                        "at": 2,
                    },
                ]
            )
        )

        async def succeeded() -> dict[str, Any] | None:
            body = await status_of(api, iid)
            return body if body["status"] == "success" else None

        body = await wait_for(succeeded)
        assert (body["worker"], body["result"]) == ("late:1", "late")


async def test_a_waiting_run_can_be_stopped(api: httpx.AsyncClient) -> None:
    job = (await api.post("/api/v1/jobs", json=JOB)).json()
    iid = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()["id"]
    stopped = (await api.post(f"/api/v1/instances/{iid}/stop")).json()
    assert stopped["status"] == "killed"


async def test_a_reconnecting_agent_gets_waiting_runs_only_after_its_hello(
    api: httpx.AsyncClient,
) -> None:
    """Issue 21: a run waiting for a worker went to a reconnecting agent before its hello was
    read, so the hello did not name it and it was counted lost while the agent ran it."""
    key = (await api.get("/api/v1/namespaces/default/groups/default")).json()["app_key"]
    base = str(api.base_url).replace("http://", "ws://").rstrip("/")
    url = f"{base}{CONNECT_PATH}?namespace=default&group=default&worker_id=back&address=back:1"

    async def next_run(ws: Any, within: float) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for message in decode(await ws.recv()):
                    if message["op"] == "run":
                        found: dict[str, Any] = message["request"]
                        return found

    first_job = (await api.post("/api/v1/jobs", json=JOB)).json()
    async with connect(url, additional_headers={APP_KEY_HEADER: key}) as ws:
        await ws.send(encode([{"op": "hello", "runs": [], "tasks": []}]))
        held = (await api.post(f"/api/v1/jobs/{first_job['id']}/run")).json()["id"]
        assert (await next_run(ws, 5))["instance_id"] == held
    waiting_job = (await api.post("/api/v1/jobs", json=JOB)).json()
    waiting = (await api.post(f"/api/v1/jobs/{waiting_job['id']}/run")).json()["id"]
    async with connect(url, additional_headers={APP_KEY_HEADER: key}) as ws:
        with pytest.raises(TimeoutError):  # nothing before its hello is settled
            await next_run(ws, 0.4)
        await ws.send(encode([{"op": "hello", "runs": [[held, 0]], "tasks": []}]))
        assert (await next_run(ws, 5))["instance_id"] == waiting
        for iid in (held, waiting):  # neither was counted lost
            assert (await status_of(api, iid))["status"] == "running"
