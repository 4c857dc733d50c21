"""The store's smaller catalogs: permissions of access keys, job script versions and
notification policies (one transaction per method, domain errors only)."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from tickwork.clock import now_ms
from tickwork.domain.enums import Right
from tickwork.domain.errors import AlreadyExists, JobNotFound, NamespaceNotFound, NotFound
from tickwork.domain.models import JobScriptVersion, NotificationPolicy, Permission
from tickwork.store.sql_base import SqlBase
from tickwork.store.tables import (
    access_keys,
    jobs,
    namespaces,
    notification_policies,
    permissions,
    script_versions,
)

__all__ = ["SqlExtras"]


def _permission_from(row: sa.RowMapping) -> Permission:
    return Permission(
        key_id=row["key_id"],
        namespace=row["namespace"],
        group_id=row["group_id"],
        grant_option=bool(row["grant_option"]),
        created_at=int(row["created_at"]),
        right=Right(int(row["right"])),
    )


def _version_from(row: sa.RowMapping) -> JobScriptVersion:
    return JobScriptVersion(
        id=int(row["id"]),
        job_id=int(row["job_id"]),
        content=row["content"],
        description=row["description"],
        creator=row["creator"],
        created_at=int(row["created_at"]),
    )


def _policy_from(row: sa.RowMapping) -> NotificationPolicy:
    return NotificationPolicy(
        name=row["name"],
        channel_time_range=row["channel_time_range"],
        description=row["description"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


class SqlExtras(SqlBase):
    # -- access keys and their permissions -----------------------------------------------------
    async def delete_access_key(self, key_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(sa.delete(permissions).where(permissions.c.key_id == key_id))
            result = await conn.execute(
                sa.delete(access_keys).where(access_keys.c.key_id == key_id)
            )
            if not result.rowcount:
                raise NotFound(f"access key {key_id!r} does not exist", field="key_id")

    async def put_permission(self, permission: Permission) -> Permission:
        stored = replace(permission, created_at=permission.created_at or now_ms())
        where = sa.and_(
            permissions.c.key_id == stored.key_id,
            permissions.c.namespace == stored.namespace,
            permissions.c.group_id == stored.group_id,
        )
        async with self._write() as conn:
            key = await conn.scalar(
                sa.select(access_keys.c.key_id).where(access_keys.c.key_id == stored.key_id)
            )
            if key is None:
                raise NotFound(f"access key {stored.key_id!r} does not exist", field="key_id")
            namespace = await conn.scalar(
                sa.select(namespaces.c.id).where(namespaces.c.id == stored.namespace)
            )
            if namespace is None:
                raise NamespaceNotFound(
                    f"namespace {stored.namespace!r} does not exist", field="namespace"
                )
            await conn.execute(sa.delete(permissions).where(where))
            await conn.execute(
                sa.insert(permissions).values(
                    key_id=stored.key_id,
                    namespace=stored.namespace,
                    group_id=stored.group_id,
                    grant_option=stored.grant_option,
                    created_at=stored.created_at,
                    right=int(stored.right),
                )
            )
        return stored

    async def delete_permission(self, key_id: str, namespace: str, group_id: str) -> bool:
        stmt = sa.delete(permissions).where(
            permissions.c.key_id == key_id,
            permissions.c.namespace == namespace,
            permissions.c.group_id == group_id,
        )
        async with self._write() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def list_permissions(self, key_id: str) -> list[Permission]:
        stmt = (
            sa.select(permissions)
            .where(permissions.c.key_id == key_id)
            .order_by(permissions.c.namespace, permissions.c.group_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_permission_from(row) for row in rows]

    # -- job script versions -----------------------------------------------------------------
    async def add_script_version(self, version: JobScriptVersion) -> JobScriptVersion:
        stored = replace(version, created_at=version.created_at or now_ms())
        async with self._write() as conn:
            job = await conn.scalar(sa.select(jobs.c.id).where(jobs.c.id == stored.job_id))
            if job is None:
                raise JobNotFound(f"job {stored.job_id} does not exist", field="job_id")
            new_id = await conn.scalar(
                sa.insert(script_versions)
                .values(
                    job_id=stored.job_id,
                    content=stored.content,
                    description=stored.description,
                    creator=stored.creator,
                    created_at=stored.created_at,
                )
                .returning(script_versions.c.id)
            )
        return replace(stored, id=int(new_id))

    async def list_script_versions(self, job_id: int, limit: int = 100) -> list[JobScriptVersion]:
        stmt = (
            sa.select(script_versions)
            .where(script_versions.c.job_id == job_id)
            .order_by(script_versions.c.id.desc())
            .limit(max(limit, 0))
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_version_from(row) for row in rows]

    # -- notification policies ---------------------------------------------------------------
    async def create_notification_policy(self, policy: NotificationPolicy) -> NotificationPolicy:
        now = now_ms()
        stored = replace(
            policy, created_at=policy.created_at or now, updated_at=policy.updated_at or now
        )
        stmt = (
            self._insert(notification_policies)
            .values(
                name=stored.name,
                channel_time_range=stored.channel_time_range,
                description=stored.description,
                created_at=stored.created_at,
                updated_at=stored.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(notification_policies.c.name)
        )
        async with self._write() as conn:
            if (await conn.execute(stmt)).first() is None:
                raise AlreadyExists(
                    f"notification policy {policy.name!r} already exists", field="name"
                )
        return stored

    async def update_notification_policy(self, policy: NotificationPolicy) -> NotificationPolicy:
        stored = replace(policy, updated_at=now_ms())
        stmt = (
            sa.update(notification_policies)
            .where(notification_policies.c.name == policy.name)
            .values(
                channel_time_range=stored.channel_time_range,
                description=stored.description,
                updated_at=stored.updated_at,
            )
            .returning(notification_policies.c.created_at)
        )
        async with self._write() as conn:
            created = (await conn.execute(stmt)).scalar()
        if created is None:
            raise NotFound(f"notification policy {policy.name!r} does not exist", field="name")
        return replace(stored, created_at=int(created))

    async def get_notification_policy(self, name: str) -> NotificationPolicy | None:
        stmt = sa.select(notification_policies).where(notification_policies.c.name == name)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _policy_from(row)

    async def list_notification_policies(self) -> list[NotificationPolicy]:
        stmt = sa.select(notification_policies).order_by(notification_policies.c.name)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_policy_from(row) for row in rows]

    async def delete_notification_policy(self, name: str) -> None:
        stmt = sa.delete(notification_policies).where(notification_policies.c.name == name)
        async with self._write() as conn:
            if not (await conn.execute(stmt)).rowcount:
                raise NotFound(f"notification policy {name!r} does not exist", field="name")
