"""Signature nonces: a signed call is accepted once.

Every signed face (the SchedulerX RPC API now; others with signatures of their own later)
asks ``NonceService.use_nonce`` once a call's signature is verified. A call is known by its
access key, its nonce and its signed timestamp: a replay repeats all three (changing one
breaks the signature). The store is the authority: the call is recorded in the database
until its timestamp has left the window, so a replay is refused after a restart and by every
server of the database. Each call therefore writes; concurrent calls go to the store
together, one transaction a batch (group commit, as triggers do), and a replay this server
has already seen is refused from memory, without a round trip.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable

from tickwork.domain.errors import InvalidParameter
from tickwork.store.abc import NonceUse, Store

__all__ = [
    "CLOCK_MARGIN_MS",
    "MAX_BATCH",
    "MAX_NONCE_LENGTH",
    "NonceCache",
    "NonceService",
]

MAX_NONCE_LENGTH = 255
"""The longest nonce accepted (the SDKs send 32-36 characters): what the store's key holds."""
MAX_BATCH = 1000
"""Nonces recorded in one transaction at most."""
GATHER_S = 0.005
"""A batch gathers the calls of the loop's turns for up to this long, while each turn brings
more; a turn with none new ends the wait, so the loop never idles for it. The calls of a
batch then go on together, and the runs they start are inserted, and their statuses written,
in batches as big: with 32 signed calls in flight (the api bench, SQLite) one turn only made
batches of 7 and cost 10-20 % of the calls a second; 1 ms, batches of 13 and a few %; 5 ms,
15-20 % more calls a second than before nonces were written at all."""
CLOCK_MARGIN_MS = 60_000
"""A record is kept this long after its timestamp has left the window: servers of one database
whose clocks differ by less than this agree that it still holds (one deletes expired records
by its own clock while another may still accept the timestamp by its clock)."""

Pending = tuple[NonceUse, "asyncio.Future[bool]"]


class NonceCache:
    """Signed calls seen, as (key id, nonce, until), each kept until ``until``, at most
    ``max_entries`` of them: past that, the ones nearest their expiry are forgotten first
    (about 300 bytes each). A first check only: what it forgets, the store still knows."""

    def __init__(self, max_entries: int = 500_000) -> None:
        self._max = max_entries
        self._seen: set[tuple[str, str, float]] = set()
        self._expiry: list[tuple[float, str, str]] = []  # heap of (until, key id, nonce)

    def __len__(self) -> int:
        return len(self._seen)

    def purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            until, key_id, nonce = heapq.heappop(self._expiry)
            self._seen.discard((key_id, nonce, until))

    def use(self, key_id: str, nonce: str, *, now: float, until: float) -> bool:
        """Record the call; False if it was already seen (and has not expired)."""
        self.purge(now)
        seen = (key_id, nonce, until)
        if seen in self._seen:
            return False
        self._seen.add(seen)
        heapq.heappush(self._expiry, (until, key_id, nonce))
        while len(self._seen) > self._max:
            self.purge(self._expiry[0][0])
        return True

    def forget(self, key_id: str, nonce: str, until: float) -> None:
        """Drop a call that was not recorded after all (its heap entry goes when due)."""
        self._seen.discard((key_id, nonce, until))


class NonceService:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        remembered: int = 500_000,
    ) -> None:
        self._store = store
        self._clock = clock
        self._seen = NonceCache(remembered)
        self._pending: list[Pending] = []
        self._gathering = False  # a batch is gathering: new calls join it
        self._writing = asyncio.Lock()  # one batch is written at a time
        self._recorders: set[asyncio.Task[None]] = set()

    async def use_nonce(self, key_id: str, nonce: str, until_ms: int) -> bool:
        """Record that ``key_id`` made a call with ``nonce`` whose signed timestamp is
        acceptable until ``until_ms`` (epoch ms); False when that call was already recorded
        and its record is still kept, here or on another server: a replay. InvalidParameter
        for a nonce that is empty, longer than ``MAX_NONCE_LENGTH`` or holds a control
        character."""
        _check(nonce)
        kept_until = until_ms + CLOCK_MARGIN_MS
        if not self._seen.use(key_id, nonce, now=self._clock(), until=kept_until / 1000):
            return False
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._pending.append((NonceUse(key_id, nonce, kept_until), answer))
        if not self._gathering:
            self._start_batch()
        try:
            fresh = await answer
        except BaseException:
            # Not recorded (the database failed) or not waited for: the store, not this
            # memory, decides when the call is made again.
            self._seen.forget(key_id, nonce, kept_until / 1000)
            raise
        return fresh

    def _start_batch(self) -> None:
        """A recorder for the next batch: it starts at the loop's next turn, so the calls
        handled in this one join it. It ends with its batch: nothing to stop."""
        self._gathering = True
        task = asyncio.get_running_loop().create_task(
            self._record(), name="tickwork-nonce-recorder"
        )
        self._recorders.add(task)
        task.add_done_callback(self._recorders.discard)

    async def _record(self) -> None:
        """Gather a batch, then write it. Once it is taken the next batch starts gathering,
        and goes on gathering until this one is written: one write at a time (the store
        keeps one connection for them on PostgreSQL), as big as the calls allow."""
        try:
            await self._gather()
            await self._writing.acquire()
        finally:
            self._gathering = False
        try:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            if self._pending:
                self._start_batch()
            await self._record_batch(batch)
        finally:
            self._writing.release()

    async def _gather(self) -> None:
        """Let the loop turn while each turn adds calls to the batch, for ``GATHER_S`` at
        most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_S
        waiting = 0
        while waiting < len(self._pending) < MAX_BATCH and loop.time() < deadline:
            waiting = len(self._pending)
            await asyncio.sleep(0)

    async def _record_batch(self, batch: list[Pending]) -> None:
        now_ms = int(self._clock() * 1000)
        try:
            fresh = await self._store.use_nonces([use for use, _ in batch], now_ms)
        except Exception as exc:  # the database is away or refused: each caller hears why
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), new in zip(batch, fresh, strict=True):
            if not answer.done():  # its caller went away
                answer.set_result(new)


def _check(nonce: str) -> None:
    if not nonce:
        raise InvalidParameter("a signature nonce must not be empty", field="nonce")
    if len(nonce) > MAX_NONCE_LENGTH:
        raise InvalidParameter(
            f"a signature nonce must be at most {MAX_NONCE_LENGTH} characters, got "
            f"{len(nonce)}: give each call a new random one (a UUID, say)",
            field="nonce",
        )
    if not nonce.isprintable():
        raise InvalidParameter(
            "a signature nonce must not hold control characters: give each call a new random "
            "one (a UUID, say)",
            field="nonce",
        )
