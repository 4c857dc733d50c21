"""Keeping the secrets of a server or agent process from the jobs it runs.

Scripts and commands get the environment of the process that starts them (a server's
in-process worker, or a ``tickwork worker`` agent) without tickwork's own variables: every
``TICKWORK_*`` (the admin key's secret, the database URL with its password, an agent's
AppKey, every setting) and ``PGPASSWORD`` (libpq's password variable, which the PostgreSQL
driver reads when the URL has no password). The run's own ``TICKWORK_*`` variables
(``TICKWORK_JOB_ID``, ...) are added after, so they are the only ones it sees.

Once its settings are read, a server or agent also removes the ``TICKWORK_*`` variables from
its own ``os.environ`` (processor jobs run inside it) and makes itself non-dumpable
(``PR_SET_DUMPABLE`` 0, as ssh-agent does): the files of ``/proc/<pid>`` then belong to root,
so a job running as the same user cannot read the environment the process was started with
(``/proc/$PPID/environ`` keeps it, whatever ``os.environ`` says) nor its memory, and no core
dump is written. ``PGPASSWORD`` stays in ``os.environ``: the driver reads it again for every
new connection.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping

__all__ = [
    "WITHHELD_NAMES",
    "WITHHELD_PREFIX",
    "clear_tickwork_environment",
    "forbid_inspection",
    "inherited_environment",
    "withheld",
    "withhold_secrets",
]

WITHHELD_PREFIX = "TICKWORK_"
WITHHELD_NAMES = frozenset({"PGPASSWORD"})

_PR_SET_DUMPABLE = 4
_log = logging.getLogger("tickwork.secrets")


def withheld(name: str) -> bool:
    """Whether a run never inherits the variable ``name`` from the process starting it."""
    return name.startswith(WITHHELD_PREFIX) or name in WITHHELD_NAMES


def inherited_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a run inherits: ``environ`` (this process's environment) without the withheld
    variables."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if not withheld(name)}


def clear_tickwork_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove every ``TICKWORK_*`` variable from ``environ`` (this process's environment):
    call it once the settings are read. Returns the names removed."""
    target = os.environ if environ is None else environ
    names = [name for name in target if name.startswith(WITHHELD_PREFIX)]
    for name in names:
        del target[name]
    return names


def forbid_inspection() -> bool:
    """Make this process non-dumpable (Linux): other processes of its user can no longer
    read its ``/proc/<pid>/environ`` or memory, nor attach a debugger (root still can).
    False where the system has no such switch."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        done = False
    if not done:
        _log.warning("could not make this process non-dumpable; its environment stays readable")
    return done


def withhold_secrets() -> None:
    """What a server or agent does once its settings are read (see the module's doc)."""
    clear_tickwork_environment()
    forbid_inspection()
