"""This server's lease, and adopting what dead servers owned (docs/multi-server.md).

``LeaseKeeper`` registers the server, renews its lease every ``heartbeat_s``, deletes the
servers whose lease expired (database time) and adopts their unfinished instances, handing
them to its ``LeaseHolder`` (the engine's recovery). A server that cannot renew for half its
lease (the database is unreachable, or the process stalled) is **fenced** (``LeaseFence``):
it holds its due fires back instead of releasing them, because the others may be about to
adopt them. If it finds its row deleted (the others took it for dead), it forgets every run it
had not started (they are someone else's now) and registers again.

The lease is short (2 s by default) so that a dead server's planned fires run elsewhere about
a second or two late, well within the misfire threshold (issue 21: with 10 s they ran 9 s late
or were skipped). What makes a short lease safe to judge by: a server declares others dead
only once it has itself renewed without a gap for a whole lease (``LeaseFence.steady_for``).
When the database was down or this process stalled, every server's heartbeat is old at once;
judged at the first beat after, each would adopt the others' work while they carry on with it.
A server that stops cleanly says so (``LEFT_CHANNEL``) and the others adopt at once
(``adopt_now``).
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
"""Orphans are looked for at least every this many heartbeats (and at once whenever a server
expired or left). Instances handed here and not yet taken up are looked for at every beat:
claiming them costs one indexed delete, and a lost notification then costs a beat, not five."""


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
        """Take up instances handed here whose notification was lost (or is still coming)."""


class LeaseFence:
    """True (``fenced``) once the lease went unrenewed for half of it: hold fires back.
    Its own part because the run manager asks it and is built before the lease keeper
    (which calls, through its holder, into the runs). Measured on a monotonic clock: a wall
    clock set back must not lift the fence, nor one set forward raise it.

    A renewal counts from the moment it was **sent** (``renewed(at=...)``), not from its
    answer: the database stamped it in between, and the others count the lease from that
    stamp. Counted from the answer, a loop that stalled while the answer waited would release
    fires past the instant the others may adopt them.

    ``active=False`` (SQLite, one server per database): no other server can adopt anything,
    so holding fires back would only make them late."""

    def __init__(
        self, lease_s: float, *, clock: Callable[[], int] = monotonic_ms, active: bool = True
    ) -> None:
        self._half_ms = lease_s * 500
        self._clock = clock
        self._active = active
        self._renewed_at: int | None = None  # None: no lease held (not started, or stopped)
        self._steady_since: int | None = None  # renewals came without a gap since then

    def now(self) -> int:
        """The fence's clock: when a renewal is sent."""
        return self._clock()

    def renewed(self, at: int | None = None) -> None:
        """The lease was renewed by a request sent at ``at`` (default: now)."""
        at = self._clock() if at is None else at
        if self._renewed_at is None or at - self._renewed_at > self._half_ms:
            self._steady_since = at  # a gap (or the first): the steady run starts again
        self._renewed_at = at

    def released(self) -> None:
        self._renewed_at = None
        self._steady_since = None

    def fenced(self) -> bool:
        if not self._active or self._renewed_at is None:  # nothing to fence
            return False
        return self._clock() - self._renewed_at > self._half_ms

    def steady_for(self, ms: int) -> bool:
        """The lease has been renewed without a gap for ``ms``: this server has seen the
        database, and been seen in it, all along."""
        since = self._steady_since
        return since is not None and self._clock() - since >= ms


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
        self._leaving = False  # stopping: it advertises no workers (nothing is handed here)
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
        sent = self._fence.now()
        await self.store.register_server(self.server_id, self.address)
        self._fence.renewed(sent)
        await self._others.refresh()
        adopted = await self.store.adopt_instances(self.server_id)
        self._task = asyncio.create_task(self._loop(), name="tickwork-lease")
        return adopted

    async def leave(self) -> None:
        """A graceful stop begins: renew once advertising no workers, so that the others hand
        nothing more here (the row stays until ``stop``: runs still go on here)."""
        self._leaving = True
        with contextlib.suppress(Exception):
            await self.store.renew_server(self.server_id, (), {})

    async def adopt_now(self) -> None:
        """Another server left (``LEFT_CHANNEL``): adopt what it still owned, at once."""
        adopted = await self.store.adopt_instances(self.server_id)
        if adopted:
            log.info("adopted %d unfinished instance(s) of a server that left", len(adopted))
            await self._holder.adopt(adopted)

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
        loop = asyncio.get_running_loop()
        took = 0.0
        while True:
            # the next renewal goes a heartbeat after the last one was sent, not a heartbeat
            # after a long beat (adopting a dead server's fires) ended: that would fence
            await asyncio.sleep(max(0.0, self.heartbeat_s - took))
            began = loop.time()
            try:
                await self._holder.step_aside()
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("renewing the lease of server %s failed: %s", self.server_id, exc)
            took = loop.time() - began

    async def beat(self) -> None:
        """Renew, expire the dead, adopt their orphans, take up what was handed here."""
        holder = self._holder
        sent = self._fence.now()
        groups = [] if self._leaving else holder.groups_here()
        agents = {} if self._leaving else holder.agents_here()
        if not await self.store.renew_server(self.server_id, groups, agents):
            log.error(
                "server %s was taken for dead by the others (its lease expired); it forgets "
                "the runs it had not started and registers again",
                self.server_id,
            )
            holder.drop_unlaunched()
            await self.store.register_server(self.server_id, self.address)
        self._fence.renewed(sent)
        self._beats += 1
        if self._leaving:  # it keeps its lease while its runs end, and takes nothing more
            return
        expired: list[str] = []
        if self._fence.steady_for(self.lease_ms):  # see the module's docstring
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
        await holder.take_up_missed()
