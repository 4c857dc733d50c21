"""Signature nonces (service/nonces.py): a nonce is accepted once, the store decides, and
concurrent calls are recorded together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from tickwork.domain.errors import InvalidParameter, Unavailable
from tickwork.server import Runtime
from tickwork.service import nonces as nonce_module
from tickwork.service.nonces import CLOCK_MARGIN_MS, MAX_NONCE_LENGTH, NonceService
from tickwork.store.abc import NonceUse, Store
from tickwork.store.sql import SqlStore

UNTIL = 4_000_000_000_000  # far ahead
KEPT = UNTIL + CLOCK_MARGIN_MS


class Watched:
    """The runtime's store, with each batch of nonces it is asked to record written down."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[list[NonceUse]] = []

    async def use_nonces(self, uses: Sequence[NonceUse], now: int) -> list[bool]:
        self.batches.append(list(uses))
        return await self.store.use_nonces(uses, now)


def watched(runtime: Runtime) -> tuple[NonceService, Watched]:
    store = Watched(runtime.store)
    return NonceService(cast(Store, store)), store


async def test_concurrent_calls_are_recorded_in_one_transaction(runtime: Runtime) -> None:
    nonces, store = watched(runtime)
    answers = await asyncio.gather(*(nonces.use_nonce("k", f"n{i}", UNTIL) for i in range(50)))
    assert answers == [True] * 50
    assert [len(batch) for batch in store.batches] == [50]
    # the next calls make the next batch
    assert await asyncio.gather(
        nonces.use_nonce("k", "a", UNTIL), nonces.use_nonce("k", "b", UNTIL)
    ) == [True, True]
    assert [len(batch) for batch in store.batches] == [50, 2]


async def test_a_batch_gathers_the_calls_of_the_next_turns_until_one_brings_none(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nonce_module, "GATHER_S", 60.0)  # only a quiet turn ends the wait
    nonces, store = watched(runtime)
    started = asyncio.get_running_loop().time()
    calls = [asyncio.ensure_future(nonces.use_nonce("k", "a", UNTIL))]
    for later in ("b", "c"):
        await asyncio.sleep(0)
        calls.append(asyncio.ensure_future(nonces.use_nonce("k", later, UNTIL)))
    assert await asyncio.gather(*calls) == [True, True, True]
    assert [[use.nonce for use in batch] for batch in store.batches] == [["a", "b", "c"]]
    assert asyncio.get_running_loop().time() - started < 30


async def test_a_replay_seen_here_is_refused_without_asking_the_store(runtime: Runtime) -> None:
    nonces, store = watched(runtime)
    assert await nonces.use_nonce("k", "n", UNTIL) is True
    assert await nonces.use_nonce("k", "n", UNTIL) is False
    # the same nonce twice at once: the second is refused before the first is recorded
    assert await asyncio.gather(
        nonces.use_nonce("k", "m", UNTIL), nonces.use_nonce("k", "m", UNTIL)
    ) == [True, False]
    assert store.batches == [[NonceUse("k", "n", KEPT)], [NonceUse("k", "m", KEPT)]]
    assert await nonces.use_nonce("other-key", "n", UNTIL) is True


async def test_the_store_decides_for_nonces_this_server_has_not_seen(runtime: Runtime) -> None:
    """A restarted server, or another one on the same database, starts with an empty memory:
    the stored record refuses the replay."""
    first, _ = watched(runtime)
    restarted, store = watched(runtime)
    assert await first.use_nonce("k", "n", UNTIL) is True
    assert await restarted.use_nonce("k", "n", UNTIL) is False
    assert store.batches == [[NonceUse("k", "n", KEPT)]]
    # now remembered here too: no second round trip
    assert await restarted.use_nonce("k", "n", UNTIL) is False
    assert len(store.batches) == 1


async def test_a_call_is_kept_a_clock_margin_beyond_its_window(runtime: Runtime) -> None:
    """Servers delete expired records by their own clocks: a record outlives the window by
    CLOCK_MARGIN_MS, so a server whose clock is behind still finds it."""
    now = [1_000_000.0]
    until_ms = 1_000_900_000
    nonces = NonceService(runtime.store, clock=lambda: now[0])
    assert await nonces.use_nonce("k", "n", until_ms) is True
    now[0] = until_ms / 1000 + CLOCK_MARGIN_MS / 1000 - 1
    assert await nonces.use_nonce("k", "n", until_ms) is False
    behind = NonceService(runtime.store, clock=lambda: now[0])
    assert await behind.use_nonce("k", "n", until_ms) is False
    # past the margin the call is refused as expired (the timestamp check refuses it first)
    now[0] += 2
    later = NonceService(runtime.store, clock=lambda: now[0])
    assert await later.use_nonce("k", "n", until_ms) is False


async def test_another_timestamp_makes_another_call(runtime: Runtime) -> None:
    nonces, _ = watched(runtime)
    assert await nonces.use_nonce("k", "n", UNTIL) is True
    assert await nonces.use_nonce("k", "n", UNTIL + 1000) is True
    assert await NonceService(runtime.store).use_nonce("k", "n", UNTIL + 1000) is False


async def test_a_call_that_could_not_be_recorded_does_not_use_up_its_nonce(
    runtime: Runtime,
) -> None:
    store = SqlStore(cast(SqlStore, runtime.store).url.render_as_string(hide_password=False))
    nonces = NonceService(store)
    with pytest.raises(Unavailable):
        await nonces.use_nonce("k", "n", UNTIL)  # the database is not reachable (not open)
    await store.open()
    try:
        assert await nonces.use_nonce("k", "n", UNTIL) is True
        assert await nonces.use_nonce("k", "n", UNTIL) is False
    finally:
        await store.close()


async def test_a_caller_that_went_away_leaves_the_others_their_answers(runtime: Runtime) -> None:
    nonces, _ = watched(runtime)
    gone = asyncio.ensure_future(nonces.use_nonce("k", "gone", UNTIL))
    stays = asyncio.ensure_future(nonces.use_nonce("k", "stays", UNTIL))
    await asyncio.sleep(0)
    gone.cancel()
    assert await stays is True
    with pytest.raises(asyncio.CancelledError):
        await gone


@pytest.mark.parametrize(
    "nonce",
    ["", "x" * (MAX_NONCE_LENGTH + 1), "abc\x00def", "line\nbreak"],
    ids=["empty", "too-long", "nul", "newline"],
)
async def test_a_malformed_nonce_is_refused_naming_the_field(runtime: Runtime, nonce: str) -> None:
    nonces, store = watched(runtime)
    with pytest.raises(InvalidParameter) as caught:
        await nonces.use_nonce("k", nonce, UNTIL)
    assert caught.value.field == "nonce"
    assert store.batches == []


async def test_the_longest_nonce_and_any_printable_text_are_kept(runtime: Runtime) -> None:
    nonces, _ = watched(runtime)
    for nonce in ("é" * MAX_NONCE_LENGTH, "a b*~/é+&=中", "'; DROP TABLE used_nonces; --"):
        assert await nonces.use_nonce("k", nonce, UNTIL) is True
        assert await NonceService(runtime.store).use_nonce("k", nonce, UNTIL) is False
