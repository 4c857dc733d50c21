"""Run a subprocess in its own session, capture its output line by line, and kill its tree.

The process tree of a run is its process group: the child is started in a new session
(``start_new_session``) so that it and everything it forks share one process group, which
``os.killpg`` signals at once. A process that calls ``setsid`` itself leaves the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "MAX_LINE_BYTES",
    "STDERR",
    "STDOUT",
    "GroupProcess",
    "group_members",
    "signal_group",
    "terminate_group",
]

STDOUT = 1
STDERR = 2
MAX_LINE_BYTES = 16 * 1024
"""A longer line is cut into pieces of this size."""

_POLL_S = 0.02
LineHandler = Callable[[int, str, int], None]  # (fd, line, epoch ms)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _process_group_of(stat: str) -> int | None:
    # /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parens.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 3 or fields[0] in ("Z", "X"):  # zombies and dead ones do not count
        return None
    return int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of the process group ``pgid``."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():  # no procfs: ask the kernel, zombies included
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group = _process_group_of((entry / "stat").read_text())
        except (OSError, ValueError):
            continue
        if group == pgid:
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False if it has no process left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _wait_group_gone(pgid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_S)
    return True


def use_pidfd_child_watcher(loop: asyncio.AbstractEventLoop) -> bool:
    """On Python 3.11 with Linux pidfds, learn of child exits through the event loop instead of
    a thread blocked in waitpid() per child (3.11's default), which costs a thread per run and
    delays exits under load. Python 3.12+ does this by itself. True if it is in use."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(loop)
        asyncio.set_child_watcher(watcher)
    return True


def group_exists(pgid: int) -> bool:
    """Whether the kernel still knows the group (zombies included): a cheap first check
    before the /proc scan of ``group_members``."""
    return signal_group(pgid, 0)


async def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
    if not group_exists(pgid) or not group_members(pgid):
        return
    signal_group(pgid, signal.SIGTERM)
    if await _wait_group_gone(pgid, grace):
        return
    signal_group(pgid, signal.SIGKILL)
    await _wait_group_gone(pgid, 5.0)


class _LineSplitter:
    def __init__(self, fd: int, on_line: LineHandler) -> None:
        self._fd = fd
        self._on_line = on_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            self._emit(bytes(self._buffer[:end]))
            del self._buffer[: end + 1]
        while len(self._buffer) >= MAX_LINE_BYTES:
            self._emit(bytes(self._buffer[:MAX_LINE_BYTES]))
            del self._buffer[:MAX_LINE_BYTES]

    def flush(self) -> None:
        if self._buffer:
            self._emit(bytes(self._buffer))
            self._buffer.clear()

    def _emit(self, raw: bytes) -> None:
        for start in range(0, max(len(raw), 1), MAX_LINE_BYTES):
            piece = raw[start : start + MAX_LINE_BYTES]
            if piece.endswith(b"\r"):
                piece = piece[:-1]
            self._on_line(self._fd, piece.decode("utf-8", errors="replace"), _now_ms())


class _CaptureProtocol(asyncio.SubprocessProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, on_line: LineHandler) -> None:
        self._splitters = {
            STDOUT: _LineSplitter(STDOUT, on_line),
            STDERR: _LineSplitter(STDERR, on_line),
        }
        self._open = {STDOUT, STDERR}
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        splitter = self._splitters.get(fd)
        if splitter is not None:
            splitter.feed(data.encode() if isinstance(data, str) else data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        splitter = self._splitters.get(fd)
        if splitter is not None:
            splitter.flush()
        self._open.discard(fd)
        if not self._open and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def flush(self) -> None:
        for splitter in self._splitters.values():
            splitter.flush()


class GroupProcess:
    """A subprocess leading its own process group, with its output delivered line by line."""

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _CaptureProtocol,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self.pid = transport.get_pid()
        self.pgid = self.pid  # a new session: the leader's pid is the group id

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        on_line: LineHandler,
        cwd: str | None = None,
    ) -> GroupProcess:
        """Start ``argv`` (no shell) in a new session; raises OSError if it cannot start."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _CaptureProtocol(loop, on_line),
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        return cls(transport, protocol)

    @property
    def returncode(self) -> int | None:
        return self._transport.get_returncode()

    async def wait(self, drain: float) -> int:
        """Wait for the leader to exit, then up to ``drain`` s for the pipes to close."""
        await self._protocol.exited
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._protocol.pipes_closed), drain)
        returncode = self._transport.get_returncode()
        return -signal.SIGKILL if returncode is None else returncode

    async def terminate(self, grace: float) -> None:
        """SIGTERM the whole group, SIGKILL it after ``grace`` s."""
        await terminate_group(self.pgid, grace)

    def close(self) -> None:
        """Stop reading (flushing partial lines), release the pipes, SIGKILL what is left."""
        self._protocol.flush()
        signal_group(self.pgid, signal.SIGKILL)  # a no-op when the group is gone
        self._transport.close()
