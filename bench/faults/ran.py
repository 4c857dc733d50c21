"""What really ran: the run file every run of the load appends one line to (``load.script``):
``<instance> <attempt> <epoch seconds when its script started>``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Ran", "RunFile", "read_runs"]


@dataclass(frozen=True)
class Ran:
    attempt: int
    started_ms: float


@dataclass(frozen=True)
class RunFile:
    by_instance: dict[int, list[Ran]]
    unreadable: int  # lines that were not three numbers (a run killed while writing)

    def first_start(self, instance: int) -> float | None:
        runs = self.by_instance.get(instance)
        return min(r.started_ms for r in runs) if runs else None

    def attempts(self, instance: int) -> list[int]:
        return [r.attempt for r in self.by_instance.get(instance, ())]


def read_runs(path: Path) -> RunFile:
    by_instance: dict[int, list[Ran]] = defaultdict(list)
    unreadable = 0
    text = path.read_text() if path.exists() else ""
    for line in text.splitlines():
        try:
            instance, attempt, started = line.split()
            by_instance[int(instance)].append(Ran(int(attempt), float(started) * 1000))
        except ValueError:
            unreadable += 1
    return RunFile(dict(by_instance), unreadable)
