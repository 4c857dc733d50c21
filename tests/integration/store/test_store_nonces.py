"""Contract: signature nonces used (``Store.use_nonces``), shared by every store of a
database."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tickwork.store.abc import NonceUse
from tickwork.store.sql import SqlStore
from tickwork.store.sql_nonces import PRUNE_EXTRA
from tickwork.store.tables import used_nonces


async def kept(store: SqlStore) -> dict[tuple[str, str], int]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(used_nonces))).all()
    return {(row.key_id, row.nonce): row.kept_until for row in rows}


async def test_a_nonce_is_new_once_per_key(store: SqlStore) -> None:
    assert await store.use_nonces([], now=0) == []
    first = [NonceUse("k", "n1", 5000), NonceUse("k", "n2", 5000), NonceUse("other", "n1", 6000)]
    assert await store.use_nonces(first, now=1000) == [True, True, True]
    again = [NonceUse("k", "n3", 7000), NonceUse("k", "n1", 7000), NonceUse("other", "n1", 7000)]
    assert await store.use_nonces(again, now=2000) == [True, False, False]
    # a replay does not extend the record it ran into
    assert await kept(store) == {
        ("k", "n1"): 5000,
        ("k", "n2"): 5000,
        ("other", "n1"): 6000,
        ("k", "n3"): 7000,
    }


async def test_a_pair_given_twice_in_one_call_is_new_the_first_time_only(
    store: SqlStore,
) -> None:
    uses = [
        NonceUse("k", "b", 5000),
        NonceUse("k", "a", 5000),
        NonceUse("k", "b", 9000),
        NonceUse("k", "a", 5000),
    ]
    assert await store.use_nonces(uses, now=1000) == [True, True, False, False]
    assert await kept(store) == {("k", "a"): 5000, ("k", "b"): 5000}


async def test_a_record_holds_until_its_instant_then_the_pair_is_new_again(
    store: SqlStore,
) -> None:
    assert await store.use_nonces([NonceUse("k", "n", 5000)], now=1000) == [True]
    assert await store.use_nonces([NonceUse("k", "n", 9000)], now=4999) == [False]
    assert await store.use_nonces([NonceUse("k", "n", 9000)], now=5000) == [True]
    assert await kept(store) == {("k", "n"): 9000}
    assert await store.use_nonces([NonceUse("k", "n", 20000)], now=8000) == [False]


async def test_expired_records_are_deleted_as_new_ones_come_a_few_at_a_time(
    store: SqlStore,
) -> None:
    old = [NonceUse("k", f"old{i:03}", 1000 + i) for i in range(2 * PRUNE_EXTRA)]
    live = [NonceUse("k", f"live{i}", 50_000) for i in range(3)]
    assert all(await store.use_nonces(old + live, now=0))
    # one new record: at most 2 + PRUNE_EXTRA expired ones go, the oldest first
    assert await store.use_nonces([NonceUse("k", "new", 50_000)], now=10_000) == [True]
    left = await kept(store)
    gone = [use for use in old if (use.key_id, use.nonce) not in left]
    assert gone == old[: 2 + PRUNE_EXTRA]
    # later calls take the rest; records still kept are never deleted
    while any(until <= 10_000 for until in (await kept(store)).values()):
        await store.use_nonces([NonceUse("k", f"more{len(left)}", 50_000)], now=10_000)
        left = await kept(store)
    assert {(u.key_id, u.nonce) for u in live} | {("k", "new")} <= set(left)


async def test_concurrent_uses_through_two_stores_of_one_database_are_new_once(
    store: SqlStore,
) -> None:
    """Two servers recording the same pairs at the same moment (a replay sent to both while
    the first call is still being recorded): for each pair exactly one call hears it is new."""
    other = SqlStore(store.url.render_as_string(hide_password=False))
    await other.open()
    try:
        nonces = [f"n{i}" for i in range(20)]
        orders = [nonces, nonces[::-1], nonces[10:] + nonces[:10], nonces[::2] + nonces[1::2]]
        calls = [
            (store if n % 2 == 0 else other).use_nonces(
                [NonceUse("k", nonce, 9000) for nonce in order], now=1000
            )
            for n, order in enumerate(orders)
        ]
        answers = await asyncio.gather(*calls)
        new_by_nonce = dict.fromkeys(nonces, 0)
        for order, answer in zip(orders, answers, strict=True):
            for nonce, new in zip(order, answer, strict=True):
                new_by_nonce[nonce] += new
        assert new_by_nonce == dict.fromkeys(nonces, 1)
        assert await other.use_nonces([NonceUse("k", "n0", 9000)], now=2000) == [False]
    finally:
        await other.close()
