"""An agent whose connection drops and comes back keeps its runs (``hello``), with a scripted
agent on a real WebSocket; one that does not come back loses them after the grace."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from runtime_support import wait_for
from websockets.asyncio.client import ClientConnection, connect

from tickwork.worker.protocol import APP_KEY_HEADER, CONNECT_PATH, RESUME_GRACE_S, decode, encode

JOB = {"name": "remote", "job_type": "shell", "content": "echo hi", "time_type": "api"}


def ws_url(api: httpx.AsyncClient, worker_id: str) -> str:
    base = str(api.base_url).replace("http://", "ws://").rstrip("/")
    return (
        f"{base}{CONNECT_PATH}?namespace=default&group=default&worker_id={worker_id}"
        f"&address=agent-{worker_id}:1&concurrency=4"
    )


async def open_agent(api: httpx.AsyncClient, worker_id: str) -> ClientConnection:
    key = (await api.get("/api/v1/namespaces/default/groups/default")).json()["app_key"]
    ws = await connect(ws_url(api, worker_id), additional_headers={APP_KEY_HEADER: key})
    await next_message(ws, "welcome")
    return ws


async def next_message(ws: ClientConnection, op: str) -> dict[str, Any]:
    while True:
        for message in decode(await asyncio.wait_for(ws.recv(), 15)):
            if message["op"] == op:
                return message


async def run_on_agent(api: httpx.AsyncClient, ws: ClientConnection, **fields: Any) -> int:
    job = (await api.post("/api/v1/jobs", json={**JOB, **fields})).json()
    instance = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()
    run = await next_message(ws, "run")
    assert run["request"]["instance_id"] == instance["id"]
    return int(instance["id"])


async def instance_when(api: httpx.AsyncClient, iid: int, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/v1/instances/{iid}")).json()
        return body if body["status"] == status else None

    found: dict[str, Any] = await wait_for(reached, within=RESUME_GRACE_S + 10)
    return found


def finished(iid: int, attempt: int = 0) -> dict[str, Any]:
    return {
        "op": "finished", "instance_id": iid, "attempt": attempt, "status": 4,
        "result": "done once", "at": int(time.time() * 1000),
    }  # fmt: skip


async def test_a_run_survives_a_dropped_connection(api: httpx.AsyncClient) -> None:
    first = await open_agent(api, "blip")
    iid = await run_on_agent(api, first, max_attempt=1)
    # it confirms the start (a silent agent's unconfirmed runs go elsewhere, issue 21)
    started = {"op": "started", "instance_id": iid, "attempt": 0, "at": int(time.time() * 1000)}
    await first.send(encode([started]))
    await first.close()
    await asyncio.sleep(0.5)
    second = await open_agent(api, "blip")  # the same worker, back within the grace
    try:
        await second.send(encode([{"op": "hello", "runs": [[iid, 0]], "tasks": []}]))
        await asyncio.sleep(RESUME_GRACE_S + 0.5)  # past the grace: nothing was given up
        assert (await api.get(f"/api/v1/instances/{iid}")).json()["status"] == "running"
        await second.send(encode([finished(iid)]))
        done = await instance_when(api, iid, "success")
        assert (done["result"], done["attempt"], done["trigger_type"]) == ("done once", 0, "api")
    finally:
        await second.close()


async def test_a_run_the_agent_never_got_runs_again(api: httpx.AsyncClient) -> None:
    first = await open_agent(api, "forgetful")
    iid = await run_on_agent(api, first, max_attempt=1)
    await first.close()
    second = await open_agent(api, "forgetful")
    try:
        # it says it holds nothing: the run is lost and retried at once, here
        await second.send(encode([{"op": "hello", "runs": [], "tasks": []}]))
        retry = await next_message(second, "run")
        assert (retry["request"]["instance_id"], retry["request"]["attempt"]) == (iid, 1)
        assert retry["request"]["trigger_type"] == 5
        await second.send(encode([finished(iid, attempt=1)]))
        done = await instance_when(api, iid, "success")
        assert done["attempt"] == 1 and done["trigger_type"] == "system_retry"
    finally:
        await second.close()


async def test_runs_the_server_no_longer_holds_are_killed(api: httpx.AsyncClient) -> None:
    ws = await open_agent(api, "stale")
    try:
        await ws.send(encode([{"op": "hello", "runs": [[987654, 0]], "tasks": []}]))
        kill = await next_message(ws, "kill")
        assert kill["instance_id"] == 987654
        assert "no longer holds" in kill["reason"]
    finally:
        await ws.close()


async def test_an_agent_that_does_not_come_back_loses_its_runs(api: httpx.AsyncClient) -> None:
    ws = await open_agent(api, "gone")
    iid = await run_on_agent(api, ws)
    await ws.close()
    closed_at = time.monotonic()
    lost = await instance_when(api, iid, "failed")
    assert time.monotonic() - closed_at >= RESUME_GRACE_S - 0.5
    assert "agent-gone:1 was lost" in lost["result"]
    assert f"did not come back within {RESUME_GRACE_S:g} s" in lost["result"]
