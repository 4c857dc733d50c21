"""This server's lease, and adopting what dead servers owned (docs/multi-server.md).

``LeaseKeeper`` registers the server, renews its lease every ``heartbeat_s``, deletes the
servers whose lease expired (database time) and adopts their unfinished instances, handing
them to ``take_over`` (the engine's recovery). A server that cannot renew for half its lease
(the database is unreachable, or the process stalled) is **fenced**: it holds its due fires
back instead of releasing them, because the others may be about to adopt them. If it finds its
row deleted (the others took it for dead), it forgets every run it had not started (they are
someone else's now) and registers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tickwork.domain.models import Instance, WorkerInfo
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

__all__ = ["ADOPT_EVERY", "STALE_BEATS", "LeaseKeeper"]

ADOPT_EVERY = 5
"""Orphans, and instances handed here whose notification was lost, are looked for at least
every this many heartbeats (orphans also whenever a server expired)."""
STALE_BEATS = 3
"""A server whose heartbeat is this many beats behind the newest gets no hand-offs."""


class LeaseKeeper:
    def __init__(
        self,
        store: Store,
        server_id: str,
        address: str,
        *,
        lease_s: float,
        heartbeat_s: float,
        take_over: Callable[[list[Instance]], Awaitable[None]],
        drop_unlaunched: Callable[[], None],
        groups_here: Callable[[], list[str]] = list,
        agents_here: Callable[[], dict[str, list[WorkerInfo]]] = dict,
        sweep: Callable[[], Awaitable[None]] | None = None,
        learned: Callable[[], Awaitable[None]] | None = None,
        step_aside: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.server_id = server_id
        self.address = address
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self._take_over = take_over
        self._drop_unlaunched = drop_unlaunched
        self._groups_here = groups_here
        self._agents_here = agents_here
        self._sweep = sweep
        self._learned = learned  # called after each beat has read the others' workers
        self._step_aside = step_aside  # awaited before each beat (lets due fires go first)
        # "namespace/group" -> the other live servers with worker agents of that group
        self.elsewhere: dict[str, list[str]] = {}
        # "namespace/group" -> (server id, agent) of the agents connected to the other servers
        self.agents_elsewhere: dict[str, list[tuple[str, WorkerInfo]]] = {}
        self.alive: set[str] = set()  # the ids of the live servers (as of the last beat)
        self._renewed_at = 0.0  # loop time of the last renewal
        self._task: asyncio.Task[None] | None = None
        self._beats = 0

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)

    def fenced(self) -> bool:
        """True when the lease was not renewed for half of it: hold fires back."""
        if self._task is None:  # not started (or stopped): nothing to fence
            return False
        loop = asyncio.get_running_loop()
        return loop.time() - self._renewed_at > self.lease_s / 2

    async def start(self, *, single_server: bool) -> list[Instance]:
        """Register; on a single-server database every other row is a dead predecessor.
        Returns the instances adopted at once (for recovery)."""
        await self.store.expire_servers(0 if single_server else self.lease_ms)
        await self.store.register_server(self.server_id, self.address)
        self._renewed_at = asyncio.get_running_loop().time()
        await self.refresh()
        adopted = await self.store.adopt_instances(self.server_id)
        self._task = asyncio.create_task(self._loop(), name="tickwork-lease")
        return adopted

    async def refresh(self) -> None:
        """Learn which other servers have worker agents of which app groups."""
        elsewhere: dict[str, list[str]] = {}
        agents: dict[str, list[tuple[str, WorkerInfo]]] = {}
        rows = await self.store.live_servers()
        self.alive = {row.id for row in rows}
        # A server silent for a few heartbeats is probably gone: hand it nothing more, even
        # before its lease expires (its row was just renewed or not, in database time).
        newest = max((row.heartbeat_at for row in rows), default=0)
        stale_ms = max(STALE_BEATS * self.heartbeat_s * 1000, 1000)
        for row in rows:
            if row.id != self.server_id and newest - row.heartbeat_at <= stale_ms:
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

    async def stop(self) -> None:
        """Stop renewing and leave: what this server still owns is adopted by the others."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.store.unregister_server(self.server_id)
        except Exception:
            log.warning("could not unregister server %s; its lease will expire", self.server_id)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                if self._step_aside is not None:
                    await self._step_aside()
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("renewing the lease of server %s failed: %s", self.server_id, exc)

    async def beat(self) -> None:
        """Renew, expire the dead, adopt their orphans."""
        if not await self.store.renew_server(
            self.server_id, self._groups_here(), self._agents_here()
        ):
            log.error(
                "server %s was taken for dead by the others (its lease expired); it forgets "
                "the runs it had not started and registers again",
                self.server_id,
            )
            self._drop_unlaunched()
            await self.store.register_server(self.server_id, self.address)
        self._renewed_at = asyncio.get_running_loop().time()
        self._beats += 1
        expired = await self.store.expire_servers(self.lease_ms, keep=self.server_id)
        await self.refresh()
        if self._learned is not None:
            await self._learned()
        if expired:
            log.warning("server(s) %s expired; adopting what they held", ", ".join(expired))
        if expired or self._beats % ADOPT_EVERY == 0:
            adopted = await self.store.adopt_instances(self.server_id)
            if adopted:
                log.info("adopted %d unfinished instance(s)", len(adopted))
                await self._take_over(adopted)
        if self._sweep is not None and self._beats % ADOPT_EVERY == 0:
            await self._sweep()
