"""``tickwork db upgrade`` / ``db current`` and the start-up refusals: a second server on one
SQLite file, and a database whose schema is newer than the server."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

from server_support import TICKWORK, ServerProcess, base_env, free_port


def tickwork(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TICKWORK, *args], env=base_env(), capture_output=True, text=True, timeout=120
    )


def test_db_upgrade_brings_a_new_database_to_the_newest_schema(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    before = tickwork("db", "current", "--home", home)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("database schema: base; this tickwork knows up to ")
    head = before.stdout.strip().rsplit(" ", 1)[1]

    first = tickwork("db", "upgrade", "--home", home)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith(f"tickwork.db: schema upgraded from base to {head}")
    again = tickwork("db", "upgrade", "--home", home)
    assert again.stdout.strip().endswith(f"schema already at {head}")
    assert tickwork("db", "current", "--home", home).stdout.startswith(f"database schema: {head};")


def test_a_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    env = base_env(TICKWORK_ADMIN_KEY_ID="lock-admin", TICKWORK_ADMIN_KEY_SECRET="x" * 24)
    sqlite = ("--db", f"sqlite:///{tmp_path / 'tickwork.db'}")  # whatever TW_TEST_BACKEND says
    first = ServerProcess(tmp_path, free_port(), env, *sqlite)
    try:
        second = subprocess.run(
            [TICKWORK, "server", "--home", str(tmp_path), "--port", str(free_port())],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        message = second.stderr.strip().splitlines()[-1]
        assert f"another tickwork server (pid {first.process.pid})" in message
        assert "PostgreSQL" in message and "--db postgresql://" in message
        assert "Traceback" not in second.stderr
    finally:
        first.stop(signal.SIGKILL)
    # the lock went with the killed server: a new one starts on the same file
    ServerProcess(tmp_path, free_port(), env, *sqlite).stop()


def test_a_database_with_a_newer_schema_is_refused(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert tickwork("db", "upgrade", "--home", home).returncode == 0
    with sqlite3.connect(tmp_path / "home" / "tickwork.db") as db:
        db.execute("UPDATE tickwork_schema_version SET version_num = '9999'")
    for command in (
        ["server", "--home", home, "--port", str(free_port())],
        ["db", "upgrade", "--home", home],
    ):
        refused = tickwork(*command)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "error: the database schema is at version 9999, newer than this tickwork knows "
            f"(up to {tickwork('db', 'current', '--home', home).stdout.strip().rsplit(' ', 1)[1]}"
            "): a newer tickwork upgraded it. Run that newer tickwork (every server on this "
            "database must be at least as new)"
        )
