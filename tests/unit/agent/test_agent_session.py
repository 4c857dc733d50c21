"""The agent against an in-test WebSocket server that speaks the protocol (no tickwork server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from tickwork.agent.agent import Agent, AgentRefused
from tickwork.agent.options import AgentOptions
from tickwork.domain.enums import ExecuteMode, InstanceStatus, JobType, TimeType, TriggerType
from tickwork.worker.abc import RunRequest
from tickwork.worker.protocol import (
    APP_KEY_HEADER,
    CLOSE_FORBIDDEN,
    CONNECT_PATH,
    Message,
    decode,
    encode,
    request_to_wire,
)

pytestmark = pytest.mark.timeout(60)


def shell(instance_id: int, content: str, attempt: int = 0) -> Message:
    request = RunRequest(
        instance_id=instance_id,
        job_id=1,
        job_name="j",
        namespace="default",
        group_id="default",
        job_type=JobType.SHELL,
        execute_mode=ExecuteMode.STANDALONE,
        time_type=TimeType.API,
        trigger_type=TriggerType.API,
        schedule_time=0,
        data_time=0,
        attempt=attempt,
        max_attempt=0,
        content=content,
    )
    return {"op": "run", "request": request_to_wire(request)}


@dataclass
class Session:
    ws: ServerConnection
    path: str
    query: dict[str, list[str]]
    app_key: str | None
    frames: list[list[Message]] = field(default_factory=list)
    frame_sizes: list[int] = field(default_factory=list)  # bytes of each frame received
    inbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)

    async def send(self, *messages: Message) -> None:
        await self.ws.send(encode(list(messages)))

    async def next(self, op: str) -> Message:
        async with asyncio.timeout(15):
            while True:
                message = await self.inbox.get()
                if message["op"] == op:
                    return message

    async def until_finished(self, instance_id: int) -> list[Message]:
        """Every message of ``instance_id`` up to its ``finished``."""
        seen: list[Message] = []
        async with asyncio.timeout(15):
            while True:
                message = await self.inbox.get()
                if message.get("instance_id") == instance_id:
                    seen.append(message)
                    if message["op"] == "finished":
                        return seen


class FakeServer:
    """Accepts agents; ``on_connect`` decides what happens to each connection."""

    def __init__(self) -> None:
        self.sessions: asyncio.Queue[Session] = asyncio.Queue()
        self.on_connect: Callable[[Session], Awaitable[None]] | None = None
        self.welcome = True  # answer each connection with a welcome (the agent waits for it)
        self.server: Server | None = None
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        session = Session(
            ws, parts.path, parse_qs(parts.query), ws.request.headers.get(APP_KEY_HEADER)
        )
        await self.sessions.put(session)
        if self.welcome:
            with contextlib.suppress(Exception):
                await session.send({"op": "welcome", "worker_id": "fake"})
        if self.on_connect is not None:
            await self.on_connect(session)
        with contextlib.suppress(Exception):
            async for frame in ws:
                session.frame_sizes.append(len(frame.encode() if isinstance(frame, str) else frame))
                messages = decode(frame)
                session.frames.append(messages)
                for message in messages:
                    session.inbox.put_nowait(message)

    async def next_session(self) -> Session:
        async with asyncio.timeout(15):
            return await self.sessions.get()


@contextlib.asynccontextmanager
async def fake_server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        fake.server = server
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        yield fake


def options(*servers: str, **changes: Any) -> AgentOptions:
    values: dict[str, Any] = {
        "servers": servers,
        "app_key": "the-key",
        "labels": ("a", "b"),
        "concurrency": 4,
        "address": "test-agent:1",
        "drain_timeout": 5.0,
    }
    values.update(changes)
    return AgentOptions(**values)


@contextlib.asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(agent.run(handle_signals=False))
    try:
        yield task
    finally:
        if not task.done():
            agent.drain()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(20):
                    await task


async def test_connects_runs_a_job_and_drains() -> None:
    lines: list[str] = []
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lines.append)
        async with running(agent) as task:
            session = await fake.next_session()
            assert session.path == CONNECT_PATH
            assert session.app_key == "the-key"
            assert session.query["namespace"] == ["default"]
            assert session.query["group"] == ["default"]
            assert session.query["address"] == ["test-agent:1"]
            assert session.query["labels"] == ["a,b"]
            assert session.query["concurrency"] == ["4"]
            assert session.query["worker_id"] == [agent.options.worker_id]
            hello = await session.next("hello")
            assert hello == {"op": "hello", "runs": [], "tasks": []}  # it holds nothing yet
            heartbeat = await session.next("heartbeat")
            assert (heartbeat["running"], heartbeat["concurrency"]) == (0, 4)
            await session.send({"op": "welcome", "worker_id": agent.options.worker_id})
            await session.send(shell(7, "echo hello; echo world"))
            seen = await session.until_finished(7)
            ops = [m["op"] for m in seen]
            assert ops[0] == "started" and ops[-1] == "finished"
            assert [m["line"] for m in seen if m["op"] == "log"] == ["hello", "world"]
            done = seen[-1]
            assert (done["status"], done["attempt"]) == (int(InstanceStatus.SUCCESS), 0)
            assert lines == [
                f"tickwork worker test-agent:1 connected to {fake.url} as default/default"
            ]
            agent.drain()
            async with asyncio.timeout(10):
                await task
            assert session.ws.close_code == 1001


async def test_many_runs_share_frames() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url, concurrency=64), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            await session.send(*(shell(100 + n, "true") for n in range(50)))
            for _ in range(50):
                await session.next("finished")
            messages = sum(len(f) for f in session.frames)
            assert messages >= 100  # 50 started + 50 finished (and heartbeats)
            assert len(session.frames) < messages / 2  # batched, not a frame per message


async def test_kill_ends_a_run_with_the_reason() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            await session.send(shell(8, "sleep 30"))
            await session.next("started")
            await session.send({"op": "kill", "instance_id": 8, "reason": "stopped by alice"})
            done = await session.next("finished")
            assert (done["instance_id"], done["status"]) == (8, int(InstanceStatus.KILLED))
            assert done["result"] == "stopped by alice"


async def test_forbidden_close_ends_the_agent() -> None:
    async with fake_server() as fake:

        async def refuse(session: Session) -> None:
            await session.ws.close(CLOSE_FORBIDDEN, "wrong AppKey for default/default")

        fake.on_connect = refuse
        agent = Agent(options(fake.url), announce=lambda _: None)
        with pytest.raises(AgentRefused, match="wrong AppKey for default/default"):
            async with asyncio.timeout(10):
                await agent.run(handle_signals=False)
        assert fake.sessions.qsize() == 1  # no retry


async def test_reconnects_to_the_next_server_and_resends_what_waited() -> None:
    lines: list[str] = []
    async with fake_server() as first, fake_server() as second:
        agent = Agent(options(first.url, second.url), announce=lines.append)
        async with running(agent):
            one = await first.next_session()
            await one.send(shell(9, "sleep 1; echo late"))
            await one.next("started")
            assert first.server is not None
            first.server.close()  # the first server goes away mid-run
            two = await second.next_session()
            # first on the new connection: what it holds (the run still going)
            assert await two.next("hello") == {"op": "hello", "runs": [[9, 0]], "tasks": []}
            assert two.frames[0][0]["op"] == "hello"
            seen = await two.until_finished(9)
            assert [m["line"] for m in seen if m["op"] == "log"] == ["late"]
            assert seen[-1]["status"] == int(InstanceStatus.SUCCESS)
            assert lines == [
                f"tickwork worker test-agent:1 connected to {first.url} as default/default",
                f"tickwork worker test-agent:1 connected to {second.url} as default/default",
            ]


async def test_unreachable_server_is_skipped() -> None:
    async with fake_server() as fake:
        dead = "http://127.0.0.1:1"  # nothing listens on port 1
        agent = Agent(options(dead, fake.url), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            await session.next("heartbeat")


async def test_drain_refuses_new_runs_and_kills_the_slow_ones() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url, drain_timeout=0.5), announce=lambda _: None)
        async with running(agent) as task:
            session = await fake.next_session()
            await session.send(shell(10, "sleep 30"))
            await session.next("started")
            agent.drain()
            await session.send(shell(11, "echo never"))
            refused = await session.next("finished")
            assert refused["instance_id"] == 11
            assert refused["status"] == int(InstanceStatus.FAILED)
            assert refused["result"] == "worker test-agent:1 is draining"
            killed = await session.next("finished")
            assert (killed["instance_id"], killed["status"]) == (10, int(InstanceStatus.KILLED))
            async with asyncio.timeout(20):
                await task


async def test_bad_messages_are_ignored() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            await session.ws.send("not json")
            await session.send(
                {"op": "run", "request": {"instance_id": 1}},
                {"op": "kill", "instance_id": "x"},
                {"op": "mystery"},
                shell(12, "echo ok"),
            )
            done = await session.next("finished")
            assert (done["instance_id"], done["status"]) == (12, int(InstanceStatus.SUCCESS))


def test_frames_are_json_batches() -> None:
    assert json.loads(encode([{"op": "heartbeat"}])) == {"messages": [{"op": "heartbeat"}]}


async def test_hello_names_runs_whose_outcome_waits_to_be_sent() -> None:
    async with fake_server() as first, fake_server() as second:
        agent = Agent(options(first.url, second.url), announce=lambda _: None)
        async with running(agent):
            one = await first.next_session()
            await one.send(shell(12, "sleep 1; echo done"))
            await one.next("started")
            assert first.server is not None
            first.server.close()
            await asyncio.sleep(1.5)  # it ends while the agent has no connection
            two = await second.next_session()
            assert await two.next("hello") == {"op": "hello", "runs": [[12, 0]], "tasks": []}
            assert two.frames[0][0]["op"] == "hello"
            assert (await two.until_finished(12))[-1]["status"] == int(InstanceStatus.SUCCESS)


async def test_the_servers_log_limits_cut_what_the_agent_sends() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            limits = {"max_bytes": 0, "max_lines": 20}
            await session.send(
                {"op": "welcome", "worker_id": agent.options.worker_id, "log_limits": limits},
                shell(8, "seq 1 1000"),
            )
            seen = await session.until_finished(8)
    sent = [m["line"] for m in seen if m["op"] == "log"]
    assert sent == [str(n) for n in range(1, 19)] + ["999", "1000"]  # head, then tail
    done = seen[-1]
    assert (done["op"], done["result"]) == ("finished", "1000")
    assert done["log_dropped"] == [980, sum(len(f"{n}\n") for n in range(19, 999))]


async def test_frames_stay_small_when_a_run_prints_long_lines() -> None:
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None)
        async with running(agent):
            session = await fake.next_session()
            await session.send(
                {"op": "welcome", "worker_id": agent.options.worker_id},  # no limits: all
                shell(9, "head -c 16000000 /dev/zero | tr '\\0' x"),
            )
            seen = await session.until_finished(9)
    assert sum(len(m["line"]) for m in seen if m["op"] == "log") == 16_000_000
    assert max(session.frame_sizes) <= 1024 * 1024 + 20_000  # about a MiB, never 16 MiB
