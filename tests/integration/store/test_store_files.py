"""A SQLite store's files hold the keys' secrets: readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickwork.store.sql import SqlStore


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual one: new files readable by everyone
    yield
    os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "new" / "tickwork.db"
    store = SqlStore(f"sqlite:///{database}")
    await store.open()
    try:
        await store.list_namespaces()  # a read: the WAL and shared memory exist
        files = [
            database,
            database.with_name("tickwork.db-wal"),
            database.with_name("tickwork.db-shm"),
        ]
        assert {path.name: mode_of(path) for path in files} == {path.name: 0o600 for path in files}
        assert mode_of(database.parent) == 0o700  # a directory made for it
    finally:
        await store.close()


async def test_the_files_of_an_older_install_are_tightened(tmp_path: Path) -> None:
    database = tmp_path / "tickwork.db"
    store = SqlStore(f"sqlite:///{database}")
    await store.open()
    await store.list_namespaces()
    await store.close()
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o755)
    store = SqlStore(f"sqlite:///{database}")
    await store.open()
    try:
        await store.list_namespaces()
        for suffix in ("", "-wal", "-shm"):
            assert mode_of(database.with_name(database.name + suffix)) == 0o600, suffix
        assert mode_of(tmp_path) == 0o755  # a directory it did not make is not its own
    finally:
        await store.close()
