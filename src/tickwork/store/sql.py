"""``SqlStore``: the ``Store`` on SQLAlchemy 2 Core, for SQLite and PostgreSQL.

Each method is one transaction. Conflicts are found by checks inside that transaction (or
``ON CONFLICT DO NOTHING``), so no IntegrityError reaches the caller; a database that cannot be
reached raises ``Unavailable``. This module holds the catalog (keys, namespaces, app groups,
calendars, jobs); ``sql_runs`` holds instances and logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import sqlalchemy as sa

from tickwork.domain.enums import JobStatus
from tickwork.domain.errors import (
    AlreadyExists,
    CalendarNotFound,
    GroupNotFound,
    InvalidState,
    JobNotFound,
    NamespaceNotFound,
    reason_of,
)
from tickwork.domain.models import AccessKey, AppGroup, Calendar, Job, Namespace, Page
from tickwork.domain.queries import JobFilter
from tickwork.store import codec
from tickwork.store.abc import DueClaim
from tickwork.store.connection import StoreConnection
from tickwork.store.sql_base import (
    check_not_negative,
    check_page,
    chunks,
    now_ms,
    within_scopes,
)
from tickwork.store.sql_extras import SqlExtras
from tickwork.store.sql_logs import SqlLogs
from tickwork.store.sql_metrics import SqlMetrics
from tickwork.store.sql_nonces import SqlNonces
from tickwork.store.sql_runs import SqlRuns
from tickwork.store.sql_servers import SqlServers
from tickwork.store.tables import access_keys, app_groups, calendars, jobs, namespaces

__all__ = ["SqlStore"]


class SqlStore(SqlRuns, SqlLogs, SqlMetrics, SqlExtras, SqlServers, SqlNonces):
    """The store on one SQLite file or one PostgreSQL database."""

    # -- access keys -----------------------------------------------------------------------
    async def create_access_key(self, key: AccessKey) -> AccessKey:
        stored = replace(key, created_at=key.created_at or now_ms())
        stmt = (
            self._insert(access_keys)
            .values(codec.access_key_row(stored))
            .on_conflict_do_nothing()
            .returning(access_keys.c.key_id)
        )
        async with self._write() as conn:
            if (await conn.execute(stmt)).first() is None:
                raise AlreadyExists(f"access key {key.key_id!r} already exists", field="key_id")
        return stored

    async def get_access_key(self, key_id: str) -> AccessKey | None:
        async with self._read() as conn:
            row = (
                (await conn.execute(sa.select(access_keys).where(access_keys.c.key_id == key_id)))
                .mappings()
                .first()
            )
        return None if row is None else codec.access_key_from(row)

    async def list_access_keys(self) -> list[AccessKey]:
        stmt = sa.select(access_keys).order_by(access_keys.c.created_at, access_keys.c.key_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.access_key_from(r) for r in rows]

    # -- namespaces ------------------------------------------------------------------------
    async def _lock_namespace(self, conn: StoreConnection, namespace_id: str) -> bool:
        """Whether the namespace exists; on PostgreSQL it cannot be deleted until commit."""
        stmt = (
            sa.select(namespaces.c.id)
            .where(namespaces.c.id == namespace_id)
            .with_for_update(read=True, key_share=True)
        )
        return (await conn.execute(stmt)).first() is not None

    async def create_namespace(self, namespace: Namespace) -> Namespace:
        stored = replace(namespace, created_at=namespace.created_at or now_ms())
        stmt = (
            self._insert(namespaces)
            .values(codec.namespace_row(stored))
            .on_conflict_do_nothing()
            .returning(namespaces.c.id)
        )
        async with self._write() as conn:
            if (await conn.execute(stmt)).first() is None:
                raise AlreadyExists(
                    f"namespace {namespace.id!r} already exists", field="namespace_id"
                )
        return stored

    async def get_namespace(self, namespace_id: str) -> Namespace | None:
        stmt = sa.select(namespaces).where(namespaces.c.id == namespace_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else codec.namespace_from(row)

    async def list_namespaces(self) -> list[Namespace]:
        stmt = sa.select(namespaces).order_by(namespaces.c.created_at, namespaces.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.namespace_from(r) for r in rows]

    async def update_namespace(self, namespace: Namespace) -> Namespace:
        stmt = (
            sa.update(namespaces)
            .where(namespaces.c.id == namespace.id)
            .values(name=namespace.name, description=namespace.description)
            .returning(*namespaces.c)
        )
        async with self._write() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            raise NamespaceNotFound(
                f"namespace {namespace.id!r} does not exist", field="namespace_id"
            )
        return codec.namespace_from(row)

    async def delete_namespace(self, namespace_id: str) -> None:
        async with self._write() as conn:
            found = await conn.execute(
                sa.select(namespaces.c.id).where(namespaces.c.id == namespace_id).with_for_update()
            )
            if found.first() is None:
                raise NamespaceNotFound(
                    f"namespace {namespace_id!r} does not exist", field="namespace_id"
                )
            groups = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(app_groups)
                .where(app_groups.c.namespace == namespace_id)
            )
            if groups:
                raise InvalidState(
                    f"namespace {namespace_id!r} still holds {groups} app group(s); "
                    "delete them first",
                    field="namespace_id",
                )
            await conn.execute(sa.delete(namespaces).where(namespaces.c.id == namespace_id))

    # -- app groups ------------------------------------------------------------------------
    async def create_group(self, group: AppGroup) -> AppGroup:
        stored = replace(group, created_at=group.created_at or now_ms())
        stmt = (
            self._insert(app_groups)
            .values(codec.group_row(stored))
            .on_conflict_do_nothing()
            .returning(app_groups.c.group_id)
        )
        async with self._write() as conn:
            if not await self._lock_namespace(conn, group.namespace):
                raise NamespaceNotFound(
                    f"namespace {group.namespace!r} does not exist", field="namespace"
                )
            if (await conn.execute(stmt)).first() is None:
                raise AlreadyExists(
                    f"app group {group.group_id!r} already exists in namespace {group.namespace!r}",
                    field="group_id",
                )
        return stored

    def _group_where(self, namespace: str, group_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(app_groups.c.namespace == namespace, app_groups.c.group_id == group_id)

    async def get_group(self, namespace: str, group_id: str) -> AppGroup | None:
        stmt = sa.select(app_groups).where(self._group_where(namespace, group_id))
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else codec.group_from(row)

    async def list_groups(self, namespace: str) -> list[AppGroup]:
        stmt = (
            sa.select(app_groups)
            .where(app_groups.c.namespace == namespace)
            .order_by(app_groups.c.created_at, app_groups.c.group_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.group_from(r) for r in rows]

    async def list_server_groups(self) -> list[tuple[str, str]]:
        stmt = sa.select(app_groups.c.namespace, app_groups.c.group_id).where(
            app_groups.c.run_on_server.is_(True)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((str(ns), str(group)) for ns, group in rows)

    async def update_group(self, group: AppGroup) -> AppGroup:
        stmt = (
            sa.update(app_groups)
            .where(self._group_where(group.namespace, group.group_id))
            .values(
                app_name=group.app_name,
                description=group.description,
                run_on_server=group.run_on_server,
                **codec.group_settings_row(group),
            )
            .returning(*app_groups.c)
        )
        async with self._write() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            raise GroupNotFound(
                f"app group {group.group_id!r} does not exist in namespace {group.namespace!r}",
                field="group_id",
            )
        return codec.group_from(row)

    async def delete_group(self, namespace: str, group_id: str) -> None:
        where = self._group_where(namespace, group_id)
        async with self._write() as conn:
            found = await conn.execute(
                sa.select(app_groups.c.group_id).where(where).with_for_update()
            )
            if found.first() is None:
                raise GroupNotFound(
                    f"app group {group_id!r} does not exist in namespace {namespace!r}",
                    field="group_id",
                )
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(jobs.c.namespace == namespace, jobs.c.group_id == group_id)
            )
            if count:
                raise InvalidState(
                    f"app group {group_id!r} still holds {count} job(s); delete them first",
                    field="group_id",
                )
            await conn.execute(sa.delete(app_groups).where(where))

    # -- calendars -------------------------------------------------------------------------
    async def put_calendar(self, calendar: Calendar) -> Calendar:
        row = codec.calendar_row(calendar)
        insert = self._insert(calendars).values(row)
        stmt = insert.on_conflict_do_update(
            index_elements=[calendars.c.namespace, calendars.c.name, calendars.c.year],
            set_={"months": insert.excluded.months, "description": insert.excluded.description},
        )
        async with self._write() as conn:
            if not await self._lock_namespace(conn, calendar.namespace):
                raise NamespaceNotFound(
                    f"namespace {calendar.namespace!r} does not exist", field="namespace"
                )
            await conn.execute(stmt)
        return calendar

    async def get_calendar(self, namespace: str, name: str, year: int) -> Calendar | None:
        stmt = sa.select(calendars).where(
            calendars.c.namespace == namespace,
            calendars.c.name == name,
            calendars.c.year == year,
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else codec.calendar_from(row)

    async def list_calendars(self, namespace: str) -> list[Calendar]:
        stmt = (
            sa.select(calendars)
            .where(calendars.c.namespace == namespace)
            .order_by(calendars.c.name, calendars.c.year)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.calendar_from(r) for r in rows]

    async def delete_calendar(self, namespace: str, name: str, year: int | None) -> None:
        stmt = sa.delete(calendars).where(
            calendars.c.namespace == namespace, calendars.c.name == name
        )
        if year is not None:
            stmt = stmt.where(calendars.c.year == year)
        async with self._write() as conn:
            deleted = (await conn.execute(stmt)).rowcount
        if not deleted:
            which = f"calendar {name!r}" + ("" if year is None else f" of year {year}")
            raise CalendarNotFound(
                f"{which} does not exist in namespace {namespace!r}", field="name"
            )

    # -- jobs ------------------------------------------------------------------------------
    async def _lock_group(self, conn: StoreConnection, namespace: str, group_id: str) -> None:
        stmt = (
            sa.select(app_groups.c.group_id)
            .where(self._group_where(namespace, group_id))
            .with_for_update(read=True, key_share=True)
        )
        if (await conn.execute(stmt)).first() is None:
            raise GroupNotFound(
                f"app group {group_id!r} does not exist in namespace {namespace!r}",
                field="group_id",
            )

    async def create_job(self, job: Job) -> Job:
        now = now_ms()
        stored = replace(job, created_at=job.created_at or now, updated_at=job.updated_at or now)
        stmt = sa.insert(jobs).values(codec.job_row(stored)).returning(jobs.c.id)
        async with self._write() as conn:
            await self._lock_group(conn, job.namespace, job.group_id)
            job_id = (await conn.execute(stmt)).scalar_one()
        return replace(stored, id=job_id)

    async def get_job(self, job_id: int) -> Job | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(jobs).where(jobs.c.id == job_id))).mappings()
            found = row.first()
        return None if found is None else codec.job_from(found)

    async def list_jobs(self, flt: JobFilter) -> Page[Job]:
        check_page(flt.page, flt.page_size)
        where: list[sa.ColumnElement[bool]] = []
        if flt.namespace is not None:
            where.append(jobs.c.namespace == flt.namespace)
        if flt.group_id is not None:
            where.append(jobs.c.group_id == flt.group_id)
        if flt.scopes is not None:
            where.append(within_scopes(jobs.c.namespace, jobs.c.group_id, flt.scopes))
        if flt.name_contains:
            where.append(jobs.c.name.icontains(flt.name_contains, autoescape=True))
        if flt.status is not None:
            where.append(jobs.c.status == int(flt.status))
        stmt = (
            sa.select(jobs)
            .where(*where)
            .order_by(jobs.c.id)
            .limit(flt.page_size)
            .offset((flt.page - 1) * flt.page_size)
        )
        count = sa.select(sa.func.count()).select_from(jobs).where(*where)
        async with self._read() as conn:
            total = (await conn.execute(count)).scalar_one()
            rows = (await conn.execute(stmt)).mappings().all()
        return Page(
            items=[codec.job_from(r) for r in rows],
            total=total,
            page=flt.page,
            page_size=flt.page_size,
        )

    async def update_job(self, job: Job) -> Job:
        """Writes every field as given, except: a ``created_at`` of 0 keeps the stored one,
        and ``updated_at`` is set to now (one past the stored one if that is not earlier)."""
        row = codec.job_row(job)
        row["updated_at"] = now_ms()
        if not job.created_at:
            del row["created_at"]
        async with self._write() as conn:
            found = await conn.execute(
                sa.select(jobs.c.updated_at).where(jobs.c.id == job.id).with_for_update()
            )
            before = found.scalar()
            if before is None:
                raise JobNotFound(f"job {job.id} does not exist", field="job_id")
            # ``updated_at`` is the version of the definition that caches compare: two
            # changes within one millisecond still make two versions
            row["updated_at"] = max(row["updated_at"], before + 1)
            stmt = sa.update(jobs).where(jobs.c.id == job.id).values(row).returning(*jobs.c)
            await self._lock_group(conn, job.namespace, job.group_id)
            stored = (await conn.execute(stmt)).mappings().one()
        return codec.job_from(stored)

    async def delete_job(self, job_id: int) -> None:
        # Instances and their logs go with it (ON DELETE CASCADE).
        async with self._write() as conn:
            deleted = (await conn.execute(sa.delete(jobs).where(jobs.c.id == job_id))).rowcount
        if not deleted:
            raise JobNotFound(f"job {job_id} does not exist", field="job_id")

    @staticmethod
    def _due_jobs_query(before: int, limit: int, *columns: Any) -> sa.Select[Any]:
        return (
            sa.select(*(columns or (jobs,)))
            .where(
                jobs.c.status == int(JobStatus.ENABLED),
                jobs.c.next_fire_time.is_not(None),
                jobs.c.next_fire_time <= before,
            )
            .order_by(jobs.c.next_fire_time, jobs.c.id)
            .limit(limit)
        )

    async def due_jobs(self, before: int, limit: int) -> list[Job]:
        check_not_negative(limit, "limit")
        stmt = self._due_jobs_query(before, limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [codec.job_from(r) for r in rows]

    @asynccontextmanager
    async def claim_due_jobs(
        self, before: int, limit: int, known: Callable[[int], Job | None] | None = None
    ) -> AsyncIterator[DueClaim]:
        check_not_negative(limit, "limit")
        keys = self._due_jobs_query(
            before, limit, jobs.c.id, jobs.c.updated_at, jobs.c.next_fire_time
        )
        if self.dialect != "postgresql":
            async with self._read() as conn:
                claimed, next_fire, unreadable = await self._due_in(conn, keys, known)
            yield DueClaim(claimed, self.plan_fires, next_fire, unreadable)
            return
        async with self._write() as conn:
            claimed, next_fire, unreadable = await self._due_in(
                conn, keys.with_for_update(skip_locked=True), known
            )
            yield DueClaim(claimed, partial(self._plan_fires_in, conn), next_fire, unreadable)

    async def _due_in(
        self,
        conn: StoreConnection,
        keys: sa.Select[Any],
        known: Callable[[int], Job | None] | None,
    ) -> tuple[list[Job], dict[int, int], dict[int, str]]:
        """The due jobs (reading whole rows only of those ``known`` lacks at their version),
        their stored next fire times, and the due rows that cannot be read as jobs (why)."""
        due = (await conn.execute(keys)).all()
        claimed: dict[int, Job] = {}
        unknown: list[int] = []
        for job_id, updated_at, _ in due:
            held = None if known is None else known(job_id)
            if held is not None and held.updated_at == updated_at:
                claimed[job_id] = held
            else:
                unknown.append(job_id)
        unreadable: dict[int, str] = {}
        for chunk in chunks(unknown):
            rows = await conn.execute(sa.select(jobs).where(jobs.c.id.in_(chunk)))
            for row in rows.mappings():
                try:
                    claimed[row["id"]] = codec.job_from(row)
                except Exception as exc:  # one damaged row must not stop every job's planning
                    unreadable[row["id"]] = f"its stored row cannot be read: {reason_of(exc)}"
        next_fire = {r[0]: r[2] for r in due}
        return [claimed[r[0]] for r in due if r[0] in claimed], next_fire, unreadable

    async def set_next_fire_times(self, changes: Sequence[tuple[int, int | None]]) -> None:
        if not changes:
            return
        async with self._write() as conn:
            await self._set_next_fire_times(conn, changes)

    async def count_schedule_errors(self) -> int:
        stmt = (
            sa.select(sa.func.count()).select_from(jobs).where(jobs.c.schedule_error.is_not(None))
        )
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())
