"""What one attempt of a run keeps of its log: its head as it comes, its tail when it ends.

An attempt keeps at most ``LogLimits.max_bytes`` of log text and ``max_lines`` lines (either
0: no bound of that kind). The first nine tenths of each bound are its head, stored as the
lines come; the last tenth is its tail, the latest lines past the head, held in memory and
stored when the attempt ends (that is where a failure shows). The lines between are dropped
and counted, and one truncation line, stored between the head and the tail, says how many.

A line's size is its UTF-8 bytes and its line break: what the job printed.

Pure accounting: the engine's ``engine/run_logs.py`` holds the cap for every worker; a worker
agent applies the same cut to send less (``worker/executors/base.py``, ``RunSink``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from tickwork.domain.errors import InvalidParameter

__all__ = ["LogCut", "LogEnd", "LogLimits", "line_size", "size_text", "truncation_line"]

TAIL_SHARE = 10
"""The tail is a tenth of each bound (rounded down; the head is the rest)."""


def line_size(line: str) -> int:
    """The bytes a line costs: its UTF-8 encoding and a line break."""
    if line.isascii():  # O(1) in CPython: a flag of the string
        return len(line) + 1
    return len(line.encode("utf-8", "surrogatepass")) + 1


def size_text(size: int) -> str:
    """``512 bytes``, ``3.5 KiB``, ``190.3 MiB``, ``2.1 GiB``."""
    if size < 1024:
        return f"{size:,} byte{'' if size == 1 else 's'}"
    for unit, scale in (("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3)):
        if size < scale * 1024 or unit == "GiB":
            value = size / scale
            return f"{value:,.0f} {unit}" if value == int(value) else f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class LogLimits:
    """How much log one attempt keeps; 0: no bound of that kind."""

    max_bytes: int = 10 * 1024 * 1024
    max_lines: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_lines"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidParameter(
                    f"run_log_{name} must be a whole number of at least 0 (0: no limit), "
                    f"got {value!r}",
                    field=f"run_log_{name}",
                )

    @property
    def bounded(self) -> bool:
        return bool(self.max_bytes or self.max_lines)

    def describe(self) -> str:
        """``10 MiB or 100,000 lines``."""
        parts = []
        if self.max_bytes:
            parts.append(size_text(self.max_bytes))
        if self.max_lines:
            parts.append(f"{self.max_lines:,} line{'' if self.max_lines == 1 else 's'}")
        return " or ".join(parts) if parts else "no limit"


@dataclass(frozen=True, slots=True)
class LogEnd:
    """How an attempt's log ends: the tail to store, and what was dropped before it."""

    tail: list[tuple[int, str]]  # (epoch ms, line), oldest first
    dropped_lines: int
    dropped_bytes: int
    dropped_at: int  # when the first line was left out of the head (epoch ms; 0: none was)


def truncation_line(end: LogEnd, limits: LogLimits) -> str:
    """The line stored between the head and the tail of an attempt that dropped lines."""
    return (
        f"[tickwork] log truncated: {end.dropped_lines:,} line"
        f"{'' if end.dropped_lines == 1 else 's'} ({size_text(end.dropped_bytes)}) dropped here; "
        f"each attempt keeps at most {limits.describe()} of log, its first nine tenths and "
        "its last tenth (settings run_log_max_bytes, run_log_max_lines)"
    )


_UNBOUNDED = 2**63


def _split(bound: int) -> tuple[int, int]:
    """(head, tail) of a bound; 0 is no bound."""
    if not bound:
        return _UNBOUNDED, _UNBOUNDED
    tail = bound // TAIL_SHARE
    return bound - tail, tail


class LogCut:
    """The cut of one attempt's log: ``offer`` each line in order, then ``end`` once."""

    __slots__ = (
        "_dropped_at",
        "_dropped_bytes",
        "_dropped_lines",
        "_head_bytes",
        "_head_lines",
        "_head_open",
        "_tail",
        "_tail_bytes",
        "_tail_max_bytes",
        "_tail_max_lines",
    )

    def __init__(self, limits: LogLimits) -> None:
        # what the head may still take, and what the tail may hold
        self._head_bytes, self._tail_max_bytes = _split(limits.max_bytes)
        self._head_lines, self._tail_max_lines = _split(limits.max_lines)
        self._head_open = True
        self._tail: deque[tuple[int, str, int]] = deque()
        self._tail_bytes = 0
        self._dropped_lines = 0
        self._dropped_bytes = 0
        self._dropped_at = 0

    @property
    def head_open(self) -> bool:
        """Lines still go straight through (the head is not full)."""
        return self._head_open

    def offer(self, at: int, line: str) -> bool:
        """True: the line belongs to the head, pass it on now. False: the cut holds it for
        the tail, or drops it (counted)."""
        # line_size, inlined: this runs for every line a flooding run prints
        size = len(line) + 1 if line.isascii() else line_size(line)
        if self._head_open:
            if self._head_lines > 0 and size <= self._head_bytes:
                self._head_lines -= 1
                self._head_bytes -= size
                return True
            self._head_open = False  # the head stays one piece: nothing joins it later
            self._dropped_at = at
        tail = self._tail
        tail.append((at, line, size))
        self._tail_bytes += size
        while len(tail) > self._tail_max_lines or self._tail_bytes > self._tail_max_bytes:
            _, _, gone = tail.popleft()
            self._tail_bytes -= gone
            self._dropped_lines += 1
            self._dropped_bytes += gone
        return False

    def add_dropped(self, lines: int, size: int) -> None:
        """Count lines dropped elsewhere (by a worker that cut its own copy)."""
        if lines > 0:
            self._dropped_lines += lines
            self._dropped_bytes += max(size, 0)

    def end(self) -> LogEnd:
        """The tail to store after the truncation line, and the counts for that line."""
        tail = [(at, line) for at, line, _ in self._tail]
        self._tail.clear()
        self._tail_bytes = 0
        return LogEnd(tail, self._dropped_lines, self._dropped_bytes, self._dropped_at)
