"""Contract: signed calls accepted (``Store.use_nonces``), shared by every store of a
database."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from pg_support import pg_admin

from tickwork.domain.errors import Unavailable
from tickwork.store import engine as store_engine
from tickwork.store.abc import NonceUse
from tickwork.store.sql import SqlStore
from tickwork.store.sql_nonces import PRUNE_EVERY_MS, PRUNE_MAX
from tickwork.store.tables import used_nonces


async def kept(store: SqlStore) -> set[NonceUse]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(used_nonces))).all()
    return {NonceUse(row.key_id, row.nonce, row.kept_until) for row in rows}


async def test_a_call_is_new_once(store: SqlStore) -> None:
    assert await store.use_nonces([], now=0) == []
    first = [NonceUse("k", "n1", 5000), NonceUse("k", "n2", 5000), NonceUse("other", "n1", 5000)]
    assert await store.use_nonces(first, now=1000) == [True, True, True]
    again = [
        NonceUse("k", "n3", 7000),
        NonceUse("k", "n1", 5000),  # a replay
        NonceUse("other", "n1", 5000),  # a replay
        NonceUse("k", "n1", 6000),  # the nonce again, with another timestamp: another call
    ]
    assert await store.use_nonces(again, now=2000) == [True, False, False, True]
    assert await kept(store) == {*first, again[0], again[3]}


async def test_a_use_given_twice_in_one_call_is_new_the_first_time_only(
    store: SqlStore,
) -> None:
    b, a = NonceUse("k", "b", 5000), NonceUse("k", "a", 5000)
    assert await store.use_nonces([b, a, b, a, b], now=1000) == [True, True, False, False, False]
    assert await kept(store) == {a, b}


async def test_a_use_expired_already_is_not_new_nor_recorded(store: SqlStore) -> None:
    live = NonceUse("k", "live", 5001)
    uses = [NonceUse("k", "late", 4999), NonceUse("k", "due", 5000), live]
    assert await store.use_nonces(uses, now=5000) == [False, False, True]
    assert await store.use_nonces(uses[:2], now=5000) == [False, False]
    assert await kept(store) == {live}


async def test_any_text_the_key_holds_is_kept_as_given(store: SqlStore) -> None:
    odd = [
        NonceUse("k", "é" * 255, 5000),
        NonceUse("k", "a b*~/é+&=中'\"\\[]{}", 5000),
        NonceUse("k", "'); DROP TABLE used_nonces; --", 5000),
        NonceUse("k" * 255, "n", 5000),
    ]
    assert await store.use_nonces(odd, now=1000) == [True] * len(odd)
    assert await store.use_nonces(odd, now=1000) == [False] * len(odd)
    assert await kept(store) == set(odd)


async def test_expired_records_are_deleted_as_new_ones_come_a_few_at_a_time(
    store: SqlStore,
) -> None:
    old = [NonceUse("k", f"old{i:04}", 1000 + i) for i in range(PRUNE_MAX + 10)]
    live = [NonceUse("k", f"live{i}", 50_000) for i in range(3)]
    assert all(await store.use_nonces(old + live, now=0))
    # the next call deletes the PRUNE_MAX oldest expired records, no more ...
    new = NonceUse("k", "new", 50_000)
    assert await store.use_nonces([new], now=10_000) == [True]
    assert await kept(store) == {*old[PRUNE_MAX:], *live, new}
    # ... and, since some are left, the one after deletes again at once
    more = NonceUse("k", "more", 50_000)
    assert await store.use_nonces([more], now=10_000) == [True]
    assert await kept(store) == {*live, new, more}
    # with none left, deleting waits PRUNE_EVERY_MS; a record is kept until its instant
    soon = NonceUse("k", "soon", 10_001)
    assert await store.use_nonces([soon], now=10_000) == [True]
    assert soon in await kept(store)
    await store.use_nonces([NonceUse("k", "a", 50_000)], now=10_000 + PRUNE_EVERY_MS - 1)
    assert soon in await kept(store)
    await store.use_nonces([NonceUse("k", "b", 50_000)], now=10_000 + PRUNE_EVERY_MS)
    assert soon not in await kept(store)
    assert {*live, new, more} <= await kept(store)


async def test_concurrent_uses_through_two_stores_of_one_database_are_new_once(
    store: SqlStore,
) -> None:
    """Two servers recording the same calls at the same moment (a replay sent to both while
    the first is still being recorded): for each call exactly one of them hears it is new."""
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


@pytest.mark.postgres
async def test_the_recorders_connection_is_replaced_when_the_database_drops_it(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL records nonces on a connection of its own, held open: one the database
    dropped while idle (a restart) is replaced before use, as the pool's connections are; one
    dropped in use fails that batch only."""
    if store.dialect != "postgresql":
        pytest.skip("a PostgreSQL connection")
    monkeypatch.setattr(store_engine, "PING_IDLE_S", 0.05)
    database = store.url.database

    async def drop_connections() -> None:
        await pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )

    assert await store.use_nonces([NonceUse("k", "a", 9000)], now=1000) == [True]
    await drop_connections()
    await asyncio.sleep(0.1)
    assert await store.use_nonces([NonceUse("k", "b", 9000)], now=1000) == [True]
    # dropped and used at once (no idle ping): that batch fails, the next reconnects
    monkeypatch.setattr(store_engine, "PING_IDLE_S", 3600.0)
    await drop_connections()
    with pytest.raises(Unavailable) as failed:
        await store.use_nonces([NonceUse("k", "c", 9000)], now=1000)
    # the database's own words stay in the server's log
    assert failed.value.message == "the database failed; the server log has the details"
    assert await store.use_nonces([NonceUse("k", "c", 9000)], now=1000) == [True]
    assert await store.use_nonces([NonceUse("k", "a", 9000)], now=1000) == [False]
