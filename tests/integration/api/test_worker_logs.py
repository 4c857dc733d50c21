"""A worker agent's run logs: the server holds every agent to its cap (one that sends every
line as much as one that cuts its own copy), and tells agents the cap so they send less."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

import httpx
import pytest
from runtime_support import wait_for
from websockets.asyncio.client import ClientConnection, connect

from tickwork.agent.agent import Agent
from tickwork.agent.options import AgentOptions
from tickwork.server import Runtime
from tickwork.settings import Settings
from tickwork.worker.protocol import APP_KEY_HEADER, CONNECT_PATH, Message, decode, encode

TRUNCATED = "[tickwork] log truncated: "


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, run_log_max_lines=100, run_log_max_bytes=0)


async def app_key(api: httpx.AsyncClient) -> str:
    return str((await api.get("/api/v1/namespaces/default/groups/default")).json()["app_key"])


async def next_message(ws: ClientConnection, op: str) -> Message:
    while True:
        for message in decode(await asyncio.wait_for(ws.recv(), 10)):
            if message["op"] == op:
                return message


async def ended(api: httpx.AsyncClient, iid: int) -> tuple[dict[str, Any], list[str]]:
    async def final() -> dict[str, Any] | None:
        found: dict[str, Any] = (await api.get(f"/api/v1/instances/{iid}")).json()
        return found if found["status"] in ("success", "failed") else None

    instance = await wait_for(final, within=60)
    logs = (await api.get(f"/api/v1/instances/{iid}/logs", params={"limit": 1000})).json()
    return instance, [item["line"] for item in logs["items"]]


async def test_an_agent_sending_every_line_is_held_to_the_cap(api: httpx.AsyncClient) -> None:
    base = str(api.base_url).replace("http://", "ws://").rstrip("/")
    url = f"{base}{CONNECT_PATH}?worker_id=w1&address=chatty:1&concurrency=4"
    async with connect(url, additional_headers={APP_KEY_HEADER: await app_key(api)}) as ws:
        welcome = await next_message(ws, "welcome")
        assert welcome["log_limits"] == {"max_bytes": 0, "max_lines": 100}
        job = {"name": "remote", "job_type": "shell", "content": "seq 1 1000", "time_type": "api"}
        created = (await api.post("/api/v1/jobs", json=job)).json()
        iid = (await api.post(f"/api/v1/jobs/{created['id']}/run")).json()["id"]
        request = (await next_message(ws, "run"))["request"]
        assert request["instance_id"] == iid
        lines: list[Message] = [
            {"op": "log", "instance_id": iid, "attempt": 0, "at": n, "line": str(n)}
            for n in range(1, 1001)
        ]
        await ws.send(encode([{"op": "started", "instance_id": iid, "attempt": 0, "at": 0}]))
        for start in range(0, 1000, 250):
            await ws.send(encode(lines[start : start + 250]))
        finished = {"op": "finished", "instance_id": iid, "attempt": 0, "status": 4, "at": 1001}
        await ws.send(encode([{**finished, "result": "1000"}]))
        instance, stored = await ended(api, iid)
    assert instance["result"] == "1000"
    assert stored[:90] == [str(n) for n in range(1, 91)]
    assert stored[90].startswith(f"{TRUNCATED}900 lines")
    assert stored[91:] == [str(n) for n in range(991, 1001)]


async def test_an_agent_cuts_its_copy_and_the_server_counts_what_it_dropped(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    received: list[Message] = []
    hub = runtime.engine.agents
    handle = hub.handle

    def counting(agent: Any, message: Message) -> None:  # what came over the socket
        received.append(message)
        handle(agent, message)

    hub.handle = counting  # type: ignore[method-assign]
    options = AgentOptions(
        servers=(str(api.base_url),), app_key=await app_key(api), address="cutter:1"
    )
    agent = Agent(options, announce=lambda _: None)
    running = asyncio.create_task(agent.run(handle_signals=False))
    try:
        await asyncio.wait_for(agent.wait_connected(), 30)
        job = {
            "name": "remote-printer",
            "job_type": "shell",
            "time_type": "api",
            "content": 'for n in $(seq 1 10000); do echo "line $n"; done',
        }
        created = (await api.post("/api/v1/jobs", json=job)).json()
        iid = (await api.post(f"/api/v1/jobs/{created['id']}/run")).json()["id"]
        instance, stored = await ended(api, iid)
    finally:
        agent.drain()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 30)
    assert instance["worker"] == "cutter:1"
    assert stored[:90] == [f"line {n}" for n in range(1, 91)]
    assert stored[90].startswith(f"{TRUNCATED}9,900 lines (95.8 KiB) dropped here")
    assert stored[91:] == [f"line {n}" for n in range(9991, 10001)]
    sent = [m for m in received if m.get("op") == "log" and m.get("instance_id") == iid]
    assert len(sent) == 100  # the head and the tail: nothing the server would drop
    done = [m for m in received if m.get("op") == "finished" and m.get("instance_id") == iid]
    assert done[0]["log_dropped"] == [9_900, 98_082]
