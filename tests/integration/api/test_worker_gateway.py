"""The worker gateway with a scripted agent: a real WebSocket client on loopback speaking
worker/protocol.py (the agent process itself is tested in tests/acceptance)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from runtime_support import wait_for
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tickwork.worker.protocol import (
    APP_KEY_HEADER,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CONNECT_PATH,
    decode,
    encode,
)

JOB = {"name": "remote", "job_type": "shell", "content": "echo hi", "time_type": "api"}

SERVER_WORKER = re.compile(r"127\.0\.0\.1:\d+")  # the server's own worker


def ws_url(api: httpx.AsyncClient, address: str = "agent-1:7001") -> str:
    base = str(api.base_url).replace("http://", "ws://").rstrip("/")
    return (
        f"{base}{CONNECT_PATH}?namespace=default&group=default&worker_id=w1"
        f"&address={address}&labels=a,b&version=test&concurrency=4"
    )


async def app_key(api: httpx.AsyncClient) -> str:
    return str((await api.get("/api/v1/namespaces/default/groups/default")).json()["app_key"])


async def next_message(ws: ClientConnection, op: str) -> dict[str, Any]:
    while True:
        for message in decode(await asyncio.wait_for(ws.recv(), 10)):
            if message["op"] == op:
                return message


async def test_a_wrong_app_key_is_refused(api: httpx.AsyncClient) -> None:
    async with connect(ws_url(api), additional_headers={APP_KEY_HEADER: "wrong"}) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CLOSE_FORBIDDEN
    assert "wrong AppKey" in closed.value.rcvd.reason


async def test_a_frame_nested_too_deep_closes_the_socket_with_a_code(
    api: httpx.AsyncClient,
) -> None:
    headers = {APP_KEY_HEADER: await app_key(api)}
    async with connect(ws_url(api), additional_headers=headers) as ws:
        await next_message(ws, "welcome")
        await ws.send('{"messages": [' + "[" * 100_000 + "]" * 100_000 + "]}")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CLOSE_BAD_REQUEST
    assert "nested deeper than 64" in closed.value.rcvd.reason
    assert (await api.get("/healthz")).status_code == 200


async def test_runs_of_the_group_go_to_its_agent(api: httpx.AsyncClient) -> None:
    key = await app_key(api)
    async with connect(ws_url(api), additional_headers={APP_KEY_HEADER: key}) as ws:
        assert (await next_message(ws, "welcome"))["worker_id"] == "w1"
        workers = (await api.get("/api/v1/namespaces/default/groups/default/workers")).json()
        remote = [w for w in workers["items"] if not w["in_process"]]
        assert [(w["address"], w["labels"]) for w in remote] == [("agent-1:7001", ["a", "b"])]

        job = (await api.post("/api/v1/jobs", json=JOB)).json()
        instance = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()
        run = await next_message(ws, "run")
        request = run["request"]
        assert (request["instance_id"], request["content"]) == (instance["id"], "echo hi")
        iid, attempt = request["instance_id"], request["attempt"]
        await ws.send(
            encode(
                [
                    {"op": "started", "instance_id": iid, "attempt": attempt, "at": 1},
                    {"op": "log", "instance_id": iid, "attempt": attempt, "at": 2, "line": "hi"},
                    {
                        "op": "finished",
                        "instance_id": iid,
                        "attempt": attempt,
                        "status": 4,
                        "result": "hi",
                        "at": 3,
                    },
                ]
            )
        )

        async def done() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get(f"/api/v1/instances/{iid}")).json()
            return body if body["status"] == "success" else None

        finished = await wait_for(done)
        assert (finished["worker"], finished["result"]) == ("agent-1:7001", "hi")
        logs = (await api.get(f"/api/v1/instances/{iid}/logs")).json()
        assert [line["line"] for line in logs["items"]] == ["hi"]


async def test_a_lost_agent_fails_the_runs_it_held(api: httpx.AsyncClient) -> None:
    key = await app_key(api)
    job = (await api.post("/api/v1/jobs", json=JOB)).json()
    async with connect(ws_url(api, "agent-2:7002"), additional_headers={APP_KEY_HEADER: key}) as ws:
        await next_message(ws, "welcome")
        instance = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()
        await next_message(ws, "run")
    # the socket is gone: the run it held fails, naming the worker

    async def failed() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/v1/instances/{instance['id']}")).json()
        return body if body["status"] == "failed" else None

    lost = await wait_for(failed)
    assert "agent-2:7002 was lost" in lost["result"]
    # with no agent left, the group's runs go to the server's own worker again
    again = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()

    async def local_success() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/v1/instances/{again['id']}")).json()
        return body if body["status"] == "success" else None

    # the server's own worker, named ip:port as the server listens
    assert SERVER_WORKER.fullmatch((await wait_for(local_success))["worker"])


async def test_a_lost_run_with_attempts_left_is_a_system_retry_elsewhere(
    api: httpx.AsyncClient,
) -> None:
    key = await app_key(api)
    job = (await api.post("/api/v1/jobs", json={**JOB, "max_attempt": 1})).json()
    async with connect(ws_url(api, "agent-3:7003"), additional_headers={APP_KEY_HEADER: key}) as ws:
        await next_message(ws, "welcome")
        instance = (await api.post(f"/api/v1/jobs/{job['id']}/run")).json()
        await next_message(ws, "run")
    # the agent is gone with the run: it runs again at once on the server's own worker

    async def retried() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/v1/instances/{instance['id']}")).json()
        return body if body["status"] == "success" else None

    done = await wait_for(retried)
    assert done["trigger_type"] == "system_retry" and done["trigger_type_code"] == 5
    assert done["attempt"] == 1 and SERVER_WORKER.fullmatch(done["worker"])
    logs = (await api.get(f"/api/v1/instances/{instance['id']}/logs")).json()["items"]
    assert any("system retry" in line["line"] for line in logs)
