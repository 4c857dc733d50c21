"""One server per SQLite file: the server holds an exclusive lock on ``<file>.server-lock``.

SQLite is the embedded default; several servers coordinating need PostgreSQL. Two servers on
one SQLite file would each plan and fire every job (SQLite has no ``SKIP LOCKED`` to share
them), so the second one is refused at start. The lock is an ``flock``: the operating system
drops it when the process ends, however it ends, so a crashed server never leaves it behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import sqlalchemy as sa

from tickwork.domain.errors import InvalidState
from tickwork.private_files import open_private

__all__ = ["ServerLock", "lock_sqlite_server"]


class ServerLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


def lock_sqlite_server(url: sa.URL) -> ServerLock | None:
    """Take the server lock of a SQLite database (None for PostgreSQL). Raises InvalidState,
    naming the holder's pid and pointing to PostgreSQL, when another server holds it."""
    if url.get_backend_name() != "sqlite":
        return None
    database = Path(url.database or "").expanduser().resolve()
    path = database.with_name(database.name + ".server-lock")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = open_private(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise InvalidState(
            f"another tickwork server (pid {holder}) is using the SQLite database {database}. "
            "SQLite serves one server; to run several servers, give them one PostgreSQL "
            "database (--db postgresql://user@host:5432/tickwork)",
            field="database_url",
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return ServerLock(path, fd)
