"""Instances of ``SqlStore``: the hot path (fires, status updates); logs are sql_logs.py's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import sqlalchemy as sa

from tickwork.domain.enums import FINAL_STATUSES, InstanceStatus
from tickwork.domain.errors import Conflict, JobNotFound
from tickwork.domain.models import Instance, InstanceUpdate, Page
from tickwork.domain.queries import InstanceFilter
from tickwork.store import codec
from tickwork.store.connection import StoreConnection
from tickwork.store.sql_base import (
    SqlBase,
    check_not_negative,
    check_page,
    chunks,
    now_ms,
    within_scopes,
)
from tickwork.store.tables import hand_offs, instances, jobs

__all__ = ["SqlRuns", "instance_where"]

_FINAL = sorted(int(s) for s in FINAL_STATUSES)
_UPDATE_FIELDS = (
    "status",
    "start_time",
    "end_time",
    "attempt",
    "worker",
    "progress",
    "result",
    "trigger_type",
)


# The columns of an instance row, id first, and the statements that write them on SQLite.
_INSERT_COLUMNS = ("id", *(name for name in instances.c.keys() if name != "id"))
_LAST_INSTANCE_ID = sa.text(
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'instances'), 0), "
    "coalesce((SELECT max(id) FROM instances), 0))"
)


def _sqlite_insert_sql() -> str:
    names = ", ".join(_INSERT_COLUMNS)
    marks = ", ".join("?" for _ in _INSERT_COLUMNS)
    return f"INSERT INTO instances ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"


def _names_missing_job(exc: Conflict) -> bool:
    """The conflict is a foreign key violation: a row names a job that is gone."""
    cause = exc.__cause__
    return isinstance(cause, sa.exc.IntegrityError) and (
        getattr(cause.orig, "sqlstate", None) == "23503"  # foreign_key_violation
    )


def _update_statement(columns: tuple[str, ...]) -> sa.Update:
    """UPDATE instances SET the columns (and updated_at) WHERE id: parameters v_<column>,
    b_now, b_id."""
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}") for name in columns}
    return (
        sa.update(instances)
        .where(instances.c.id == sa.bindparam("b_id"))
        .values(values | {"updated_at": sa.bindparam("b_now")})
    )


def instance_where(flt: InstanceFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions of an instance filter (all but its page)."""
    c = instances.c
    where: list[sa.ColumnElement[bool]] = []
    if flt.namespace is not None:
        where.append(c.namespace == flt.namespace)
    if flt.group_id is not None:
        where.append(c.group_id == flt.group_id)
    if flt.scopes is not None:
        where.append(within_scopes(c.namespace, c.group_id, flt.scopes))
    if flt.job_id is not None:
        where.append(c.job_id == flt.job_id)
    if flt.statuses is not None:
        where.append(c.status.in_([int(s) for s in flt.statuses]))
    if flt.trigger_types is not None:
        where.append(c.trigger_type.in_([int(t) for t in flt.trigger_types]))
    if flt.schedule_from is not None:
        where.append(c.schedule_time >= flt.schedule_from)
    if flt.schedule_to is not None:
        where.append(c.schedule_time < flt.schedule_to)
    return where


class SqlRuns(SqlBase):
    """Instance methods of the store."""

    def _as_new(self, instance: Instance, now: int) -> Instance:
        """A copy of ``instance`` to insert: no id yet, stamped ``now`` where it has no
        times, owned by this server (``SqlServers``) where it names no owner. One copy:
        copying an instance costs more than building its row."""
        owner = instance.owner if instance.owner is not None else getattr(self, "server_id", None)
        return replace(
            instance,
            id=0,
            created_at=instance.created_at or now,
            updated_at=instance.updated_at or now,
            owner=owner,
        )

    async def _insert_instances(
        self, conn: StoreConnection, rows: Sequence[Instance]
    ) -> list[Instance]:
        """Insert in batches, skipping rows whose fire_key or idempotency_key is taken.

        ``rows`` are copies made by ``_as_new`` and must not repeat a key. Returns the
        inserted ones, their ids set, in order.
        """
        if not rows:
            return []
        if self.dialect == "sqlite":
            return await self._insert_instances_sqlite(conn, rows)
        stmt = self._statement(
            "insert instances",
            lambda: (
                self._insert(instances)
                .on_conflict_do_nothing()
                .returning(
                    instances.c.id,
                    instances.c.job_id,
                    instances.c.fire_key,
                    instances.c.idempotency_key,
                    sort_by_parameter_order=True,
                )
            ),
        )
        result = (await conn.execute(stmt, [codec.instance_row(r) for r in rows])).all()
        # The returned rows are in parameter order with the skipped ones missing; a skipped
        # row has a key, and no two rows share one, so matching by keys in order is exact.
        returned = iter(result)
        pending = next(returned, None)
        inserted: list[Instance] = []
        for row in rows:
            if pending is not None and (
                pending.job_id == row.job_id
                and pending.fire_key == row.fire_key
                and pending.idempotency_key == row.idempotency_key
            ):
                row.id = pending.id
                inserted.append(row)
                pending = next(returned, None)
        return inserted

    async def _insert_instances_sqlite(
        self, conn: StoreConnection, rows: Sequence[Instance]
    ) -> list[Instance]:
        """``_insert_instances`` on SQLite, in one executemany: SQLAlchemy sends an ordered
        RETURNING insert there one row at a time (a statement and a result a row, most of a
        trigger's insert). The ids are given here instead: the transaction holds SQLite's
        only write lock, so the ids after the highest ever used (``sqlite_sequence``, which
        AUTOINCREMENT keeps) are free, and a row whose key was taken leaves its id unused."""
        base = (await conn.execute(_LAST_INSTANCE_ID)).scalar_one()
        for offset, row in enumerate(rows, start=1):
            row.id = base + offset
        columns = _INSERT_COLUMNS
        values = [
            (row.id, *[fields[name] for name in columns[1:]])
            for row in rows
            for fields in (codec.instance_row(row),)
        ]
        sql = self._statement("insert instances, sqlite", _sqlite_insert_sql)
        written = await conn.run_sync(lambda sync: sync.exec_driver_sql(sql, values).rowcount)
        if written == len(rows):
            return list(rows)
        # Some keys were taken: which of the ids were written.
        found = await self._existing_ids(conn, instances.c.id, [row.id for row in rows])
        for row in rows:
            if row.id not in found:
                row.id = 0  # as a row the insert skipped has elsewhere: none given
        return [row for row in rows if row.id]

    async def plan_fires(
        self,
        fires: Sequence[Instance],
        next_fire_times: Sequence[tuple[int, int | None]],
        schedule_errors: Sequence[tuple[int, str]] = (),
    ) -> list[Instance]:
        """In one transaction: insert the fires, set the jobs' next fire times, and mark the
        jobs whose fires could not be computed."""
        async with self._write() as conn:
            return await self._plan_fires_in(conn, fires, next_fire_times, schedule_errors)

    async def _plan_fires_in(
        self,
        conn: StoreConnection,
        fires: Sequence[Instance],
        next_fire_times: Sequence[tuple[int, int | None]],
        schedule_errors: Sequence[tuple[int, str]] = (),
    ) -> list[Instance]:
        now = now_ms()
        live = await self._existing_ids(conn, jobs.c.id, [f.job_id for f in fires])
        fire_keys: set[tuple[int, int]] = set()
        idempotency_keys: set[tuple[int, str]] = set()
        rows: list[Instance] = []
        for fire in fires:
            if fire.job_id not in live:
                continue
            fire_key = None if fire.fire_key is None else (fire.job_id, fire.fire_key)
            idem_key = None if fire.idempotency_key is None else (fire.job_id, fire.idempotency_key)
            if fire_key in fire_keys or idem_key in idempotency_keys:
                continue  # a duplicate within the batch
            if fire_key is not None:
                fire_keys.add(fire_key)
            if idem_key is not None:
                idempotency_keys.add(idem_key)
            rows.append(self._as_new(fire, now))
        inserted = await self._insert_instances(conn, rows)
        await self._set_next_fire_times(conn, next_fire_times)
        if schedule_errors:
            await self._set_schedule_errors(conn, schedule_errors)
        return inserted

    async def create_instance(self, instance: Instance) -> tuple[Instance, bool]:
        (result,) = await self.create_instances([instance])
        if result is None:
            raise JobNotFound(f"job {instance.job_id} does not exist", field="job_id")
        return result

    async def create_instances(
        self, batch: Sequence[Instance]
    ) -> list[tuple[Instance, bool] | None]:
        now = now_ms()
        rows = [self._as_new(i, now) for i in batch]
        if self.dialect == "postgresql":
            # Their jobs are taken to exist: the foreign key checks it (and holds the job rows
            # until commit, as the check's lock does). When one is gone, the batch is made
            # again with the check, which answers None for its rows. The check was a round
            # trip in each batch of triggers.
            try:
                return await self._create_instances(rows, check_jobs=False)
            except Conflict as exc:
                if not _names_missing_job(exc):
                    raise
                for row in rows:
                    row.id = 0
        return await self._create_instances(rows, check_jobs=True)

    async def _create_instances(
        self, rows: list[Instance], *, check_jobs: bool
    ) -> list[tuple[Instance, bool] | None]:
        results: list[tuple[Instance, bool] | None] = [None] * len(rows)
        async with self._write() as conn:
            if check_jobs:
                live = await self._existing_ids(conn, jobs.c.id, [r.job_id for r in rows])
            else:
                live = {r.job_id for r in rows}
            first_with: dict[tuple[int, str, object], int] = {}  # a key -> the row that has it
            repeats: dict[int, int] = {}  # row -> the earlier row of the batch with its key
            fresh: list[int] = []
            for n, row in enumerate(rows):
                if row.job_id not in live:
                    continue  # None: the job does not exist
                keys = [
                    (row.job_id, kind, value)
                    for kind, value in (("i", row.idempotency_key), ("f", row.fire_key))
                    if value is not None
                ]
                earlier = next((first_with[k] for k in keys if k in first_with), None)
                if earlier is not None:
                    repeats[n] = earlier
                    continue
                first_with.update((k, n) for k in keys)
                fresh.append(n)
            inserted = iter(await self._insert_instances(conn, [rows[n] for n in fresh]))
            pending = next(inserted, None)
            for n in fresh:  # in order; a row whose key was taken is missing from inserted
                row = rows[n]
                if pending is not None and (
                    (pending.job_id, pending.fire_key, pending.idempotency_key)
                    == (row.job_id, row.fire_key, row.idempotency_key)
                ):
                    results[n] = (pending, True)
                    pending = next(inserted, None)
                    continue
                existing = await self._find_by_keys(conn, row)
                if existing is None:  # not reachable: only these keys can conflict
                    raise Conflict(f"instance of job {row.job_id} conflicts with a stored one")
                results[n] = (existing, False)
            await self._record_handed(conn, results)
        for n, earlier in repeats.items():
            found = results[earlier]
            results[n] = None if found is None else (found[0], False)
        return results

    async def _record_handed(
        self, conn: StoreConnection, results: list[tuple[Instance, bool] | None]
    ) -> None:
        """An instance created owned by another server (a trigger of a group whose workers
        are there) is handed to it, recorded in the same transaction: should the notification
        that follows fail, that server's look for lost hand-offs still finds it."""
        handed = [
            {"instance_id": made.id, "to_server": made.owner}
            for made, created in filter(None, results)
            if created and made.owner is not None and made.owner != self.server_id
        ]
        if handed:
            await conn.execute(sa.insert(hand_offs), handed)

    async def _find_by_keys(self, conn: StoreConnection, instance: Instance) -> Instance | None:
        """The stored instance of the job holding the idempotency key, else the fire key."""
        keys: list[sa.ColumnElement[bool]] = []
        if instance.idempotency_key is not None:
            keys.append(instances.c.idempotency_key == instance.idempotency_key)
        if instance.fire_key is not None:
            keys.append(instances.c.fire_key == instance.fire_key)
        for key in keys:
            stmt = sa.select(instances).where(instances.c.job_id == instance.job_id, key)
            row = (await conn.execute(stmt)).mappings().first()
            if row is not None:
                return codec.instance_from(row)
        return None

    async def get_instance(self, instance_id: int) -> Instance | None:
        stmt = sa.select(instances).where(instances.c.id == instance_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else codec.instance_from(row)

    async def list_instances(self, flt: InstanceFilter) -> Page[Instance]:
        """Newest first (id descending)."""
        check_page(flt.page, flt.page_size)
        c = instances.c
        where = instance_where(flt)
        stmt = (
            sa.select(instances)
            .where(*where)
            .order_by(c.id.desc())
            .limit(flt.page_size)
            .offset((flt.page - 1) * flt.page_size)
        )
        count = sa.select(sa.func.count()).select_from(instances).where(*where)
        async with self._read() as conn:
            total = (await conn.execute(count)).scalar_one()
            rows = (await conn.execute(stmt)).mappings().all()
        return Page(
            items=[codec.instance_from(r) for r in rows],
            total=total,
            page=flt.page,
            page_size=flt.page_size,
        )

    async def unfinished_instances(self) -> list[Instance]:
        stmt = (
            sa.select(instances).where(instances.c.status.not_in(_FINAL)).order_by(instances.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.instance_from(r) for r in rows]

    async def count_instances(self, job_id: int, statuses: Sequence[InstanceStatus]) -> int:
        if not statuses:
            return 0
        stmt = (
            sa.select(sa.func.count())
            .select_from(instances)
            .where(
                instances.c.job_id == job_id,
                instances.c.status.in_([int(s) for s in statuses]),
            )
        )
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def count_instances_by_status(self) -> dict[InstanceStatus, int]:
        stmt = sa.select(instances.c.status, sa.func.count()).group_by(instances.c.status)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        known = {int(s) for s in InstanceStatus}
        return {InstanceStatus(s): int(n) for s, n in rows if s in known}

    async def update_instances(self, updates: Sequence[InstanceUpdate]) -> list[int]:
        """Apply each update (fields that are None stay); see ``Store.update_instances``.

        The rows are locked and read once; the updates are applied in order in memory (so a
        later update sees the status an earlier one set), then written with one executemany
        per set of changed columns.
        """
        if not updates:
            return []
        async with self._write() as conn:
            status = await self._lock_statuses(conn, [u.instance_id for u in updates])
            changes: dict[int, dict[str, Any]] = {}
            applied: list[int] = []
            for update in updates:
                current = status.get(update.instance_id)
                if current is None:
                    continue
                if update.only_if_status is not None and current not in {
                    int(s) for s in update.only_if_status
                }:
                    continue
                values = {
                    name: getattr(update, name)
                    for name in _UPDATE_FIELDS
                    if getattr(update, name) is not None
                }
                if "status" in values:
                    values["status"] = status[update.instance_id] = int(values["status"])
                if "trigger_type" in values:
                    values["trigger_type"] = int(values["trigger_type"])
                changes.setdefault(update.instance_id, {}).update(values)
                applied.append(update.instance_id)
            await self._write_changes(conn, changes)
        return applied

    async def _lock_statuses(self, conn: StoreConnection, ids: Sequence[int]) -> dict[int, int]:
        stmt = self._statement(
            "lock statuses",
            lambda: (
                sa.select(instances.c.id, instances.c.status)
                .where(instances.c.id.in_(sa.bindparam("ids", expanding=True)))
                .order_by(instances.c.id)
                .with_for_update()
            ),
        )
        found: dict[int, int] = {}
        for part in chunks(sorted(set(ids))):
            found.update({i: status for i, status in await conn.execute(stmt, {"ids": list(part)})})
        return found

    async def _write_changes(
        self, conn: StoreConnection, changes: dict[int, dict[str, Any]]
    ) -> None:
        now = now_ms()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for instance_id in sorted(changes):
            values = changes[instance_id]
            columns = tuple(sorted(values))
            params = {f"v_{name}": values[name] for name in columns}
            params["b_id"] = instance_id
            params["b_now"] = now
            groups.setdefault(columns, []).append(params)
        for columns, batch in groups.items():
            stmt = self._statement(
                ("update instances", columns), partial(_update_statement, columns)
            )
            await conn.execute(stmt, batch)

    async def delete_unstarted(self, instance_ids: Sequence[int]) -> int:
        """Delete the never started instances among ``instance_ids``: WAITING, or READY
        (claimed to start, by the caller that withdraws them before they did)."""
        if not instance_ids:
            return 0
        stmt = sa.delete(instances).where(
            instances.c.id.in_(list(instance_ids)),
            instances.c.status.in_([int(InstanceStatus.WAITING), int(InstanceStatus.READY)]),
            instances.c.start_time.is_(None),
        )
        async with self._write() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def prune_history(self, job_id: int, keep: int) -> int:
        """Delete the job's finished instances (and their logs) but the newest ``keep``."""
        check_not_negative(keep, "keep")
        finished = sa.and_(instances.c.job_id == job_id, instances.c.status.in_(_FINAL))
        cutoff = (
            sa.select(instances.c.id)
            .where(finished)
            .order_by(instances.c.id.desc())
            .offset(keep)
            .limit(1)
        )
        async with self._write() as conn:
            oldest_to_delete = (await conn.execute(cutoff)).scalar()
            if oldest_to_delete is None:
                return 0
            stmt = sa.delete(instances).where(finished, instances.c.id <= oldest_to_delete)
            return int((await conn.execute(stmt)).rowcount)
