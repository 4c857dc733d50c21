"""Contract: access keys, namespaces, app groups, calendars."""

from __future__ import annotations

import pytest
from store_support import Seed

from tickwork.domain.errors import (
    AlreadyExists,
    CalendarNotFound,
    GroupNotFound,
    InvalidState,
    NamespaceNotFound,
)
from tickwork.domain.models import AccessKey, AppGroup, Calendar, CalendarMonth, Namespace
from tickwork.store.abc import Store

# -- access keys ---------------------------------------------------------------------------


async def test_access_key_round_trip(store: Store) -> None:
    key = AccessKey(key_id="AK1", secret="s3cret", name="admin", is_admin=True, created_at=5)
    assert await store.create_access_key(key) == key
    assert await store.get_access_key("AK1") == key
    assert await store.get_access_key("nope") is None


async def test_access_key_duplicate_and_listing(store: Store) -> None:
    await store.create_access_key(AccessKey(key_id="b", secret="x", created_at=2))
    created = await store.create_access_key(AccessKey(key_id="a", secret="y"))
    assert created.created_at > 0
    with pytest.raises(AlreadyExists) as caught:
        await store.create_access_key(AccessKey(key_id="b", secret="other"))
    assert caught.value.field == "key_id"
    keys = await store.list_access_keys()
    assert [k.key_id for k in keys] == ["b", "a"]
    assert keys[0].secret == "x" and keys[0].is_admin is False


# -- namespaces ----------------------------------------------------------------------------


async def test_namespace_create_get_list_order(store: Store) -> None:
    assert await store.list_namespaces() == []
    await store.create_namespace(Namespace(id="z", name="Z", description="d", created_at=10))
    await store.create_namespace(Namespace(id="b", name="B", created_at=20))
    await store.create_namespace(Namespace(id="a", name="A", created_at=20))
    now = await store.create_namespace(Namespace(id="n", name="N"))
    assert now.created_at > 20
    assert [n.id for n in await store.list_namespaces()] == ["z", "a", "b", "n"]
    assert await store.get_namespace("z") == Namespace(
        id="z", name="Z", description="d", created_at=10
    )
    assert await store.get_namespace("missing") is None


async def test_namespace_duplicate(store: Store) -> None:
    await store.create_namespace(Namespace(id="a", name="A"))
    with pytest.raises(AlreadyExists, match="'a'"):
        await store.create_namespace(Namespace(id="a", name="again"))
    assert (await store.get_namespace("a")) is not None
    assert (await store.get_namespace("a")).name == "A"  # type: ignore[union-attr]


async def test_namespace_update(store: Store) -> None:
    await store.create_namespace(Namespace(id="a", name="A", description="old", created_at=7))
    updated = await store.update_namespace(
        Namespace(id="a", name="A2", description="new", created_at=999)
    )
    assert updated == Namespace(id="a", name="A2", description="new", created_at=7)
    assert await store.get_namespace("a") == updated
    with pytest.raises(NamespaceNotFound):
        await store.update_namespace(Namespace(id="missing", name="x"))


async def test_namespace_delete(store: Store, seed: Seed) -> None:
    with pytest.raises(NamespaceNotFound):
        await store.delete_namespace("missing")
    await seed.group("full", "g")
    with pytest.raises(InvalidState, match="app group"):
        await store.delete_namespace("full")
    await store.delete_group("full", "g")
    await store.put_calendar(Calendar(namespace="full", name="c", year=2024, months=[]))
    await store.delete_namespace("full")  # its calendars go with it
    assert await store.get_namespace("full") is None
    assert await store.list_calendars("full") == []


# -- app groups ----------------------------------------------------------------------------


async def test_group_create_get_list(store: Store) -> None:
    await store.create_namespace(Namespace(id="ns", name="ns"))
    group = AppGroup(namespace="ns", group_id="g1", app_key="k", app_name="app", created_at=3)
    assert await store.create_group(group) == group
    await store.create_group(AppGroup(namespace="ns", group_id="g0", app_key="k", created_at=3))
    late = await store.create_group(AppGroup(namespace="ns", group_id="a", app_key="k"))
    assert late.created_at > 3
    assert [g.group_id for g in await store.list_groups("ns")] == ["g0", "g1", "a"]
    assert await store.get_group("ns", "g1") == group
    assert await store.get_group("ns", "nope") is None
    assert await store.get_group("other", "g1") is None
    assert await store.list_groups("other") == []


async def test_group_duplicate_and_missing_namespace(store: Store) -> None:
    with pytest.raises(NamespaceNotFound):
        await store.create_group(AppGroup(namespace="missing", group_id="g", app_key="k"))
    await store.create_namespace(Namespace(id="ns", name="ns"))
    await store.create_namespace(Namespace(id="ns2", name="ns2"))
    await store.create_group(AppGroup(namespace="ns", group_id="g", app_key="k"))
    with pytest.raises(AlreadyExists) as caught:
        await store.create_group(AppGroup(namespace="ns", group_id="g", app_key="k2"))
    assert caught.value.field == "group_id"
    # the same group id in another namespace is another group
    await store.create_group(AppGroup(namespace="ns2", group_id="g", app_key="k3"))


async def test_group_update_keeps_key(store: Store, seed: Seed) -> None:
    await seed.group("ns", "g")
    updated = await store.update_group(
        AppGroup(namespace="ns", group_id="g", app_key="ignored", app_name="n", description="d")
    )
    assert (updated.app_key, updated.app_name, updated.description) == ("key", "n", "d")
    assert await store.get_group("ns", "g") == updated
    with pytest.raises(GroupNotFound):
        await store.update_group(AppGroup(namespace="ns", group_id="missing", app_key="k"))


async def test_group_delete(store: Store, seed: Seed) -> None:
    with pytest.raises(GroupNotFound):
        await store.delete_group("ns", "g")
    job = await seed.job()
    with pytest.raises(InvalidState, match="job"):
        await store.delete_group(job.namespace, job.group_id)
    await store.delete_job(job.id)
    await store.delete_group(job.namespace, job.group_id)
    assert await store.get_group(job.namespace, job.group_id) is None


# -- calendars -----------------------------------------------------------------------------


def _calendar(name: str, year: int, days: list[int], namespace: str = "ns") -> Calendar:
    return Calendar(
        namespace=namespace,
        name=name,
        year=year,
        months=[CalendarMonth(month=1, days=days), CalendarMonth(month=12, days=[31])],
        description=f"{name} {year}",
    )


async def test_calendar_put_get_replace(store: Store, seed: Seed) -> None:
    await seed.group()
    cal = _calendar("work", 2024, [2, 3, 4])
    assert await store.put_calendar(cal) == cal
    assert await store.get_calendar("ns", "work", 2024) == cal
    replaced = _calendar("work", 2024, [5])
    await store.put_calendar(replaced)
    assert await store.get_calendar("ns", "work", 2024) == replaced
    assert await store.get_calendar("ns", "work", 2025) is None
    assert await store.get_calendar("ns", "other", 2024) is None


async def test_calendar_missing_namespace(store: Store) -> None:
    with pytest.raises(NamespaceNotFound):
        await store.put_calendar(_calendar("c", 2024, [1], namespace="missing"))


async def test_calendar_list_and_delete(store: Store, seed: Seed) -> None:
    await seed.group()
    await seed.group("ns2", "g")
    for name, year in [("b", 2025), ("a", 2025), ("b", 2024), ("a", 2024)]:
        await store.put_calendar(_calendar(name, year, [1]))
    await store.put_calendar(_calendar("a", 2024, [1], namespace="ns2"))
    listed = [(c.name, c.year) for c in await store.list_calendars("ns")]
    assert listed == [("a", 2024), ("a", 2025), ("b", 2024), ("b", 2025)]
    await store.delete_calendar("ns", "a", 2024)
    assert [(c.name, c.year) for c in await store.list_calendars("ns")] == [
        ("a", 2025),
        ("b", 2024),
        ("b", 2025),
    ]
    await store.delete_calendar("ns", "b", None)
    assert [(c.name, c.year) for c in await store.list_calendars("ns")] == [("a", 2025)]
    with pytest.raises(CalendarNotFound):
        await store.delete_calendar("ns", "b", None)
    with pytest.raises(CalendarNotFound):
        await store.delete_calendar("ns", "a", 2024)
    assert len(await store.list_calendars("ns2")) == 1
