"""What this server knows of the other live servers, as of its last lease beat
(docs/multi-server.md): which are alive, and which have worker agents of which app groups.

Hand-offs ask it where a run could go; the lease keeper refreshes it each beat. It is its own
part so that both can be built without the other (the lease keeper calls the hand-offs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tickwork.domain.models import WorkerInfo
from tickwork.store.abc import ServerRow

__all__ = ["STALE_BEATS", "OtherServers", "ServerRows"]

STALE_BEATS = 3
"""A server whose heartbeat is this many beats behind the newest gets no hand-offs."""


class ServerRows(Protocol):
    """What the view reads of the store."""

    async def live_servers(self) -> Sequence[ServerRow]: ...


class OtherServers:
    def __init__(self, store: ServerRows, server_id: str, *, heartbeat_s: float) -> None:
        self._store = store
        self._server_id = server_id
        self._heartbeat_s = heartbeat_s
        # "namespace/group" -> the other live servers with worker agents of that group
        self.elsewhere: dict[str, list[str]] = {}
        # "namespace/group" -> (server id, agent) of the agents connected to the other servers
        self.agents_elsewhere: dict[str, list[tuple[str, WorkerInfo]]] = {}
        self.alive: set[str] = set()  # the ids of the live servers (this one included)
        self._heard: list[str] = []  # the other servers that beat lately, oldest first
        self._turn = 0

    async def refresh(self) -> None:
        """Learn which other servers have worker agents of which app groups."""
        elsewhere: dict[str, list[str]] = {}
        agents: dict[str, list[tuple[str, WorkerInfo]]] = {}
        rows = await self._store.live_servers()
        self.alive = {row.id for row in rows}
        # A server silent for a few heartbeats is probably gone: hand it nothing more, even
        # before its lease expires (its row was just renewed or not, in database time).
        newest = max((row.heartbeat_at for row in rows), default=0)
        stale_ms = max(STALE_BEATS * self._heartbeat_s * 1000, 1000)
        self._heard = [
            row.id
            for row in rows
            if row.id != self._server_id and newest - row.heartbeat_at <= stale_ms
        ]
        for row in rows:
            if row.id in self._heard:
                for group in row.groups:
                    elsewhere.setdefault(group, []).append(row.id)
                for group, found in row.workers.items():
                    agents.setdefault(group, []).extend((row.id, w) for w in found)
        self.elsewhere = elsewhere
        self.agents_elsewhere = agents

    def server_for(self, namespace: str, group_id: str) -> str | None:
        """Another live server with worker agents of the group (the longest running)."""
        servers = self.elsewhere.get(f"{namespace}/{group_id}")
        return servers[0] if servers else None

    def any_other(self) -> str | None:
        """Another live server, in turn (None: none is): where this server's work goes when
        it stops and no server is better placed for it."""
        if not self._heard:
            return None
        self._turn += 1
        return self._heard[self._turn % len(self._heard)]

    def workers_elsewhere(self, namespace: str, group_id: str) -> list[WorkerInfo]:
        """The agents of the group connected to the other live servers (as of the last beat)."""
        return [w for _, w in self.agents_elsewhere.get(f"{namespace}/{group_id}", [])]

    def server_with(
        self, namespace: str, group_id: str, allowed: Callable[[WorkerInfo], bool]
    ) -> str | None:
        """Another live server with an agent of the group that ``allowed`` accepts."""
        for server_id, worker in self.agents_elsewhere.get(f"{namespace}/{group_id}", []):
            if allowed(worker):
                return server_id
        return None
