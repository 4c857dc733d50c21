"""LeaseKeeper and LeaseFence, with a fake store and holder and an injected clock: beats are
called directly, nothing waits for a heartbeat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tickwork.domain.enums import InstanceStatus, TimeType, TriggerType
from tickwork.domain.models import Instance, WorkerInfo
from tickwork.engine.leases import ADOPT_EVERY, LeaseFence, LeaseKeeper
from tickwork.engine.peers import OtherServers
from tickwork.store.abc import ServerRow

ME = "me"


class FakeStore:
    """Only what the lease keeper and the view of the other servers call."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.renews = True  # False: the others took this server for dead
        self.expired: list[str] = []
        self.orphans: list[Instance] = []
        self.rows: list[ServerRow] = []
        self.recorded: tuple[Sequence[str], Mapping[str, Sequence[WorkerInfo]] | None] = ((), None)

    async def register_server(self, server_id: str, address: str) -> None:
        self.calls.append(f"register {server_id} {address}")

    async def renew_server(
        self,
        server_id: str,
        groups: Sequence[str] = (),
        workers: Mapping[str, Sequence[WorkerInfo]] | None = None,
    ) -> bool:
        self.calls.append("renew")
        self.recorded = (groups, workers)
        return self.renews

    async def unregister_server(self, server_id: str) -> None:
        self.calls.append("unregister")

    async def expire_servers(self, lease_ms: int, keep: str | None = None) -> list[str]:
        self.calls.append(f"expire {lease_ms} keep={keep}")
        expired, self.expired = self.expired, []
        return expired

    async def adopt_instances(self, server_id: str) -> list[Instance]:
        self.calls.append("adopt")
        adopted, self.orphans = self.orphans, []
        return adopted

    async def live_servers(self) -> list[ServerRow]:
        return self.rows


class FakeHolder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.adopted: list[Instance] = []

    async def step_aside(self) -> None:
        self.calls.append("step_aside")

    async def adopt(self, instances: list[Instance]) -> None:
        self.calls.append("adopt")
        self.adopted.extend(instances)

    def drop_unlaunched(self) -> None:
        self.calls.append("drop_unlaunched")

    def groups_here(self) -> list[str]:
        return ["ns/g"]

    def agents_here(self) -> dict[str, list[WorkerInfo]]:
        return {}

    async def hand_off_parked(self) -> None:
        self.calls.append("hand_off_parked")

    async def take_up_missed(self) -> None:
        self.calls.append("take_up_missed")


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def orphan(iid: int) -> Instance:
    return Instance(
        id=iid,
        job_id=1,
        namespace="ns",
        group_id="g",
        trigger_type=TriggerType.API,
        time_type=TimeType.API,
        schedule_time=0,
        status=InstanceStatus.WAITING,
    )


def keeper(
    store: FakeStore, holder: FakeHolder, clock: Clock
) -> tuple[LeaseKeeper, LeaseFence, OtherServers]:
    fence = LeaseFence(10.0, clock=clock)
    others = OtherServers(store, ME, heartbeat_s=1.0)
    kept = LeaseKeeper(
        store,
        ME,
        "host:1",
        lease_s=10.0,
        heartbeat_s=1.0,
        fence=fence,
        others=others,
        holder=holder,
    )
    return kept, fence, others


def test_the_fence_rises_after_half_the_lease_without_a_renewal() -> None:
    clock = Clock()
    fence = LeaseFence(10.0, clock=clock)
    assert not fence.fenced()  # no lease held yet: nothing to fence
    fence.renewed()
    clock.ms += 5000
    assert not fence.fenced()
    clock.ms += 1
    assert fence.fenced()
    fence.renewed()
    assert not fence.fenced()
    clock.ms += 60_000
    fence.released()
    assert not fence.fenced()  # stopped: nothing to fence


async def test_start_registers_and_returns_what_it_adopted_at_once() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    store.orphans = [orphan(7)]
    kept, fence, _ = keeper(store, holder, clock)
    try:
        adopted = await kept.start(single_server=True)
        assert [i.id for i in adopted] == [7]
        assert store.calls[:2] == ["expire 0 keep=None", "register me host:1"]
        clock.ms += 5001
        assert fence.fenced()
    finally:
        await kept.stop()
    assert store.calls[-1] == "unregister"
    assert not fence.fenced()


async def test_a_beat_renews_learns_the_others_and_hands_off_parked_runs() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    store.rows = [
        ServerRow(id=ME, address="host:1", started_at=0, heartbeat_at=5000, groups=()),
        ServerRow(id="other", address="host:2", started_at=0, heartbeat_at=5000, groups=("a/b",)),
    ]
    kept, fence, others = keeper(store, holder, clock)
    fence.renewed()
    clock.ms += 6000
    assert fence.fenced()
    await kept.beat()
    assert not fence.fenced()
    assert store.recorded == (["ns/g"], {})
    assert others.alive == {ME, "other"} and others.server_for("a", "b") == "other"
    # no adoption: nobody expired, not the 5th beat; what was handed here is looked for
    assert holder.calls == ["hand_off_parked", "take_up_missed"]


async def test_a_server_taken_for_dead_drops_unlaunched_runs_and_registers_again() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    store.renews = False
    kept, _, _ = keeper(store, holder, clock)
    await kept.beat()
    assert holder.calls[0] == "drop_unlaunched"
    assert "register me host:1" in store.calls


async def steady(kept: LeaseKeeper, clock: Clock, for_ms: int = 10_000) -> None:
    """Beat every second for ``for_ms``: this server has renewed without a gap that long."""
    for _ in range(for_ms // 1000 + 1):
        await kept.beat()
        clock.ms += 1000


async def test_orphans_are_adopted_when_a_server_expires_and_every_few_beats() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, _, _ = keeper(store, holder, clock)
    await steady(kept, clock)
    holder.calls.clear()
    store.expired, store.orphans = ["dead"], [orphan(1)]
    await kept.beat()
    assert [i.id for i in holder.adopted] == [1]
    holder.calls.clear()
    store.orphans = [orphan(2)]
    while kept._beats % ADOPT_EVERY != ADOPT_EVERY - 1:
        await kept.beat()
    assert "adopt" not in holder.calls  # nothing expired: not every beat
    await kept.beat()  # the 5th
    assert [i.id for i in holder.adopted] == [1, 2]


async def test_what_was_handed_here_is_looked_for_at_every_beat() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, _, _ = keeper(store, holder, clock)
    for _ in range(3):
        await kept.beat()
    assert holder.calls.count("take_up_missed") == 3


async def test_no_server_is_taken_for_dead_until_this_one_renewed_steadily_for_a_lease() -> None:
    """After the database was down (or this process stalled), every heartbeat is old at once:
    judged at the first beat after, the others would be adopted while they carry on."""
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, _, _ = keeper(store, holder, clock)
    await kept.beat()  # the first renewal: not steady yet
    assert not any(c.startswith("expire") for c in store.calls)
    await steady(kept, clock)
    assert any(c.startswith("expire") for c in store.calls)
    clock.ms += 6000  # renewals failed for 6 s: a gap past half the lease
    store.calls.clear()
    await steady(kept, clock, for_ms=8000)
    assert not any(c.startswith("expire") for c in store.calls)
    await steady(kept, clock, for_ms=2000)
    assert any(c.startswith("expire") for c in store.calls)


async def test_the_fence_counts_from_when_the_renewal_was_sent() -> None:
    """The database stamps the renewal on arrival; an answer read 3 s later (the loop
    stalled) must not move the fence 3 s on, past when the others may adopt."""
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, fence, _ = keeper(store, holder, clock)

    async def slow_renew(*args: object) -> bool:
        clock.ms += 3000
        return True

    store.renew_server = slow_renew  # type: ignore[method-assign]
    await kept.beat()
    clock.ms += 2001  # 5001 ms after the renewal was sent
    assert fence.fenced()


async def test_a_leaving_server_advertises_no_workers_and_adopts_nothing_more() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, _, _ = keeper(store, holder, clock)
    await kept.beat()
    assert store.recorded[0] == ["ns/g"]
    await kept.leave()
    assert store.recorded == ((), {})
    holder.calls.clear()
    store.expired, store.orphans = ["dead"], [orphan(1)]
    await kept.beat()
    assert store.recorded == ([], {})
    assert holder.calls == []  # it keeps its lease while its runs end, and takes nothing


async def test_adopt_now_adopts_what_a_server_that_left_owned() -> None:
    store, holder, clock = FakeStore(), FakeHolder(), Clock()
    kept, _, _ = keeper(store, holder, clock)
    store.orphans = [orphan(3)]
    await kept.adopt_now()
    assert [i.id for i in holder.adopted] == [3]
