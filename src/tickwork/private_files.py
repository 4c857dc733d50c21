"""What tickwork writes to disk is readable by its owner only.

The home (``~/.tickwork``), the SQLite database with its ``-wal``/``-shm``/``-journal``, the
credentials file and the lock files hold or sit beside the access keys' secrets. Directories
are made 0700 and files 0600 by giving ``mkdir``/``open`` that mode, never by changing the
process's umask: job scripts inherit the umask and make their own files with it.

A path that already exists with group or other bits (made by a tickwork from before this
rule, or by hand) is tightened to its owner's bits at start, and a warning names it; one that
cannot be tightened (it belongs to another user) stops the start with an error saying so.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from tickwork.domain.errors import Unavailable

__all__ = ["OTHERS", "make_private", "open_private", "private_directory"]

OTHERS = 0o077
"""The group's and others' permission bits: none of them are left on tickwork's files."""

_log = logging.getLogger("tickwork.files")


def private_directory(path: Path) -> None:
    """Make ``path`` a directory only its owner may enter: created 0700 (missing parents
    too), or tightened if it exists. A shared directory (sticky, like ``/tmp``) or one of
    another user is left as it is, with a warning: the files tickwork puts there are
    owner-only all the same."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        raise Unavailable(f"cannot create the directory {path}: {exc.strerror or exc}") from exc
    if info.st_mode & stat.S_ISVTX or info.st_uid != os.geteuid():
        if info.st_mode & OTHERS:
            _log.warning(
                "%s is a shared directory (mode %04o) and is left as it is; the files tickwork "
                "keeps there are owner-only, but their names are visible to other users",
                path,
                stat.S_IMODE(info.st_mode),
            )
        return
    make_private(path)


def open_private(path: Path, flags: int) -> int:
    """``os.open`` creating ``path`` 0600 if it is missing; an existing file is tightened."""
    try:
        fd = os.open(path, flags | os.O_CREAT, 0o600)
    except OSError as exc:
        raise Unavailable(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        _tighten(path, os.fstat(fd).st_mode, lambda mode: os.fchmod(fd, mode))
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_private(path: Path) -> bool:
    """Remove the group's and others' bits from an existing ``path`` (logged when there were
    any). False if there is no such path."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    _tighten(path, mode, lambda wanted: os.chmod(path, wanted))
    return True


def _tighten(path: Path, mode: int, chmod: Callable[[int], None]) -> None:
    current = stat.S_IMODE(mode)
    if not current & OTHERS:
        return
    wanted = current & ~OTHERS
    try:
        chmod(wanted)
    except OSError as exc:
        raise Unavailable(
            f"{path} is open to other users (mode {current:04o}) and cannot be made "
            f"owner-only: {exc.strerror or exc}; change its owner or mode "
            f"(chmod {wanted:04o} {path})"
        ) from exc
    _log.warning(
        "%s was open to other users (mode %04o); made it owner-only (%04o)",
        path,
        current,
        wanted,
    )
