"""Run a subprocess in its own session, capture its output line by line, and kill its tree.

The process tree of a run is its process group: the child is started in a new session
(``start_new_session``) so that it and everything it forks share one process group, which
``os.killpg`` signals at once. A process that calls ``setsid`` itself leaves the tree (and so
does one that moves to a process group of its own, e.g. the jobs of a shell with ``set -m``).

A ``GroupWatcher`` (the process's guardian, ``worker/guardian.py``) is told each group as it
starts and once it is done with, so that the groups still running are killed when the process
that started them dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

from tickwork.clock import now_ms
from tickwork.worker.abc import RoomCheck

__all__ = [
    "MAX_LINE_BYTES",
    "STDERR",
    "STDOUT",
    "GroupProcess",
    "GroupWatcher",
    "group_members",
    "live_groups",
    "signal_group",
    "terminate_group",
]

STDOUT = 1
STDERR = 2
MAX_LINE_BYTES = 16 * 1024
"""A longer line is cut into pieces of this size."""

_POLL_S = 0.02
READ_BYTES = 65536
LineHandler = Callable[[int, str, int], None]  # (fd, line, epoch ms)


def _process_group_of(stat: str) -> int | None:
    # /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parens.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 3 or fields[0] in ("Z", "X"):  # zombies and dead ones do not count
        return None
    return int(fields[2])


class GroupWatcher(Protocol):
    """Told the process groups of runs: each one as it starts, and once it is done with."""

    def watch(self, pgid: int) -> None: ...

    def forget(self, pgid: int) -> None: ...


def _has_procfs() -> bool:
    return Path("/proc/self/stat").exists()


def _live_processes() -> Iterator[tuple[int, int]]:
    """(pid, process group) of every live (non-zombie) process, from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group = _process_group_of((entry / "stat").read_text())
        except (OSError, ValueError):
            continue
        if group is not None:
            yield int(entry.name), group


def live_groups(pgids: Iterable[int]) -> set[int]:
    """Those of ``pgids`` that still have a live (non-zombie) process: one /proc scan."""
    wanted = set(pgids)
    if not wanted:
        return set()
    if not _has_procfs():  # ask the kernel, zombies included
        return {pgid for pgid in wanted if signal_group(pgid, 0)}
    return {group for _, group in _live_processes() if group in wanted}


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of the process group ``pgid``."""
    if not _has_procfs():  # ask the kernel, zombies included
        return [pgid] if signal_group(pgid, 0) else []
    return [pid for pid, group in _live_processes() if group == pgid]


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
    """Bytes of one pipe to lines. ``drain`` hands on the complete lines read, one by one,
    until ``held`` says stop (the lines wait to be written): the rest stay here."""

    def __init__(self, fd: int, on_line: LineHandler, held: Callable[[], bool]) -> None:
        self._fd = fd
        self._on_line = on_line
        self._held = held
        self._buffer = bytearray()

    def feed(self, data: bytes) -> bool:
        """Take what was read; True if every complete line of it went on."""
        self._buffer += data
        return self.drain()

    def drain(self) -> bool:
        """Hand on complete lines (and pieces of MAX_LINE_BYTES) while not held; True if
        none is left. The lines of one call get one time: they were read together."""
        buffer, held, emit, at = self._buffer, self._held, self._emit, now_ms()
        while not held():
            end = buffer.find(b"\n", 0, MAX_LINE_BYTES + 1)
            if end >= 0:
                emit(bytes(buffer[:end]), at)
                del buffer[: end + 1]
            elif len(buffer) >= MAX_LINE_BYTES:
                emit(bytes(buffer[:MAX_LINE_BYTES]), at)
                del buffer[:MAX_LINE_BYTES]
            else:
                return True
        return buffer.find(b"\n") < 0 and len(buffer) < MAX_LINE_BYTES

    def flush(self) -> None:
        """Everything left, held or not (the pipe is closing)."""
        buffer, at = self._buffer, now_ms()
        while buffer:
            end = buffer.find(b"\n", 0, MAX_LINE_BYTES + 1)
            if end < 0:
                end = min(len(buffer), MAX_LINE_BYTES)
                self._emit(bytes(buffer[:end]), at)
                del buffer[:end]
            else:
                self._emit(bytes(buffer[:end]), at)
                del buffer[: end + 1]

    def _emit(self, piece: bytes, at: int) -> None:
        """One line (at most MAX_LINE_BYTES, without its line break)."""
        if piece.endswith(b"\r"):
            piece = piece[:-1]
        self._on_line(self._fd, piece.decode("utf-8", errors="replace"), at)


class GroupProcess:
    """A subprocess leading its own process group, with its output delivered line by line.

    Started with ``subprocess.Popen`` (which vforks) and watched from the event loop: the
    pipes are read with ``add_reader`` and the exit is learnt through a pidfd (Linux), or a
    thread blocked in ``wait()`` where there are no pidfds. This is about half the cost of
    asyncio's subprocess transports per process, and leaves no reference cycles behind (the
    transports do, which makes the cyclic collector stall the loop under load).

    ``room`` (``LogRoom.log_room``) is asked after each line: when it answers a future, the
    pipes are not read until it is done, so a process printing faster than its lines are
    written waits on its own output instead of the lines piling up in memory.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        loop: asyncio.AbstractEventLoop,
        on_line: LineHandler,
        watcher: GroupWatcher | None = None,
        room: RoomCheck | None = None,
    ) -> None:
        self._proc = proc
        self._loop = loop
        self.pid = proc.pid
        self.pgid = proc.pid  # a new session: the leader's pid is the group id
        self._watcher = watcher
        if watcher is not None:
            watcher.watch(self.pgid)
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._room = room
        self._paused: asyncio.Future[None] | None = None  # not read until it is done
        self._pipes: dict[int, tuple[IO[bytes], _LineSplitter]] = {}
        for kind, stream in ((STDOUT, proc.stdout), (STDERR, proc.stderr)):
            if stream is None:
                continue
            fd = stream.fileno()
            os.set_blocking(fd, False)
            self._pipes[fd] = (stream, _LineSplitter(kind, on_line, self._held))
            loop.add_reader(fd, self._readable, fd)
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            waiting = loop.run_in_executor(None, proc.wait)
            waiting.add_done_callback(lambda _: self._set_exited())
        else:
            loop.add_reader(self._pidfd, self._reap)

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        on_line: LineHandler,
        cwd: str | None = None,
        gated: bool = False,
        watcher: GroupWatcher | None = None,
        room: RoomCheck | None = None,
    ) -> GroupProcess:
        """Start ``argv`` (no shell) in a new session; raises OSError if it cannot start.

        ``gated``: its stdin is a pipe, for ``open_gate`` (argv waits for a line on it);
        otherwise stdin is /dev/null. ``watcher`` is told the group now and when ``close``
        is done with it; ``room``: see the class. Call it from the event loop's thread: it
        forks there (vfork, well under a millisecond) so that the loop watches the child at
        once."""
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if gated else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        return cls(proc, asyncio.get_running_loop(), on_line, watcher, room)

    # -- events from the loop ----------------------------------------------------------------
    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._pipes[fd][1].feed(data)
        else:
            self._close_pipe(fd)

    @property
    def paused(self) -> bool:
        """The pipes are not read now: the lines handed on wait to be written."""
        return self._paused is not None

    def _held(self) -> bool:
        """Asked before each line goes on: stop here (and stop reading) for now?"""
        if self._paused is not None:
            return True
        if self._room is None:
            return False
        wait = self._room()
        if wait is None:
            return False
        self._paused = wait
        for fd in self._pipes:
            self._loop.remove_reader(fd)
        wait.add_done_callback(self._resume)
        return True

    def ignore_room(self) -> None:
        """Read on whatever ``room`` says (the run is being killed: what is left to read is
        what its pipes hold)."""
        self._room = None
        if self._paused is not None:
            self._resume(None)

    def _resume(self, _: object) -> None:
        """Hand on what was read and held, then read again (unless held again)."""
        self._paused = None
        for fd, (_stream, splitter) in list(self._pipes.items()):
            if not splitter.drain() or self._paused is not None:
                return  # held again: the next resume goes on from here
            self._loop.add_reader(fd, self._readable, fd)

    def _close_pipe(self, fd: int) -> None:
        entry = self._pipes.pop(fd, None)
        if entry is None:
            return
        stream, splitter = entry
        self._loop.remove_reader(fd)
        splitter.flush()
        stream.close()
        if not self._pipes and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def _reap(self) -> None:
        if self._proc.poll() is None:
            return  # not yet (a spurious wake-up)
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._set_exited()

    def _set_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    # -- what the run does with it -----------------------------------------------------------
    def open_gate(self) -> None:
        """Write the line a gated process waits for, then close its stdin (EOF after it)."""
        stdin = self._proc.stdin
        if stdin is None:
            return
        with contextlib.suppress(OSError):
            stdin.write(b"go\n")
            stdin.flush()
        with contextlib.suppress(OSError):
            stdin.close()

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    async def wait(self, drain: float) -> int:
        """Wait for the leader to exit, then up to ``drain`` s for the pipes to close; time
        spent not reading them (their lines waiting to be written) does not count."""
        await self.exited
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(self.pipes_closed), drain)
                break
            except TimeoutError:
                paused = self._paused
                if paused is None:
                    break
                await asyncio.shield(paused)
        returncode = self._proc.returncode
        return -signal.SIGKILL if returncode is None else returncode

    async def terminate(self, grace: float) -> None:
        """SIGTERM the whole group, SIGKILL it after ``grace`` s."""
        await terminate_group(self.pgid, grace)

    def close(self) -> None:
        """Stop reading (flushing partial lines), release the pipes, SIGKILL what is left,
        and tell the watcher the group is done with. The leader is still reaped when it exits
        (its pidfd stays watched until then)."""
        signal_group(self.pgid, signal.SIGKILL)  # a no-op when the group is gone
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            # Right after the group was found gone (``terminate``), in the same step of the
            # loop: its number is free for reuse only from about then on.
            watcher.forget(self.pgid)
        for fd in list(self._pipes):
            self._close_pipe(fd)
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
