"""The guardian kills the process groups of runs when the process that started them dies."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from worker_support import RecordingReporter, make_request, run_job

from tickwork.domain.errors import Unavailable
from tickwork.worker.guardian import Guardian, take_lock
from tickwork.worker.inprocess import InProcessWorker
from tickwork.worker.process_tree import group_members

WITHIN_S = 20.0  # a guard against hangs, not a timing assertion


def hold_lock(path: Path) -> subprocess.Popen[bytes]:
    """A process holding the ``flock`` on ``path``, as a guardian whose parent died does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return subprocess.Popen(["sleep", "600"], pass_fds=(fd,))
    finally:
        os.close(fd)  # only that process holds it now


def wait_until(check: Callable[[], bool], within: float = WITHIN_S) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        time.sleep(0.02)


def ignored_signals(pid: int) -> set[int]:
    """The signals the process ignores (once it has started up and said so)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    return set()


@pytest.fixture
def groups() -> Iterator[Callable[[], int]]:
    """Start process groups like a run's: a shell with a grandchild (``sleep``)."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> int:
        process = subprocess.Popen(
            ["/bin/sh", "-c", "sleep 600 & sleep 600; wait"], start_new_session=True
        )
        started.append(process)
        wait_until(lambda: len(group_members(process.pid)) == 3)  # sh and its two sleeps
        return process.pid

    yield start
    for process in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def test_when_its_pipe_closes_the_guardian_kills_the_groups_it_still_knows(
    groups: Callable[[], int],
) -> None:
    guardian = Guardian()
    running, done = groups(), groups()
    guardian.watch(running)
    guardian.watch(done)
    guardian.forget(done)
    guardian.close()  # the pipe reaches EOF, as when the parent dies
    assert group_members(running) == []  # the grandchildren too
    assert len(group_members(done)) == 3  # forgotten: not the guardian's any more


def test_a_sigkilled_parent_takes_its_runs_with_it(tmp_path: Path) -> None:
    # A parent that watches a group and is then SIGKILLed: nothing of it runs any more.
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import subprocess, sys, time
                from tickwork.worker.guardian import Guardian
                guardian = Guardian()
                run = subprocess.Popen(["/bin/sh", "-c", "sleep 600 & sleep 600; wait"],
                                       start_new_session=True)
                guardian.watch(run.pid)
                print(run.pid, guardian.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            pgid, guardian_pid = (int(n) for n in parent.stdout.readline().split())
            wait_until(lambda: len(group_members(pgid)) == 3)
        finally:
            parent.kill()
    wait_until(lambda: group_members(pgid) == [])
    wait_until(lambda: group_members(guardian_pid) == [])  # and the guardian has exited


def test_a_killed_guardian_is_replaced_and_told_every_group(
    groups: Callable[[], int], caplog: pytest.LogCaptureFixture
) -> None:
    guardian = Guardian()
    first = groups()
    guardian.watch(first)
    old_pid = guardian.pid
    assert old_pid is not None
    time.sleep(1.0)  # a guardian that dies at once is not replaced (it would die again)
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: group_members(old_pid) == [])
    second = groups()
    guardian.watch(second)  # the write finds the pipe broken: a new guardian takes over
    assert guardian.pid not in (None, old_pid)
    assert "is gone or stuck" in caplog.text
    guardian.close()
    assert group_members(first) == []
    assert group_members(second) == []


def test_the_guardian_ignores_the_signals_that_end_its_parent(
    groups: Callable[[], int],
) -> None:
    guardian = Guardian()
    run = groups()
    guardian.watch(run)
    pid = guardian.pid
    assert pid is not None
    wait_until(lambda: ignored_signals(pid) >= {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        os.kill(pid, sig)
    time.sleep(0.3)
    assert group_members(pid) == [pid]
    guardian.close()
    assert group_members(run) == []


async def test_a_new_guardian_waits_for_the_lock_of_the_previous_one(tmp_path: Path) -> None:
    lock_path = tmp_path / "tickwork.db.guardian-lock"
    previous = await Guardian.start(lock_path)
    assert lock_path.read_text() == str(previous.pid)
    assert oct(lock_path.stat().st_mode & 0o777) == oct(0o600)
    starting = asyncio.create_task(Guardian.start(lock_path))
    await asyncio.sleep(0.5)
    assert not starting.done()  # held while the previous guardian lives
    await asyncio.to_thread(previous.close)
    following = await asyncio.wait_for(starting, WITHIN_S)
    await asyncio.to_thread(following.close)


async def test_the_lock_is_held_while_the_guardian_outlives_its_parent(tmp_path: Path) -> None:
    # The guardian shares the lock: a process holding only that (its parent gone) keeps it.
    lock_path = tmp_path / "lock"
    holder = hold_lock(lock_path)
    try:
        with pytest.raises(Unavailable) as refused:
            await take_lock(lock_path, within=0.3)
        assert "still ending that server's runs" in refused.value.message
    finally:
        holder.kill()
        holder.wait()
    os.close(await take_lock(lock_path, within=WITHIN_S))


class RecordingWatcher:
    def __init__(self) -> None:
        self.watched: list[int] = []
        self.forgotten: list[int] = []

    def watch(self, pgid: int) -> None:
        self.watched.append(pgid)

    def forget(self, pgid: int) -> None:
        self.forgotten.append(pgid)


async def test_the_guardian_is_told_each_group_as_it_starts_and_once_it_is_gone(
    reporter: RecordingReporter,
) -> None:
    watcher = RecordingWatcher()
    worker = InProcessWorker(concurrency=4, kill_grace=1.0, guardian=watcher)
    await worker.start(reporter)
    try:
        _, lines = await run_job(worker, reporter, content="echo $$\n")
        ended = int(lines[0])
        killed = make_request(content="echo $$\nsleep 600\n")
        worker.submit(killed)
        await reporter.until(lambda: reporter.lines(killed.instance_id), "the run's pid")
        worker.kill(killed.instance_id, "stop")
        await reporter.wait_outcome(killed.instance_id)
        discarded = make_request(content="echo never\n")
        worker.prepare(discarded)
        await reporter.until(lambda: len(watcher.watched) == 3, "the prepared process")
        worker.discard(discarded.instance_id)
        await reporter.until(lambda: len(watcher.forgotten) == 3, "the discard")
    finally:
        await worker.stop(grace=0)
    pid_of_killed = int(reporter.lines(killed.instance_id)[0])
    assert watcher.watched[:2] == [ended, pid_of_killed]
    assert sorted(watcher.forgotten) == sorted(watcher.watched)


def test_a_parent_silent_past_its_bound_has_its_groups_killed_and_lives_on(
    groups: Callable[[], int],
) -> None:
    """A frozen agent (SIGSTOP) beats no more: its runs end within its lease, while it and
    its guardian live on (the agent may come back and reconnect)."""
    guardian = Guardian()
    try:
        guardian.kill_after_silence(1500)
        kept = groups()
        guardian.watch(kept)
        beats_until = time.monotonic() + 2.5
        while time.monotonic() < beats_until:  # beating: nothing is killed
            guardian.beat()
            time.sleep(0.2)
        assert len(group_members(kept)) == 3
        silent_from = time.monotonic()
        wait_until(lambda: not group_members(kept), within=5.0)
        assert 1.2 < time.monotonic() - silent_from < 4.0
        assert guardian.pid is not None and Path(f"/proc/{guardian.pid}").exists()
        later = groups()  # watched as before, once the agent is back
        guardian.watch(later)
        guardian.beat()
        assert len(group_members(later)) == 3
    finally:
        guardian.close()
