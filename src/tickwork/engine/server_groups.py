"""The app groups whose runs the server's own (in-process) worker may take.

A run on the server's own worker is code on the server's host, beside its database and
credentials: only the groups an admin allowed (``run_on_server``) run there; the others wait
for worker agents of their own (docs/security.md). The set is read at start, again at once
after a change through this server, and every ``refresh_s`` for changes made through another
server sharing the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

__all__ = ["GroupSource", "ServerGroups"]

log = logging.getLogger(__name__)

REFRESH_S = 5.0


class GroupSource(Protocol):
    async def list_server_groups(self) -> list[tuple[str, str]]: ...


class ServerGroups:
    def __init__(self, source: GroupSource, *, refresh_s: float = REFRESH_S) -> None:
        self._source = source
        self._refresh_s = refresh_s
        self._allowed: frozenset[tuple[str, str]] = frozenset()
        self._task: asyncio.Task[None] | None = None

    def allows(self, namespace: str, group_id: str) -> bool:
        return (namespace, group_id) in self._allowed

    async def reload(self) -> None:
        self._allowed = frozenset(await self._source.list_server_groups())

    async def start(self, *, periodic: bool) -> None:
        """Read the set; with ``periodic``, keep reading it (other servers may change it)."""
        await self.reload()
        if periodic and self._task is None:
            self._task = asyncio.create_task(self._refresh(), name="tickwork-server-groups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
            except Exception as exc:  # the database is away: keep the last set, try again
                log.warning("could not read the app groups allowed on this server: %s", exc)
