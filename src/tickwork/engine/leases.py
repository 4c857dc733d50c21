"""This server's lease, and adopting what dead servers owned (docs/multi-server.md).

``LeaseKeeper`` registers the server, renews its lease every ``heartbeat_s``, deletes the
servers whose lease expired (database time) and adopts their unfinished instances, handing
them to its ``LeaseHolder`` (the engine's recovery). A server that cannot renew for half its
lease (the database is unreachable, or the process stalled) is **fenced** (``LeaseFence``):
it holds its due fires back instead of releasing them, because the others may be about to
adopt them. If it finds its row deleted (the others took it for dead), it forgets every run it
had not started (they are someone else's now) and registers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from tickwork.clock import monotonic_ms
from tickwork.domain.models import Instance, WorkerInfo
from tickwork.engine.peers import OtherServers

log = logging.getLogger(__name__)

__all__ = ["ADOPT_EVERY", "LeaseFence", "LeaseHolder", "LeaseKeeper", "LeaseStore"]

ADOPT_EVERY = 5
"""Orphans, and instances handed here whose notification was lost, are looked for at least
every this many heartbeats (orphans also whenever a server expired)."""


class LeaseStore(Protocol):
    """What the lease keeper reads and writes of the store."""

    async def register_server(self, server_id: str, address: str) -> None: ...

    async def renew_server(
        self,
        server_id: str,
        groups: Sequence[str] = (),
        workers: Mapping[str, Sequence[WorkerInfo]] | None = None,
    ) -> bool: ...

    async def unregister_server(self, server_id: str) -> None: ...

    async def expire_servers(self, lease_ms: int, keep: str | None = None) -> list[str]: ...

    async def adopt_instances(self, server_id: str) -> list[Instance]: ...


class LeaseHolder(Protocol):
    """What the lease keeper asks of the engine at each beat."""

    async def step_aside(self) -> None:
        """Before a beat, which holds the loop on SQLite: let fires due now go first."""

    async def adopt(self, instances: list[Instance]) -> None:
        """Carry on with the unfinished instances just adopted from dead servers."""

    def drop_unlaunched(self) -> None:
        """This server was taken for dead: forget the runs it had not started."""

    def groups_here(self) -> list[str]:
        """``namespace/group`` of the worker agents connected here (recorded with the lease)."""

    def agents_here(self) -> dict[str, list[WorkerInfo]]:
        """The agents connected here, by ``namespace/group`` (recorded with the lease)."""

    async def hand_off_parked(self) -> None:
        """Runs waiting here for a worker go where one is (after each beat learned where)."""

    async def take_up_missed(self) -> None:
        """Take up instances handed here whose notification was lost."""


class LeaseFence:
    """True (``fenced``) once the lease went unrenewed for half of it: hold fires back.
    Its own part because the run manager asks it and is built before the lease keeper
    (which calls, through its holder, into the runs). Measured on a monotonic clock: a wall
    clock set back must not lift the fence, nor one set forward raise it."""

    def __init__(self, lease_s: float, *, clock: Callable[[], int] = monotonic_ms) -> None:
        self._half_ms = lease_s * 500
        self._clock = clock
        self._renewed_at: int | None = None  # None: no lease held (not started, or stopped)

    def renewed(self) -> None:
        self._renewed_at = self._clock()

    def released(self) -> None:
        self._renewed_at = None

    def fenced(self) -> bool:
        if self._renewed_at is None:  # not started (or stopped): nothing to fence
            return False
        return self._clock() - self._renewed_at > self._half_ms


class LeaseKeeper:
    def __init__(
        self,
        store: LeaseStore,
        server_id: str,
        address: str,
        *,
        lease_s: float,
        heartbeat_s: float,
        fence: LeaseFence,
        others: OtherServers,
        holder: LeaseHolder,
    ) -> None:
        self.store = store
        self.server_id = server_id
        self.address = address
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self._fence = fence
        self._others = others  # refreshed at each beat
        self._holder = holder
        self._task: asyncio.Task[None] | None = None
        self._beats = 0

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)

    async def start(self, *, single_server: bool) -> list[Instance]:
        """Register; on a single-server database every other row is a dead predecessor.
        Returns the instances adopted at once (for recovery)."""
        await self.store.expire_servers(0 if single_server else self.lease_ms)
        await self.store.register_server(self.server_id, self.address)
        self._fence.renewed()
        await self._others.refresh()
        adopted = await self.store.adopt_instances(self.server_id)
        self._task = asyncio.create_task(self._loop(), name="tickwork-lease")
        return adopted

    async def stop(self) -> None:
        """Stop renewing and leave: what this server still owns is adopted by the others."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._fence.released()
        try:
            await self.store.unregister_server(self.server_id)
        except Exception:
            log.warning("could not unregister server %s; its lease will expire", self.server_id)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._holder.step_aside()
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("renewing the lease of server %s failed: %s", self.server_id, exc)

    async def beat(self) -> None:
        """Renew, expire the dead, adopt their orphans."""
        holder = self._holder
        if not await self.store.renew_server(
            self.server_id, holder.groups_here(), holder.agents_here()
        ):
            log.error(
                "server %s was taken for dead by the others (its lease expired); it forgets "
                "the runs it had not started and registers again",
                self.server_id,
            )
            holder.drop_unlaunched()
            await self.store.register_server(self.server_id, self.address)
        self._fence.renewed()
        self._beats += 1
        expired = await self.store.expire_servers(self.lease_ms, keep=self.server_id)
        await self._others.refresh()
        await holder.hand_off_parked()  # the beat has just learned where the workers are
        if expired:
            log.warning("server(s) %s expired; adopting what they held", ", ".join(expired))
        if expired or self._beats % ADOPT_EVERY == 0:
            adopted = await self.store.adopt_instances(self.server_id)
            if adopted:
                log.info("adopted %d unfinished instance(s)", len(adopted))
                await holder.adopt(adopted)
        if self._beats % ADOPT_EVERY == 0:
            await holder.take_up_missed()
