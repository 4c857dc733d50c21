"""The instants and spans tickwork can hold.

An instant is stored as a signed 64-bit column and turned into a ``datetime`` wherever it is
shown or handed to a job's code (``dataTime``, ISO-8601 answers), so one that is to be stored
must lie in Python's ``datetime`` range, in any time zone (which is far inside 64 bits). The
schedule fields a caller gives are held to that range (instants) or to ten years (spans), so
that every fire computed from them, and its data time, can be stored and shown.
"""

from __future__ import annotations

__all__ = [
    "EARLIEST_MS",
    "LATEST_MS",
    "MAX_SPAN_S",
    "holds_instant",
]

EARLIEST_MS = -62_135_510_400_000
"""0001-01-02T00:00:00.000Z: a day after the first instant a ``datetime`` holds, so that the
instant is a ``datetime`` in every time zone too (offsets are less than a day)."""
LATEST_MS = 253_402_214_399_999
"""9999-12-30T23:59:59.999Z: a day before the last instant a ``datetime`` holds."""
MAX_SPAN_S = 10 * 366 * 86_400
"""Ten years in seconds: the longest interval, delay, offset or timeout a job may name (more
is surely a mistake). It fits a 32-bit column (PostgreSQL's INTEGER) with room to spare."""


def holds_instant(ms: int) -> bool:
    """Whether an instant (epoch ms) can be stored and shown."""
    return EARLIEST_MS <= ms <= LATEST_MS
