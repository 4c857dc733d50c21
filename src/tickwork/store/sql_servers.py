"""Server leases: which servers are alive, and who owns each unfinished instance.

Every server registers a row in ``servers`` and renews its ``heartbeat_at`` every second or
so. Heartbeats are stamped with the **database's** clock (PostgreSQL's
``clock_timestamp()``), so servers whose clocks disagree still agree on who is alive. A server
whose heartbeat is older than the lease is dead: its row is deleted, and the unfinished
instances it owned (planned fires, runs, retries) are adopted by a live server in one
``UPDATE ... RETURNING`` (concurrent adopters cannot both win a row: PostgreSQL re-checks the
condition on the row it waited for). A server that stops cleanly deletes its row and says so
(``NOTIFY tickwork_left``), so the others adopt what it left at once. Instances handed from one
live server to another are recorded in ``hand_offs`` until taken up, and taking one up deletes
its row: it is taken once. See docs/multi-server.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa

from tickwork.clock import now_ms
from tickwork.domain.enums import FINAL_STATUSES, InstanceStatus
from tickwork.domain.models import Instance, WorkerInfo
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.store import codec
from tickwork.store.abc import (
    HANDOFF_CHANNEL,
    JOB_CHANNEL,
    LEFT_CHANNEL,
    STOP_CHANNEL,
    ServerRow,
)
from tickwork.store.connection import StoreConnection
from tickwork.store.sql_base import SqlBase, chunks
from tickwork.store.tables import hand_offs, instances, servers

__all__ = ["SqlServers"]
LISTEN_RETRY_S = 1.0
NOTIFY_IDS = 300
"""Instance ids per hand-off notification: 300 of up to 20 digits and a comma, with the server
id, stay under PostgreSQL's 8000 bytes."""

log = logging.getLogger(__name__)


class SqlServers(SqlBase):
    def _db_now(self) -> sa.ColumnElement[int]:
        """Now, in epoch milliseconds, by the database's clock (PostgreSQL) or this
        process's (SQLite, which serves one server)."""
        if self.dialect == "postgresql":
            return sa.cast(
                sa.func.floor(sa.extract("epoch", sa.func.clock_timestamp()) * 1000),
                sa.BigInteger,
            )
        return sa.literal(now_ms(), sa.BigInteger)

    async def register_server(self, server_id: str, address: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.insert(servers).values(
                    id=server_id,
                    address=address,
                    started_at=self._db_now(),
                    heartbeat_at=self._db_now(),
                )
            )

    async def renew_server(
        self,
        server_id: str,
        groups: Sequence[str] = (),
        workers: Mapping[str, Sequence[WorkerInfo]] | None = None,
    ) -> bool:
        """Renew the lease and say which app groups have workers here, and which. False when
        the row is gone: the others took this server for dead."""
        listed = {key: [_worker_json(w) for w in found] for key, found in (workers or {}).items()}
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(servers)
                .where(servers.c.id == server_id)
                .values(
                    heartbeat_at=self._db_now(),
                    groups=json.dumps(sorted(groups)),
                    workers=json.dumps(listed, sort_keys=True),
                )
            )
        return bool(result.rowcount)

    async def unregister_server(self, server_id: str) -> None:
        """A clean stop: what it still owns is adopted by the others at once (they are told
        on ``LEFT_CHANNEL``, at commit); hand-offs it had not taken up go with it."""
        async with self._write() as conn:
            await conn.execute(sa.delete(servers).where(servers.c.id == server_id))
            await conn.execute(sa.delete(hand_offs).where(hand_offs.c.to_server == server_id))
            if self.dialect == "postgresql":
                await conn.execute(sa.select(sa.func.pg_notify(LEFT_CHANNEL, server_id)))

    async def expire_servers(self, lease_ms: int, keep: str | None = None) -> list[str]:
        """Delete the servers whose heartbeat is older than ``lease_ms`` (all but ``keep``
        when ``lease_ms`` is 0); their ids."""
        condition: sa.ColumnElement[bool] = servers.c.heartbeat_at < self._db_now() - lease_ms
        if lease_ms <= 0:
            condition = sa.true()
        if keep is not None:
            condition = sa.and_(condition, servers.c.id != keep)
        async with self._write() as conn:
            rows = (
                await conn.execute(sa.delete(servers).where(condition).returning(servers.c.id))
            ).all()
            gone = [str(row.id) for row in rows]
            if gone:  # what was handed to them is adopted with the rest they owned
                await conn.execute(sa.delete(hand_offs).where(hand_offs.c.to_server.in_(gone)))
        return gone

    async def live_servers(self) -> list[ServerRow]:
        """The registered servers, oldest first."""
        async with self._read() as conn:
            rows = (await conn.execute(sa.select(servers).order_by(servers.c.started_at))).all()
        return [
            ServerRow(
                r.id,
                r.address,
                r.started_at,
                r.heartbeat_at,
                tuple(json.loads(r.groups)),
                _workers_from(r.workers, r.address),
            )
            for r in rows
        ]

    async def hand_off(
        self, instance_ids: Sequence[int], to_server: str, *, unstarted: bool = False
    ) -> list[int]:
        """Give unfinished instances this server owns to ``to_server`` (and tell it); the ids
        that moved (one that ended, or moved, meanwhile stays). ``unstarted``: they are runs
        released here that no worker took (each waited for a worker of its group), stored
        RUNNING: they go back to waiting as the attempt before theirs left them (attempt 0:
        not started; attempt n: attempt n-1 ended, a retry is due), so the new owner runs that
        very attempt."""
        if not instance_ids:
            return []
        done = [int(x) for x in FINAL_STATUSES]
        update = sa.update(instances).where(
            instances.c.id.in_(list(instance_ids)),
            instances.c.owner == self.server_id,
            instances.c.status.not_in(done),
        )
        if unstarted:
            first = instances.c.attempt == 0
            update = update.where(instances.c.status == int(InstanceStatus.RUNNING)).values(
                status=int(InstanceStatus.WAITING),
                attempt=sa.case((first, 0), else_=instances.c.attempt - 1),
                start_time=sa.case((first, None), else_=instances.c.start_time),
            )
        async with self._write() as conn:
            moved = [
                int(i)
                for i in (
                    await conn.execute(update.values(owner=to_server).returning(instances.c.id))
                )
                .scalars()
                .all()
            ]
            await self._record_hand_offs(conn, to_server, moved)
            await self._notify(conn, to_server, moved)
        return moved

    async def notify_owner(self, server_id: str, instance_ids: Sequence[int]) -> None:
        """Tell ``server_id`` it owns these instances now (PostgreSQL; SQLite has one server).
        The hand-off itself was recorded with the owner (``create_instances``): recorded
        again here, after the new owner may have taken it up, it would be taken up twice."""
        async with self._write() as conn:
            await self._notify(conn, server_id, instance_ids)

    async def _record_hand_offs(self, conn: StoreConnection, to: str, ids: list[int]) -> None:
        """A hand-off waits in ``hand_offs`` until ``to`` takes it up (``take_up_handed``),
        recorded in the transaction that gives the instance its new owner; one handed on again
        before it was taken up now waits for its new owner."""
        for part in chunks(ids):
            await conn.execute(sa.delete(hand_offs).where(hand_offs.c.instance_id.in_(part)))
            await conn.execute(
                sa.insert(hand_offs), [{"instance_id": i, "to_server": to} for i in part]
            )

    async def take_up_handed(
        self, server_id: str, instance_ids: Sequence[int] | None = None
    ) -> list[Instance]:
        """Claim the hand-offs to ``server_id`` (those of ``instance_ids``; None: all) and
        return their instances that it still owns unfinished, by id. The claim deletes the
        hand-off rows in the same statement that finds them, so of two callers (the
        notification and the sweep for lost ones) only one gets each instance."""
        claim = sa.delete(hand_offs).where(hand_offs.c.to_server == server_id)
        parts: list[Sequence[int] | None] = (
            [None] if instance_ids is None else list(chunks(sorted(set(instance_ids))))
        )
        found: list[Instance] = []
        async with self._write() as conn:
            for part in parts:
                stmt = claim if part is None else claim.where(hand_offs.c.instance_id.in_(part))
                taken = (await conn.execute(stmt.returning(hand_offs.c.instance_id))).scalars()
                found.extend(await self._still_owned(conn, server_id, [int(i) for i in taken]))
        return sorted(found, key=lambda i: i.id)

    async def _still_owned(
        self, conn: StoreConnection, server_id: str, ids: list[int]
    ) -> list[Instance]:
        if not ids:
            return []
        stmt = sa.select(instances).where(
            instances.c.id.in_(ids),
            instances.c.owner == server_id,
            instances.c.status.not_in([int(s) for s in FINAL_STATUSES]),
        )
        rows = (await conn.execute(stmt)).mappings().all()
        return [codec.instance_from(r) for r in rows]

    async def _notify(self, conn: StoreConnection, server_id: str, ids: Sequence[int]) -> None:
        if self.dialect != "postgresql":
            return
        # ``server:id,id,...`` in payloads under PostgreSQL's 8000 bytes, delivered at commit
        for start in range(0, len(ids), NOTIFY_IDS):
            part = ids[start : start + NOTIFY_IDS]
            payload = f"{server_id}:{','.join(str(i) for i in part)}"
            await conn.execute(sa.select(sa.func.pg_notify(HANDOFF_CHANNEL, payload)))

    async def notify_stop(self, server_id: str, instance_id: int, by: str) -> None:
        """Ask ``server_id`` (the owner) to stop an instance (PostgreSQL NOTIFY)."""
        if self.dialect != "postgresql":
            return
        async with self._write() as conn:
            payload = f"{server_id}:{instance_id}:{by}".encode()[:7000].decode(errors="ignore")
            await conn.execute(sa.select(sa.func.pg_notify(STOP_CHANNEL, payload)))

    async def notify_job(self, server_id: str, job_id: int, schedule_changed: bool) -> None:
        if self.dialect != "postgresql":
            return
        async with self._write() as conn:
            payload = f"{server_id}:{job_id}:{int(schedule_changed)}"
            await conn.execute(sa.select(sa.func.pg_notify(JOB_CHANNEL, payload)))

    async def listen(self, handlers: Mapping[str, Callable[[str], None]]) -> Callable[[], None]:
        """Call ``handlers[channel](payload)`` for each notification on those channels, on a
        connection of its own (reopened when it drops). Returns what stops listening."""
        if self.dialect != "postgresql":
            return lambda: None
        url = self._url.set(drivername="postgresql").render_as_string(hide_password=False)

        def on_notify(_conn: object, _pid: int, channel: str, payload: str) -> None:
            handler = handlers.get(channel)
            if handler is not None:
                handler(payload)

        async def keep_listening() -> None:
            while True:
                try:
                    conn = await asyncpg.connect(url, timeout=10)
                except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                    log.warning("listening for notifications failed (%s); retrying", exc)
                    await asyncio.sleep(LISTEN_RETRY_S)
                    continue
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                try:
                    for channel in handlers:
                        await conn.add_listener(channel, on_notify)
                    await lost.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
                log.warning("the listening connection dropped; reconnecting")
                await asyncio.sleep(LISTEN_RETRY_S)

        task = asyncio.create_task(keep_listening(), name="tickwork-listener")

        def stop() -> None:
            task.cancel()

        return stop

    async def get_instances(self, instance_ids: Sequence[int]) -> list[Instance]:
        found: list[Instance] = []
        async with self._read() as conn:
            for part in chunks(sorted(set(instance_ids))):
                stmt = sa.select(instances).where(instances.c.id.in_(part))
                rows = (await conn.execute(stmt.order_by(instances.c.id))).mappings().all()
                found.extend(codec.instance_from(r) for r in rows)
        return found  # by id: the chunks are in id order

    async def adopt_instances(self, server_id: str) -> list[Instance]:
        """Take over the unfinished instances no live server owns (their owner's lease
        expired, or they have none); oldest first."""
        orphaned = sa.or_(
            instances.c.owner.is_(None),
            instances.c.owner.not_in(sa.select(servers.c.id).scalar_subquery()),
        )
        stmt = (
            sa.update(instances)
            .where(instances.c.status.not_in([int(s) for s in FINAL_STATUSES]), orphaned)
            .values(owner=server_id)
            .returning(*instances.c)
        )
        async with self._write() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return sorted((codec.instance_from(r) for r in rows), key=lambda i: i.id)


def _worker_json(w: WorkerInfo) -> dict[str, Any]:
    return {
        "address": w.address,
        "worker_id": w.worker_id,
        "labels": list(w.labels),
        "version": w.version,
        "running": w.running,
        "concurrency": w.concurrency,
        "connected_at": w.connected_at,
        "job_types": sorted(w.job_types),  # absent (servers before it): tickwork's own
        "ip": w.ip,
        "metrics": None if w.metrics is None else w.metrics.to_wire(),
    }


def _workers_from(text: str, server: str) -> dict[str, tuple[WorkerInfo, ...]]:
    """The agents a server row lists, by group; each marked with that server's address."""
    listed = json.loads(text or "{}")
    return {
        str(key): tuple(
            WorkerInfo(
                address=str(w["address"]),
                worker_id=str(w["worker_id"]),
                labels=tuple(str(label) for label in w.get("labels", [])),
                version=str(w.get("version", "")),
                running=int(w.get("running", 0)),
                concurrency=int(w.get("concurrency", 0)),
                in_process=False,
                connected_at=int(w.get("connected_at", 0)),
                server=server,
                job_types=frozenset(str(t) for t in w.get("job_types", [])),
                metrics=WorkerMetrics.from_wire(w.get("metrics")),
                ip=str(w.get("ip", "")),
            )
            for w in found
        )
        for key, found in listed.items()
    }
