"""What a server makes at start: an owner-only home and credentials file, and a guardian of its
runs that waits, on SQLite, until a previous server's guardian has ended that server's runs."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickwork.server import Runtime
from tickwork.settings import Settings


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual one: new files readable by everyone
    yield
    os.umask(previous)


def hold_lock(path: Path) -> subprocess.Popen[bytes]:
    """A process holding the ``flock`` on ``path``, as a guardian whose parent died does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return subprocess.Popen(["sleep", "600"], pass_fds=(fd,))
    finally:
        os.close(fd)  # only that process holds it now


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_first_start_makes_the_home_0700_and_the_credentials_0600(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    settings = Settings(home=str(home), port=9999)  # no admin key given: one is generated
    runtime = await Runtime.start(settings)
    try:
        assert mode_of(home) == 0o700
        credentials = home / "credentials.json"
        assert mode_of(credentials) == 0o600
        assert json.loads(credentials.read_text())["access_key_secret"]
    finally:
        await runtime.stop()


async def test_an_older_install_is_made_owner_only_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o755)
    credentials = home / "credentials.json"
    credentials.write_text("{}")
    os.chmod(credentials, 0o644)
    runtime = await Runtime.start(
        Settings(home=str(home), admin_key_id="a", admin_key_secret="s" * 20)
    )
    try:
        assert mode_of(home) == 0o700
        assert mode_of(credentials) == 0o600
    finally:
        await runtime.stop()


async def test_a_restarted_server_on_sqlite_waits_for_the_previous_servers_guardian(
    tmp_path: Path,
) -> None:
    # (On PostgreSQL a dead server's runs are adopted once its lease has expired.)
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=str(home), admin_key_id="a", admin_key_secret="s" * 20)
    # The guardian of a server that died: it still holds the lock while it ends the runs.
    lock_path = home / "tickwork.db.guardian-lock"
    previous_guardian = hold_lock(lock_path)
    try:
        starting = asyncio.create_task(Runtime.start(settings))
        await asyncio.sleep(1.0)
        assert not starting.done()  # nothing recovered (nor retried) yet
    finally:
        previous_guardian.kill()
        previous_guardian.wait()
    runtime = await asyncio.wait_for(starting, 30)
    try:
        assert runtime.guardian is not None
        assert lock_path.read_text() == str(runtime.guardian.pid)
    finally:
        await runtime.stop()
