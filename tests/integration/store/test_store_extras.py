"""Contract: access key deletion, permissions, job script versions, notification policies."""

from __future__ import annotations

import pytest
from store_support import Seed

from tickwork.domain.errors import AlreadyExists, JobNotFound, NamespaceNotFound, NotFound
from tickwork.domain.models import (
    AccessKey,
    JobScriptVersion,
    Namespace,
    NotificationPolicy,
    Permission,
)
from tickwork.store.abc import Store


async def test_permissions_round_trip_replace_and_revoke(store: Store) -> None:
    await store.create_access_key(AccessKey(key_id="k", secret="s"))
    await store.create_namespace(Namespace(id="ns1", name="one"))
    await store.create_namespace(Namespace(id="ns2", name="two"))
    whole = await store.put_permission(Permission(key_id="k", namespace="ns2"))
    assert whole.created_at > 0 and whole.group_id == ""
    await store.put_permission(Permission(key_id="k", namespace="ns1", group_id="g"))
    replaced = await store.put_permission(
        Permission(key_id="k", namespace="ns1", group_id="g", grant_option=True, created_at=7)
    )
    listed = await store.list_permissions("k")
    assert [(p.namespace, p.group_id, p.grant_option) for p in listed] == [
        ("ns1", "g", True),
        ("ns2", "", False),
    ]
    assert listed[0] == replaced
    assert await store.delete_permission("k", "ns1", "g") is True
    assert await store.delete_permission("k", "ns1", "g") is False
    assert [p.namespace for p in await store.list_permissions("k")] == ["ns2"]
    assert await store.list_permissions("nobody") == []


async def test_permissions_need_an_existing_key_and_namespace(store: Store) -> None:
    await store.create_access_key(AccessKey(key_id="k", secret="s"))
    with pytest.raises(NotFound) as missing_key:
        await store.put_permission(Permission(key_id="ghost", namespace="ns"))
    assert missing_key.value.field == "key_id"
    with pytest.raises(NamespaceNotFound):
        await store.put_permission(Permission(key_id="k", namespace="ns"))


async def test_deleting_a_key_or_namespace_removes_its_permissions(store: Store) -> None:
    await store.create_access_key(AccessKey(key_id="k", secret="s"))
    await store.create_access_key(AccessKey(key_id="other", secret="s"))
    await store.create_namespace(Namespace(id="ns", name="n"))
    await store.create_namespace(Namespace(id="gone", name="g"))
    await store.put_permission(Permission(key_id="k", namespace="ns"))
    await store.put_permission(Permission(key_id="other", namespace="ns"))
    await store.put_permission(Permission(key_id="other", namespace="gone"))
    await store.delete_access_key("k")
    assert await store.get_access_key("k") is None
    assert await store.list_permissions("k") == []
    with pytest.raises(NotFound):
        await store.delete_access_key("k")
    await store.delete_namespace("gone")
    assert [p.namespace for p in await store.list_permissions("other")] == ["ns"]


async def test_script_versions_newest_first_and_gone_with_the_job(store: Store, seed: Seed) -> None:
    job = await seed.job()
    first = await store.add_script_version(JobScriptVersion(job_id=job.id, content="echo 1"))
    second = await store.add_script_version(
        JobScriptVersion(job_id=job.id, content="echo 2", description="v2", creator="me")
    )
    assert second.id > first.id and first.created_at > 0
    versions = await store.list_script_versions(job.id)
    assert versions == [second, first]
    assert await store.list_script_versions(job.id, limit=1) == [second]
    with pytest.raises(JobNotFound):
        await store.add_script_version(JobScriptVersion(job_id=job.id + 99, content="x"))
    await store.delete_job(job.id)
    assert await store.list_script_versions(job.id) == []


async def test_notification_policies(store: Store) -> None:
    created = await store.create_notification_policy(
        NotificationPolicy(name="night", channel_time_range='{"sms": []}', description="d")
    )
    assert created.created_at > 0 and created.updated_at == created.created_at
    with pytest.raises(AlreadyExists):
        await store.create_notification_policy(NotificationPolicy(name="night"))
    await store.create_notification_policy(NotificationPolicy(name="day"))
    updated = await store.update_notification_policy(
        NotificationPolicy(name="night", channel_time_range="{}", description="changed")
    )
    assert updated.created_at == created.created_at and updated.description == "changed"
    assert await store.get_notification_policy("night") == updated
    assert await store.get_notification_policy("none") is None
    assert [p.name for p in await store.list_notification_policies()] == ["day", "night"]
    await store.delete_notification_policy("day")
    with pytest.raises(NotFound):
        await store.delete_notification_policy("day")
    with pytest.raises(NotFound):
        await store.update_notification_policy(NotificationPolicy(name="day"))
