"""What tickwork creates on disk is readable by its owner only, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickwork.domain.errors import Unavailable
from tickwork.private_files import make_private, open_private, private_directory


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The usual umask (022), which leaves new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_directory_is_0700_and_the_umask_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "a" / "home"
    private_directory(home)
    assert mode_of(home) == 0o700
    assert os.umask(0o022) == 0o022  # unchanged: job scripts inherit it


def test_a_new_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    os.close(open_private(path, os.O_WRONLY))
    assert mode_of(path) == 0o600


def test_an_existing_open_directory_and_file_are_tightened_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    database = home / "tickwork.db"
    database.write_bytes(b"")
    os.chmod(database, 0o644)
    with caplog.at_level(logging.WARNING, logger="tickwork.files"):
        private_directory(home)
        os.close(open_private(database, os.O_RDWR))
    assert mode_of(home) == 0o700
    assert mode_of(database) == 0o600
    assert f"{home} was open to other users (mode 0755)" in caplog.text
    assert f"{database} was open to other users (mode 0644)" in caplog.text


def test_owner_bits_are_kept_and_a_private_path_is_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    read_only = tmp_path / "lock"
    read_only.write_bytes(b"")
    os.chmod(read_only, 0o444)
    private = tmp_path / "private"
    private.write_bytes(b"")
    os.chmod(private, 0o600)
    with caplog.at_level(logging.WARNING, logger="tickwork.files"):
        assert make_private(read_only)
        assert make_private(private)
    assert mode_of(read_only) == 0o400
    assert mode_of(private) == 0o600
    assert str(private) not in caplog.text


def test_a_shared_directory_is_left_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: a --home there must not lock every user out
    with caplog.at_level(logging.WARNING, logger="tickwork.files"):
        private_directory(shared)
    assert mode_of(shared) == 0o1777
    assert f"{shared} is a shared directory (mode 1777) and is left as it is" in caplog.text


def test_a_missing_path_is_not_created_by_make_private(tmp_path: Path) -> None:
    assert not make_private(tmp_path / "tickwork.db-wal")
    assert not (tmp_path / "tickwork.db-wal").exists()


def test_a_path_that_cannot_be_tightened_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tickwork.db"
    path.write_bytes(b"")
    os.chmod(path, 0o644)

    def refuse(_path: object, _mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(Unavailable) as raised:
        make_private(path)
    assert "open to other users (mode 0644)" in raised.value.message
    assert f"chmod 0600 {path}" in raised.value.message
