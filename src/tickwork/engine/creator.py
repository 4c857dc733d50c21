"""Group commit for triggers: the instances that concurrent API calls create are inserted
together, one transaction per batch, while the next batch gathers (as ``BatchWriter`` does
for status changes). A caller waits for its own instance only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from tickwork.domain.errors import JobNotFound
from tickwork.domain.models import Instance

log = logging.getLogger(__name__)

__all__ = ["MAX_BATCH", "InstanceCreator", "InstanceInserts"]

MAX_BATCH = 1000

Pending = tuple[Instance, "asyncio.Future[tuple[Instance, bool]]"]


class InstanceInserts(Protocol):
    """What the creator calls of the store."""

    async def create_instance(self, instance: Instance) -> tuple[Instance, bool]: ...

    async def create_instances(
        self, batch: Sequence[Instance]
    ) -> list[tuple[Instance, bool] | None]: ...


class InstanceCreator:
    def __init__(self, store: InstanceInserts) -> None:
        self._store = store
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tickwork-instance-creator")

    async def close(self) -> None:
        """Insert what waits, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._pending:
            await self._insert_batch()

    async def create(self, instance: Instance) -> tuple[Instance, bool]:
        """As ``Store.create_instance``: (stored, created), JobNotFound without its job."""
        if self._task is None:  # not started (tools, tests): one at a time
            return await self._store.create_instance(instance)
        done: asyncio.Future[tuple[Instance, bool]] = asyncio.get_running_loop().create_future()
        self._pending.append((instance, done))
        self._wake.set()
        return await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._insert_batch()

    async def _insert_batch(self) -> None:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        try:
            results = await self._store.create_instances([instance for instance, _ in batch])
        except Exception as exc:  # the store is down or refused: each caller hears why
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (instance, done), result in zip(batch, results, strict=True):
            if done.done():  # its caller went away
                continue
            if result is None:
                done.set_exception(
                    JobNotFound(f"job {instance.job_id} does not exist", field="job_id")
                )
            else:
                done.set_result(result)
