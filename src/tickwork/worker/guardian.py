"""The guardian: a small process that kills a server's (or agent's) runs when it dies.

A run is a process group (``process_tree``). A server that stops in good order kills its runs
itself; one that is SIGKILLed or crashes leaves them running as orphans, and a restarted
server would retry them beside their first copy. So each server and agent starts a guardian:
a child in a session of its own (a terminal's or a supervisor's signals to the server's group
do not reach it), whose stdin is a pipe from its parent. The parent writes ``+PGID`` when a
run's group starts and ``-PGID`` once it is done with it, a few bytes each. When the pipe
reaches EOF the parent is gone, however it went (the kernel closes its end): the guardian
SIGKILLs every group it still knows, waits until none has a live process (at most
``KILL_WITHIN_S``), and exits. It ignores SIGINT, SIGTERM and SIGHUP: it ends with its parent.

Why not a parent-death signal (``PR_SET_PDEATHSIG``): it reaches only the direct child (the
shell, not the ``sleep`` it runs) and must be set in the child, which costs a fork instead of
Popen's vfork (``preexec_fn``: about 6 ms of a 300 MB server's CPU per run, against 0.2 ms)
or an extra exec (``setpriv --pdeathsig``: about 1 ms more CPU per run, a third of a shell
run's cost).

A guardian started with a lock (``Guardian.start``; the server's on SQLite) shares that lock
with its parent: it is held while either lives. A restarted server takes it before it
recovers anything, so it waits until the previous server's guardian has killed every run
that server left: no second copy of a run starts beside an orphan.

If the guardian dies while its parent lives (someone killed it), the parent notices at its
next write, starts another and tells it every group it knows.

A frozen parent (``SIGSTOP``, a VM stall) is not a dead one, but a worker agent frozen past
its lease has had its runs given to another worker while their processes, which are not
frozen with it, run on. So a parent may also say ``~MS``: kill every group it knows when no
line came for ``MS`` milliseconds (0: never), and beat with ``.`` lines (``Guardian.beat``).
The agent does, with its lease (``agent/touch.py``); a server does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tickwork.domain.errors import Unavailable
from tickwork.private_files import open_private
from tickwork.process_secrets import inherited_environment
from tickwork.worker.process_tree import live_groups, signal_group

__all__ = ["KILL_WITHIN_S", "LOCK_WAIT_S", "Guardian", "Watch", "end_groups", "follow"]

KILL_WITHIN_S = 10.0
"""How long the guardian waits for the groups it killed to be gone (a process stuck in the
kernel dies only when it leaves it) before it exits anyway."""
LOCK_WAIT_S = KILL_WITHIN_S + 20.0
"""How long a starting server waits for a previous server's guardian to finish."""
_POLL_S = 0.01
_PID_MAX = 1 << 22  # Linux's PID_MAX_LIMIT
_PIPE_BYTES = 1 << 20  # the pipe's buffer: room for ~100,000 lines if the guardian lags
_RESPAWN_EVERY_S = 1.0  # a guardian that dies sooner than this after its start is not replaced

_log = logging.getLogger("tickwork.guardian")


# -- the guardian process ----------------------------------------------------------------------
class Watch:
    """What the guardian follows: the groups started and not done with, and how long a
    silence of its parent it bears (``~MS``; 0: any)."""

    def __init__(self) -> None:
        self.groups: set[int] = set()
        self.silence_s = 0.0

    def feed(self, lines: Iterable[bytes]) -> None:
        """``+PGID`` / ``-PGID`` / ``~MS`` lines (``.`` beats only). Anything else is
        ignored, and so are groups 0 and 1 (``killpg`` would take 0 for the guardian's own
        group) and numbers no process can have."""
        for line in lines:
            sign, number = line[:1], line[1:].strip()
            if not number.isdigit():
                continue
            if sign == b"~":
                self.silence_s = int(number) / 1000
            elif not 1 < int(number) <= _PID_MAX:
                continue
            elif sign == b"+":
                self.groups.add(int(number))
            elif sign == b"-":
                self.groups.discard(int(number))


def follow(lines: Iterable[bytes]) -> set[int]:
    """Read the lines until they end; the groups started and not done with."""
    watch = Watch()
    watch.feed(lines)
    return watch.groups


def _read_until_eof(fd: int, watch: Watch, on_silence: Callable[[Watch], None]) -> None:
    """Follow the parent's lines until EOF; call ``on_silence`` whenever none came for
    the silence it asked for."""
    pending = b""
    while True:
        timeout = watch.silence_s or None
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            on_silence(watch)
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        watch.feed(lines)


def _end_silent(watch: Watch) -> None:
    """The parent said nothing for its silence (frozen): its runs go, it may live on."""
    if not watch.groups:
        return
    groups, watch.groups = watch.groups, set()
    left = end_groups(groups, KILL_WITHIN_S)
    with contextlib.suppress(OSError):
        print(
            f"tickwork guardian: process {os.getppid()} was silent for {watch.silence_s:g} s "
            f"(frozen?); killed the process groups of {len(groups)} run(s)"
            + (f"; still alive: {sorted(left)}" if left else ""),
            file=sys.stderr,
            flush=True,
        )


def end_groups(groups: set[int], within: float) -> set[int]:
    """SIGKILL the groups until none has a live process; those still alive after ``within``
    seconds (none, unless a process is stuck in the kernel)."""
    deadline = time.monotonic() + within
    alive = set(groups)
    while alive:
        for pgid in alive:  # again each round: a process forked meanwhile is killed too
            signal_group(pgid, signal.SIGKILL)
        alive = live_groups(alive)
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(_POLL_S)
    return alive


def main() -> None:
    """``python -m tickwork.worker.guardian``, with the pipe from its parent as stdin."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    parent = os.getppid()
    watch = Watch()
    _read_until_eof(sys.stdin.fileno(), watch, _end_silent)
    groups = watch.groups
    if not groups:
        return
    left = end_groups(groups, KILL_WITHIN_S)
    with contextlib.suppress(OSError):  # where the parent's stderr went may be gone too
        print(
            f"tickwork guardian: the runs of process {parent} outlived it; killed the process "
            f"groups of {len(groups)} run(s)"
            + (f"; still alive after {KILL_WITHIN_S:.0f} s: {sorted(left)}" if left else ""),
            file=sys.stderr,
            flush=True,
        )


# -- the parent's side -------------------------------------------------------------------------
async def take_lock(path: Path, within: float) -> int:
    """Open ``path`` (0600) and take its ``flock``, waiting up to ``within`` seconds for a
    previous holder; the descriptor. Raises Unavailable naming the holder when it stays."""
    fd = open_private(path, os.O_RDWR)
    deadline = time.monotonic() + within
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise Unavailable(
                        f"the guardian (pid {holder}) of a previous server is still ending "
                        f"that server's runs after {within:.0f} s ({path}); start again once "
                        "it has exited"
                    ) from None
                await asyncio.sleep(0.05)
    except BaseException:
        os.close(fd)
        raise


class Guardian:
    """This process's guardian, seen from here: a ``GroupWatcher`` for its runs."""

    def __init__(self, lock_fd: int | None = None) -> None:
        """Start the guardian process (raises OSError if it cannot be started). It shares
        ``lock_fd`` (taken), which ``close`` releases."""
        self._lock_fd = lock_fd
        self._groups: set[int] = set()
        self._silence_ms = 0
        self._pipe: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._spawn()

    @classmethod
    async def start(cls, lock_path: Path | None = None, *, within: float = LOCK_WAIT_S) -> Guardian:
        """Take the lock at ``lock_path`` first (waiting for a previous holder), if given."""
        lock_fd = None if lock_path is None else await take_lock(lock_path, within)
        try:
            guardian = cls(lock_fd)
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        if lock_fd is not None and guardian.pid is not None:
            os.ftruncate(lock_fd, 0)
            os.pwrite(lock_fd, str(guardian.pid).encode(), 0)
        return guardian

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _spawn(self) -> None:
        read_end, write_end = os.pipe()  # neither is inherited by runs (close-on-exec)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", "tickwork.worker.guardian"],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                env=inherited_environment(),
                pass_fds=() if self._lock_fd is None else (self._lock_fd,),
                start_new_session=True,
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        with contextlib.suppress(OSError):  # a bigger buffer where the system allows it
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        os.set_blocking(write_end, False)  # a guardian that stops reading never blocks us
        self._pipe = write_end
        self._started_at = time.monotonic()

    def watch(self, pgid: int) -> None:
        self._groups.add(pgid)
        self._send(b"+%d\n" % pgid)

    def forget(self, pgid: int) -> None:
        self._groups.discard(pgid)
        self._send(b"-%d\n" % pgid)

    def kill_after_silence(self, ms: int) -> None:
        """Kill the runs when this process says nothing for ``ms`` (0: never): a frozen
        agent's runs end within its lease. ``beat`` at least that often."""
        self._silence_ms = max(ms, 0)
        self._send(b"~%d\n" % self._silence_ms)

    def beat(self) -> None:
        self._send(b".\n")

    def _send(self, line: bytes) -> None:
        if self._pipe is None:
            return
        try:
            os.write(self._pipe, line)  # shorter than PIPE_BUF: all of it or an error
            return
        except OSError as exc:  # BrokenPipeError: it died; BlockingIOError: it stopped reading
            failure = exc
        self._replace(failure)

    def _replace(self, failure: OSError) -> None:
        quick = time.monotonic() - self._started_at < _RESPAWN_EVERY_S
        _log.error(
            "the guardian (pid %s) is gone or stuck (%s); %s",
            self.pid,
            type(failure).__name__,
            "it died at once, so runs are not guarded any more" if quick else "starting another",
        )
        self._discard_process()
        if quick:
            return
        try:
            self._spawn()
        except OSError as exc:
            _log.error("cannot start a guardian (%s): runs are not guarded any more", exc)
            return
        if (self._groups or self._silence_ms) and self._pipe is not None:
            os.set_blocking(self._pipe, True)  # it has just started: it will read all of it
            told = b"".join(b"+%d\n" % pgid for pgid in self._groups)
            try:
                os.write(self._pipe, told + b"~%d\n" % self._silence_ms)
            except OSError as exc:
                _log.error("cannot reach the new guardian (%s): runs are not guarded", exc)
                self._discard_process()
                return
            os.set_blocking(self._pipe, False)

    def _discard_process(self) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)

    def close(self) -> None:
        """Close the pipe: the guardian kills the groups it still knows (none after an
        orderly stop) and exits; wait for that, then release the lock."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        process, self._process = self._process, None
        if process is not None:
            try:
                process.wait(timeout=KILL_WITHIN_S + 5.0)
            except subprocess.TimeoutExpired:
                _log.error("the guardian (pid %d) did not exit; killing it", process.pid)
                process.kill()
                process.wait()
        lock_fd, self._lock_fd = self._lock_fd, None
        if lock_fd is not None:
            os.close(lock_fd)


if __name__ == "__main__":
    main()
