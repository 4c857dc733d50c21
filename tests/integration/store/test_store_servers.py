"""Contract: server leases, instance ownership, adoption, hand-offs and their notifications
(docs/multi-server.md)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from store_support import Seed

from tickwork.domain.enums import FINAL_STATUSES, InstanceStatus, TriggerType
from tickwork.domain.errors import Conflict
from tickwork.domain.models import Designation, Instance, InstanceUpdate, Job, WorkerInfo
from tickwork.store.abc import HANDOFF_CHANNEL, LEFT_CHANNEL, STOP_CHANNEL, ServerRow
from tickwork.store.sql import SqlStore
from tickwork.store.tables import servers

S = InstanceStatus
UNFINISHED = sorted(set(InstanceStatus) - FINAL_STATUSES)
WAIT_S = 5.0  # the longest a notification may take to arrive
PROBE = "probe"  # the server id of the notifications that only check the listener is up


def wall_ms() -> int:
    return int(time.time() * 1000)


async def server(store: SqlStore, server_id: str) -> ServerRow:
    rows = {row.id: row for row in await store.live_servers()}
    return rows[server_id]


async def set_heartbeat(store: SqlStore, server_id: str, heartbeat_at: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.update(servers).where(servers.c.id == server_id).values(heartbeat_at=heartbeat_at)
        )


async def plant(seed: Seed, job: Job, at: int, **fields: Any) -> Instance:
    """Insert one scheduled fire of ``job`` at ``at`` (owner: the store's server_id unless
    given)."""
    (planted,) = await seed.store.plan_fires([seed.fire(job, at, **fields)], [])
    return planted


async def owners(store: SqlStore, *planted: Instance) -> list[str | None]:
    got = {i.id: i for i in await store.get_instances([i.id for i in planted])}
    return [got[i.id].owner for i in planted]


# -- register / renew / unregister / live_servers -----------------------------------------


async def test_register_server_is_listed_with_database_times(store: SqlStore) -> None:
    assert await store.live_servers() == []
    before = wall_ms()
    await store.register_server("s1", "10.0.0.1:9000")
    after = wall_ms()
    (row,) = await store.live_servers()
    assert (row.id, row.address, row.groups) == ("s1", "10.0.0.1:9000", ())
    # the database runs on this machine here, so its clock agrees with ours
    assert before - 1000 <= row.started_at <= after + 1000
    assert before - 1000 <= row.heartbeat_at <= after + 1000
    assert abs(row.heartbeat_at - row.started_at) < 1000


async def test_register_server_twice_conflicts(store: SqlStore) -> None:
    await store.register_server("s1", "a:1")
    with pytest.raises(Conflict):
        await store.register_server("s1", "b:2")
    assert [(r.id, r.address) for r in await store.live_servers()] == [("s1", "a:1")]


async def test_live_servers_oldest_first(store: SqlStore) -> None:
    for server_id in ["c", "a", "b"]:  # not the order of the ids
        await store.register_server(server_id, f"{server_id}:1")
        await asyncio.sleep(0.01)
    rows = await store.live_servers()
    assert [r.id for r in rows] == ["c", "a", "b"]
    assert rows[0].started_at < rows[1].started_at < rows[2].started_at


async def test_renew_server_moves_the_heartbeat_and_records_groups(store: SqlStore) -> None:
    await store.register_server("s1", "a:1")
    await store.register_server("s2", "b:1")
    await set_heartbeat(store, "s1", 5)
    await set_heartbeat(store, "s2", 5)
    started = (await server(store, "s1")).started_at
    before = wall_ms()
    assert await store.renew_server("s1", ["ns/b", "ns/a"]) is True
    row = await server(store, "s1")
    assert row.heartbeat_at >= before - 1000
    assert row.started_at == started  # renewing is not registering again
    assert isinstance(row.groups, tuple) and set(row.groups) == {"ns/a", "ns/b"}
    other = await server(store, "s2")
    assert (other.heartbeat_at, other.groups) == (5, ())  # only the renewed row changed
    assert await store.renew_server("s1") is True
    assert (await server(store, "s1")).groups == ()  # no agents any more


async def test_renew_server_records_the_agents_connected_there(store: SqlStore) -> None:
    await store.register_server("a", "10.0.0.1:9000")
    await store.register_server("b", "10.0.0.2:9000")
    red = WorkerInfo(
        address="red:1",
        worker_id="w-red",
        labels=("red", "big"),
        version="1.0",
        running=2,
        concurrency=8,
        in_process=False,
        connected_at=1234,
    )
    blue = WorkerInfo(
        address="blue:1",
        worker_id="w-blue",
        labels=(),
        version="",
        running=0,
        concurrency=1,
        in_process=False,
        connected_at=99,
    )
    assert await store.renew_server("a", ["ns/g"], {"ns/g": [red, blue], "ns/h": []})
    a, b = await server(store, "a"), await server(store, "b")
    # each agent comes back marked with the address of the server it is connected to
    assert a.workers == {
        "ns/g": (replace(red, server="10.0.0.1:9000"), replace(blue, server="10.0.0.1:9000")),
        "ns/h": (),
    }
    assert b.workers == {}
    assert await store.renew_server("a", [])  # none any more
    assert (await server(store, "a")).workers == {}


async def test_an_instance_keeps_its_own_designation(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    held = Designation(kind=2, labels=["blue"], transferable=False)
    made, created = await store.create_instance(
        Instance(
            job_id=job.id,
            namespace=job.namespace,
            group_id=job.group_id,
            trigger_type=TriggerType.API,
            time_type=job.time_type,
            schedule_time=wall_ms(),
            designation=held,
        )
    )
    assert created
    assert (await store.get_instance(made.id)).designation == held  # type: ignore[union-attr]
    (plain,) = await store.get_instances([(await plant(seed, job, 100)).id])
    assert plain.designation is None


async def test_renew_server_is_false_when_the_row_is_gone(store: SqlStore) -> None:
    assert await store.renew_server("never", ["ns/g"]) is False
    await store.register_server("s1", "a:1")
    assert await store.renew_server("s1") is True
    await store.unregister_server("s1")
    assert await store.renew_server("s1", ["ns/g"]) is False
    assert await store.live_servers() == []  # renewing does not bring the row back


async def test_unregister_server_removes_only_that_row(store: SqlStore) -> None:
    await store.register_server("s1", "a:1")
    await store.register_server("s2", "b:1")
    await store.unregister_server("s1")
    assert [r.id for r in await store.live_servers()] == ["s2"]
    await store.unregister_server("s1")  # gone already: nothing to do
    await store.unregister_server("never")
    assert [r.id for r in await store.live_servers()] == ["s2"]
    await store.register_server("s1", "a:2")  # its id is free again
    assert {r.id: r.address for r in await store.live_servers()} == {"s1": "a:2", "s2": "b:1"}


# -- expire_servers --------------------------------------------------------------------------


async def test_expire_servers_deletes_rows_older_than_the_lease(store: SqlStore) -> None:
    for server_id in ["old", "older", "fresh"]:
        await store.register_server(server_id, f"{server_id}:1")
    now = (await server(store, "fresh")).heartbeat_at
    await set_heartbeat(store, "old", now - 20_000)
    await set_heartbeat(store, "older", now - 120_000)
    assert await store.expire_servers(600_000) == []
    assert await store.expire_servers(60_000) == ["older"]
    assert sorted(r.id for r in await store.live_servers()) == ["fresh", "old"]
    assert await store.expire_servers(10_000) == ["old"]
    assert [r.id for r in await store.live_servers()] == ["fresh"]
    assert await store.expire_servers(10_000) == []


async def test_expire_servers_uses_the_time_that_passed(store: SqlStore) -> None:
    await store.register_server("s1", "a:1")
    assert await store.expire_servers(60_000) == []
    await asyncio.sleep(0.3)
    assert await store.expire_servers(60_000) == []  # the lease is in milliseconds
    assert await store.expire_servers(100) == ["s1"]
    assert await store.live_servers() == []


async def test_expire_servers_spares_a_renewed_server(store: SqlStore) -> None:
    await store.register_server("s1", "a:1")
    await set_heartbeat(store, "s1", 5)
    assert await store.renew_server("s1") is True
    assert await store.expire_servers(10_000) == []
    assert [r.id for r in await store.live_servers()] == ["s1"]


async def test_expire_servers_keeps_keep(store: SqlStore) -> None:
    for server_id in ["a", "b", "c"]:
        await store.register_server(server_id, f"{server_id}:1")
        await set_heartbeat(store, server_id, 5)  # every one stale
    assert await store.expire_servers(10_000, keep="b") in (["a", "c"], ["c", "a"])
    assert [r.id for r in await store.live_servers()] == ["b"]


async def test_expire_servers_with_no_lease_deletes_all_but_keep(store: SqlStore) -> None:
    for server_id in ["a", "b", "c"]:
        await store.register_server(server_id, f"{server_id}:1")  # every one fresh
    now = (await server(store, "a")).heartbeat_at
    await set_heartbeat(store, "c", now + 3_600_000)  # not even older than now
    assert sorted(await store.expire_servers(0, keep="b")) == ["a", "c"]
    assert [r.id for r in await store.live_servers()] == ["b"]
    await store.register_server("d", "d:1")
    await set_heartbeat(store, "d", now + 3_600_000)
    assert sorted(await store.expire_servers(0)) == ["b", "d"]
    assert await store.live_servers() == []
    assert await store.expire_servers(0) == []


# -- ownership and adoption ------------------------------------------------------------------


async def test_instances_a_server_inserts_are_its_own(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    unowned = await plant(seed, job, 100)
    store.server_id = "me"
    mine = await plant(seed, job, 200)
    given = await plant(seed, job, 300, owner="other")
    made, created = await store.create_instance(seed.api_run(job, 400))
    assert created
    assert await owners(store, unowned, mine, given, made) == [None, "me", "other", "me"]


async def test_adopt_instances_takes_the_unfinished_ones_no_live_server_owns(
    store: SqlStore, seed: Seed
) -> None:
    await store.register_server("me", "me:1")
    await store.register_server("live", "live:1")
    job = await seed.job()
    at = iter(range(100, 10_000))
    orphans = [await plant(seed, job, next(at), status=s, owner=None) for s in UNFINISHED]
    orphans += [await plant(seed, job, next(at), status=s, owner="dead") for s in UNFINISHED]
    finished = [await plant(seed, job, next(at), status=s, owner="dead") for s in FINAL_STATUSES]
    finished += [await plant(seed, job, next(at), status=s, owner=None) for s in FINAL_STATUSES]
    held = [await plant(seed, job, next(at), status=s, owner="live") for s in UNFINISHED]
    held += [await plant(seed, job, next(at), status=s, owner="me") for s in UNFINISHED]

    adopted = await store.adopt_instances("me")

    assert [i.id for i in adopted] == sorted(i.id for i in orphans)
    expected = {i.id: i for i in orphans}
    for got in adopted:
        want = expected[got.id]
        assert got.owner == "me"
        assert (got.status, got.schedule_time) == (want.status, want.schedule_time)
        assert await store.get_instance(got.id) == got
    assert await owners(store, *finished) == [i.owner for i in finished]
    assert await owners(store, *held) == [i.owner for i in held]
    assert await store.adopt_instances("me") == []  # "me" is live: nothing is left over


async def test_adopt_instances_returns_them_by_id(store: SqlStore, seed: Seed) -> None:
    await store.register_server("me", "me:1")
    job = await seed.job()
    orphans = [await plant(seed, job, 100 + n, owner="dead") for n in range(8)]
    # rewrite the older rows, so PostgreSQL stores (and returns) them after the newer ones
    await store.update_instances([InstanceUpdate(i.id, progress="moved") for i in orphans[:4]])
    adopted = await store.adopt_instances("me")
    assert [i.id for i in adopted] == [i.id for i in orphans]
    assert [i.progress for i in adopted] == ["moved"] * 4 + [""] * 4
    assert {i.owner for i in adopted} == {"me"}


async def test_adopt_instances_after_the_owner_leaves(store: SqlStore, seed: Seed) -> None:
    await store.register_server("me", "me:1")
    await store.register_server("gone", "gone:1")
    job = await seed.job()
    theirs = [await plant(seed, job, at, owner="gone", status=S.RUNNING) for at in (100, 200)]
    assert await store.adopt_instances("me") == []
    await store.unregister_server("gone")
    assert [i.id for i in await store.adopt_instances("me")] == [i.id for i in theirs]
    assert await owners(store, *theirs) == ["me", "me"]


async def test_adopt_instances_after_the_owner_expires(store: SqlStore, seed: Seed) -> None:
    await store.register_server("me", "me:1")
    await store.register_server("dead", "dead:1")
    job = await seed.job()
    theirs = await plant(seed, job, 100, owner="dead")
    await set_heartbeat(store, "dead", 5)
    assert await store.adopt_instances("me") == []  # stale, but its row is still there
    assert await store.expire_servers(10_000, keep="me") == ["dead"]
    (adopted,) = await store.adopt_instances("me")
    assert (adopted.id, adopted.owner) == (theirs.id, "me")


# -- hand_over ---------------------------------------------------------------------------------


async def test_hand_over_moves_only_what_this_server_owns(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    store.server_id = "me"
    a = await plant(seed, job, 100)
    b = await plant(seed, job, 200)
    kept = await plant(seed, job, 300)
    others = await plant(seed, job, 400, owner="other")
    store.server_id = None
    unowned = await plant(seed, job, 500)
    store.server_id = "me"
    assert unowned.owner is None

    moved = await store.hand_off([b.id, others.id, a.id, unowned.id, 999_999], "you")

    assert sorted(moved) == [a.id, b.id]
    assert await owners(store, a, b, kept, others, unowned) == ["you", "you", "me", "other", None]
    assert await store.hand_off([a.id, b.id], "third") == []  # not ours any more
    assert await owners(store, a, b) == ["you", "you"]
    assert await store.hand_off([], "you") == []
    assert await store.hand_off([kept.id], "you") == [kept.id]
    assert await owners(store, kept) == ["you"]


async def test_hand_over_leaves_the_rest_of_the_instance(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    store.server_id = "me"
    planted = await plant(seed, job, 100, data_time=90, instance_parameters="x=1")
    assert await store.hand_off([planted.id], "you") == [planted.id]
    got = await store.get_instance(planted.id)
    assert got is not None
    assert got.owner == "you"
    assert (got.status, got.data_time, got.instance_parameters, got.schedule_time) == (
        S.WAITING,
        90,
        "x=1",
        100,
    )


async def test_hand_over_of_unstarted_runs_puts_them_back_to_waiting(
    store: SqlStore, seed: Seed
) -> None:
    """Runs released here that no worker took go back to waiting as the attempt before theirs
    left them, so the new owner starts that very attempt: a first attempt is unstarted again,
    a retry (attempt n) reads as attempt n-1 ended with a retry due."""
    job = await seed.job()
    store.server_id = "me"
    first = await plant(seed, job, 100, status=S.RUNNING, start_time=150)
    retry = await plant(seed, job, 200, status=S.RUNNING, attempt=2, start_time=250, end_time=240)
    planned = await plant(seed, job, 300)  # not released: not a run that waits for a worker
    moved = await store.hand_off([first.id, retry.id, planned.id], "you", unstarted=True)
    assert sorted(moved) == [first.id, retry.id]
    got = {i.id: i for i in await store.get_instances([first.id, retry.id, planned.id])}
    fields = [(i.owner, i.status, i.attempt, i.start_time, i.end_time) for i in got.values()]
    assert fields == [
        ("you", S.WAITING, 0, None, None),
        ("you", S.WAITING, 1, 250, 240),
        ("me", S.WAITING, 0, None, None),
    ]


# -- get_instances / take_up_handed -----------------------------------------------------------


async def test_get_instances_leaves_out_missing_ones(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    made = [await plant(seed, job, 100 + n) for n in range(5)]
    ids = [made[3].id, 999_999, made[0].id, made[3].id, made[1].id, made[4].id]
    got = await store.get_instances(ids)
    assert sorted(i.id for i in got) == [made[0].id, made[1].id, made[3].id, made[4].id]
    for instance in got:
        assert instance == await store.get_instance(instance.id)
    assert await store.get_instances([]) == []
    assert await store.get_instances([999_999]) == []


async def test_get_instances_returns_them_by_id(store: SqlStore, seed: Seed) -> None:
    job = await seed.job()
    made = [await plant(seed, job, 100 + n) for n in range(5)]
    # rewrite the older rows, so PostgreSQL stores them after the newer ones
    await store.update_instances([InstanceUpdate(i.id, progress="p") for i in made[:2]])
    got = await store.get_instances([i.id for i in reversed(made)])
    assert [i.id for i in got] == [i.id for i in made]


async def test_take_up_handed_claims_each_hand_off_once(store: SqlStore, seed: Seed) -> None:
    """A hand-off is taken up by one caller only: the claim deletes its row (issue 21: a
    notification and the sweep for lost ones both took the same instance up)."""
    job = await seed.job()
    store.server_id = "me"
    a, b, c = [await plant(seed, job, at) for at in (100, 200, 300)]
    await plant(seed, job, 400)  # owned, never handed: not taken up
    assert sorted(await store.hand_off([a.id, b.id, c.id], "you")) == [a.id, b.id, c.id]

    assert [i.id for i in await store.take_up_handed("you", [a.id, 999_999])] == [a.id]
    assert await store.take_up_handed("you", [a.id]) == []  # taken already
    assert await store.take_up_handed("other", None) == []  # handed to "you", not to "other"
    assert [(i.id, i.owner) for i in await store.take_up_handed("you")] == [
        (b.id, "you"),
        (c.id, "you"),
    ]
    assert await store.take_up_handed("you") == []


async def test_take_up_handed_at_once_by_two_callers_gives_each_instance_to_one(
    store: SqlStore, seed: Seed
) -> None:
    job = await seed.job()
    store.server_id = "me"
    made = [await plant(seed, job, 100 + n) for n in range(50)]
    await store.hand_off([i.id for i in made], "you")
    first, second = await asyncio.gather(
        store.take_up_handed("you"), store.take_up_handed("you", [i.id for i in made])
    )
    ids = [i.id for i in first] + [i.id for i in second]
    assert sorted(ids) == sorted(i.id for i in made)  # every one taken, none twice


async def test_take_up_handed_leaves_out_what_ended_or_moved_on(
    store: SqlStore, seed: Seed
) -> None:
    job = await seed.job()
    store.server_id = "me"
    ended, moved, kept = [await plant(seed, job, at) for at in (100, 200, 300)]
    await store.hand_off([ended.id, moved.id, kept.id], "you")
    await store.update_instances([InstanceUpdate(ended.id, status=S.SUCCESS)])
    store.server_id = "you"
    assert await store.hand_off([moved.id], "third") == [moved.id]  # handed on, untaken
    assert [i.id for i in await store.take_up_handed("you")] == [kept.id]
    assert [i.id for i in await store.take_up_handed("third")] == [moved.id]


async def test_an_instance_created_for_another_server_is_handed_to_it(
    store: SqlStore, seed: Seed
) -> None:
    """An API trigger created owned by the server whose workers run it is a hand-off too,
    recorded with it; the notification that follows records nothing (taken up already, it
    would be taken up again)."""
    job = await seed.job()
    store.server_id = "me"
    base = Instance(
        job_id=job.id,
        namespace=job.namespace,
        group_id=job.group_id,
        trigger_type=TriggerType.API,
        time_type=job.time_type,
        schedule_time=100,
    )
    theirs, created = await store.create_instance(replace(base, owner="you"))
    mine, _ = await store.create_instance(base)
    assert created and (theirs.owner, mine.owner) == ("you", "me")
    assert [i.id for i in await store.take_up_handed("you")] == [theirs.id]
    await store.notify_owner("you", [theirs.id])
    assert await store.take_up_handed("you") == []
    assert await store.take_up_handed("me") == []


async def test_hand_offs_to_a_server_that_left_or_expired_are_dropped(
    store: SqlStore, seed: Seed
) -> None:
    """What was handed to a server that is gone is adopted with the rest it owned."""
    job = await seed.job()
    store.server_id = "me"
    await store.register_server("left", "l:1")
    await store.register_server("dead", "d:1")
    a, b = await plant(seed, job, 100), await plant(seed, job, 200)
    await store.hand_off([a.id], "left")
    await store.hand_off([b.id], "dead")
    await store.unregister_server("left")
    await set_heartbeat(store, "dead", 5)
    assert await store.expire_servers(10_000, keep="me") == ["dead"]
    assert await store.take_up_handed("left") == []
    assert await store.take_up_handed("dead") == []
    assert sorted(i.id for i in await store.adopt_instances("me")) == [a.id, b.id]


# -- notifications (PostgreSQL) ----------------------------------------------------------------


class Heard:
    """What a second server listening on the same database was told, per channel."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[str]] = {
            HANDOFF_CHANNEL: asyncio.Queue(),
            STOP_CHANNEL: asyncio.Queue(),
            LEFT_CHANNEL: asyncio.Queue(),
        }

    def handlers(self) -> dict[str, Callable[[str], None]]:
        return {channel: queue.put_nowait for channel, queue in self.queues.items()}

    async def next(self, channel: str, within: float = WAIT_S) -> str:
        """The next payload on ``channel`` (probes skipped); fails after ``within`` s."""
        while True:
            payload = await asyncio.wait_for(self.queues[channel].get(), within)
            if not payload.startswith(f"{PROBE}:"):
                return payload

    def pending(self, channel: str) -> list[str]:
        queue = self.queues[channel]
        found = [queue.get_nowait() for _ in range(queue.qsize())]
        return [p for p in found if not p.startswith(f"{PROBE}:")]


async def wait_listening(store: SqlStore, heard: Heard) -> None:
    """Notify until the listener hears it: its LISTEN starts in the background."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    for n in range(1_000_000):
        await store.notify_owner(PROBE, [n])
        with contextlib.suppress(TimeoutError):
            while True:
                payload = await asyncio.wait_for(heard.queues[HANDOFF_CHANNEL].get(), 0.1)
                if payload.startswith(f"{PROBE}:"):
                    return
        if asyncio.get_running_loop().time() > deadline:
            break
    pytest.fail(f"the listener heard nothing within {WAIT_S} s")


async def listen(store: SqlStore, heard: Heard) -> tuple[Callable[[], None], asyncio.Task[None]]:
    """Start listening; the stop function and the listener's task."""
    before = asyncio.all_tasks()
    stop = await store.listen(heard.handlers())
    (task,) = [t for t in asyncio.all_tasks() - before if t.get_name() == "tickwork-listener"]
    return stop, task


async def stopped(stop: Callable[[], None], task: asyncio.Task[None]) -> None:
    stop()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)
    assert task.done()


@pytest.fixture
async def heard(store: SqlStore) -> AsyncIterator[Heard]:
    """A second server on the same PostgreSQL database, listening to both channels."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    other = SqlStore(store.url.render_as_string(hide_password=False))
    await other.open()
    found = Heard()
    stop, task = await listen(other, found)
    try:
        await wait_listening(store, found)
        yield found
    finally:
        await stopped(stop, task)
        await other.close()


def handed(payload: str) -> tuple[str, list[int]]:
    server_id, _, ids = payload.partition(":")
    return server_id, [int(i) for i in ids.split(",")]


@pytest.mark.postgres
async def test_hand_over_notifies_the_new_owner(store: SqlStore, seed: Seed, heard: Heard) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    job = await seed.job()
    store.server_id = "me"
    a = await plant(seed, job, 100)
    b = await plant(seed, job, 200)
    others = await plant(seed, job, 300, owner="other")
    moved = await store.hand_off([a.id, others.id, b.id], "you")
    payload = await heard.next(HANDOFF_CHANNEL)
    server_id, ids = handed(payload)
    assert server_id == "you"
    assert sorted(ids) == sorted(moved) == [a.id, b.id]
    assert payload == f"you:{','.join(str(i) for i in moved)}"
    assert heard.pending(STOP_CHANNEL) == []


@pytest.mark.postgres
async def test_hand_over_of_nothing_notifies_nobody(
    store: SqlStore, seed: Seed, heard: Heard
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    job = await seed.job()
    others = await plant(seed, job, 100, owner="other")
    store.server_id = "me"
    assert await store.hand_off([others.id, 999_999], "you") == []
    assert await store.hand_off([], "you") == []
    await store.notify_owner("marker", [1])  # delivered in order: after any hand-off's
    assert await heard.next(HANDOFF_CHANNEL) == "marker:1"


@pytest.mark.postgres
async def test_notify_owner_splits_long_lists(store: SqlStore, heard: Heard) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    await store.notify_owner("srv", [7])
    assert await heard.next(HANDOFF_CHANNEL) == "srv:7"
    ids = list(range(1_000_000, 1_001_000))
    await store.notify_owner("srv", ids)
    told: list[int] = []
    while len(told) < len(ids):
        server_id, part = handed(await heard.next(HANDOFF_CHANNEL))
        assert server_id == "srv"
        told.extend(part)
    assert told == ids
    assert heard.pending(HANDOFF_CHANNEL) == []


@pytest.mark.postgres
async def test_a_server_that_unregisters_tells_the_others(store: SqlStore, heard: Heard) -> None:
    """So that they adopt what it left at once, not at their next look for orphans."""
    await store.register_server("leaving", "l:1")
    await store.unregister_server("leaving")
    assert await heard.next(LEFT_CHANNEL) == "leaving"
    await store.expire_servers(0, keep="me")  # an expiry is found by the expirer: no word
    await store.notify_owner("marker", [1])
    assert await heard.next(HANDOFF_CHANNEL) == "marker:1"
    assert heard.pending(LEFT_CHANNEL) == []


@pytest.mark.postgres
async def test_notify_stop_tells_the_owner(store: SqlStore, heard: Heard) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    await store.notify_stop("owner-1", 42, "key:alice")
    assert await heard.next(STOP_CHANNEL) == "owner-1:42:key:alice"
    await store.notify_stop("owner-2", 7, "api")
    assert await heard.next(STOP_CHANNEL) == "owner-2:7:api"
    assert heard.pending(HANDOFF_CHANNEL) == []


@pytest.mark.postgres
async def test_notifications_reach_a_listener_on_the_same_store(
    store: SqlStore, seed: Seed
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    mine = Heard()
    stop, task = await listen(store, mine)
    try:
        await wait_listening(store, mine)
        job = await seed.job()
        store.server_id = "me"
        planted = await plant(seed, job, 100)
        assert await store.hand_off([planted.id], "you") == [planted.id]
        assert await mine.next(HANDOFF_CHANNEL) == f"you:{planted.id}"
        await store.notify_stop("you", planted.id, "me")
        assert await mine.next(STOP_CHANNEL) == f"you:{planted.id}:me"
    finally:
        await stopped(stop, task)


@pytest.mark.postgres
async def test_a_stopped_listener_hears_nothing_more(store: SqlStore) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: nothing to notify")
    mine = Heard()
    stop, task = await listen(store, mine)
    await wait_listening(store, mine)
    await stopped(stop, task)
    await store.notify_owner("late", [1])
    await store.notify_stop("late", 1, "me")
    await asyncio.sleep(0.3)
    assert mine.pending(HANDOFF_CHANNEL) == [] and mine.pending(STOP_CHANNEL) == []


async def test_notifications_are_no_ops_on_sqlite(store: SqlStore, seed: Seed) -> None:
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL notifies (tested above)")
    mine = Heard()
    stop = await store.listen(mine.handlers())
    job = await seed.job()
    store.server_id = "me"
    planted = await plant(seed, job, 100)
    assert await store.hand_off([planted.id], "you") == [planted.id]  # moved, nobody told
    await store.notify_owner("you", [planted.id])
    await store.notify_stop("you", planted.id, "me")
    stop()
    assert mine.pending(HANDOFF_CHANNEL) == [] and mine.pending(STOP_CHANNEL) == []
    assert [t for t in asyncio.all_tasks() if t.get_name() == "tickwork-listener"] == []
