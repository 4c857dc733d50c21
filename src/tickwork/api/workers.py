"""The worker gateway: ``tickwork worker`` agents connect here over a WebSocket
(``worker/protocol.py``), and messages move between the socket and the engine's AgentHub."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from tickwork.domain.errors import InvalidParameter, TickworkError
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.engine.agents import Agent
from tickwork.service.services import Services
from tickwork.worker.messages import Welcome, encode_messages
from tickwork.worker.protocol import (
    APP_KEY_HEADER,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    DEAD_AFTER_S,
    decode,
    job_types_from_wire,
)

log = logging.getLogger(__name__)


async def connect(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    query = websocket.query_params
    namespace = query.get("namespace") or "default"
    group_id = query.get("group") or "default"
    await websocket.accept()
    worker_id, address = query.get("worker_id", ""), query.get("address", "")
    if not worker_id or not address:
        await websocket.close(CLOSE_BAD_REQUEST, "worker_id and address are required")
        return
    try:
        await services.namespaces.verify_app_key(
            namespace, group_id, websocket.headers.get(APP_KEY_HEADER, "")
        )
        concurrency = int(query.get("concurrency") or 1)
    except TickworkError as exc:
        await websocket.close(CLOSE_FORBIDDEN, exc.message[:120])
        return
    except ValueError:
        await websocket.close(CLOSE_BAD_REQUEST, "concurrency must be a whole number")
        return
    labels = tuple(x.strip() for x in (query.get("labels") or "").split(",") if x.strip())
    agent = Agent(
        worker_id=worker_id,
        namespace=namespace,
        group_id=group_id,
        address=address,
        labels=labels,
        version=query.get("version", ""),
        concurrency=max(concurrency, 1),
        job_types=job_types_from_wire(query.get("job_types")) or OWN_TYPE_NAMES,
        # the agent's IP as this server sees it (GetWorkerList's Ip when its address has none)
        ip=websocket.client.host if websocket.client is not None else "",
    )
    hub = services.engine.agents
    runs = services.engine.runs
    lease_s = hub.timing.lease_s
    agent.send(Welcome(worker_id, runs.log_limits, hub.timing))
    sender = asyncio.create_task(_send(websocket, agent))
    # An agent coming back for runs it held joins only with its hello (its first frame):
    # the hello settles what it holds before anything, waiting runs included, is routed to
    # it. A new one joins at once: it holds nothing to settle.
    joined = not hub.reconnecting(agent)
    if joined:
        hub.add(agent)
    reason = "connection closed"
    try:
        while True:
            try:
                frame = await asyncio.wait_for(websocket.receive_text(), lease_s)
            except TimeoutError:
                reason = f"silent for {lease_s:g} s"
                break
            try:
                messages = decode(frame)
            except InvalidParameter as exc:
                reason = exc.message
                with contextlib.suppress(Exception):  # the agent learns why, with a code
                    await websocket.close(CLOSE_BAD_REQUEST, reason[:120])
                break
            if joined:
                for message in messages:
                    hub.handle(agent, message)
            else:
                hub.join(agent, messages)
                joined = True
            await _wait_for_room(runs.log_room())
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        if joined:
            hub.disconnected(agent, reason)
        with contextlib.suppress(Exception):
            await websocket.close()


ROOM_WAIT_S = DEAD_AFTER_S / 2
"""While the writer is behind, a frame is read at least this often all the same: the
connection stays alive (pings are answered as frames are read) through a stalled database."""


async def _wait_for_room(room: asyncio.Future[None] | None) -> None:
    """The lines received wait to be written: read no more frames until they are (the
    agent's runs then wait on their output), or for ``ROOM_WAIT_S`` at most."""
    if room is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(room), ROOM_WAIT_S)


async def _send(websocket: WebSocket, agent: Agent) -> None:
    while True:
        await agent.wake.wait()
        agent.wake.clear()
        batch, agent.outbox = agent.outbox, []
        if batch:
            await websocket.send_text(encode_messages(batch))
