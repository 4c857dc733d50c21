"""What a worker reports of its machine in its heartbeat (CPU load, memory, disk), and whether
that makes it busy: SchedulerX's ReadSchedulerxDesignateInfo shows both (``Metrics``,
``Busy``). Pure: the figures are measured in ``worker/metrics.py``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = [
    "BUSY_DISK",
    "BUSY_HEAP",
    "BUSY_LOAD",
    "DISK_BUSY_RATIO",
    "FREE",
    "HEAP_BUSY_RATIO",
    "WorkerMetrics",
    "busy_state",
]

# Busy states, as SchedulerX names them
FREE = "FREE"
BUSY_LOAD = "LOAD5_BUSY"
BUSY_HEAP = "HEAP5_BUSY"
BUSY_DISK = "DISK_BUSY"

HEAP_BUSY_RATIO = 0.9
"""Memory use (of the worker's process, over five samples) from which a worker is busy."""
DISK_BUSY_RATIO = 0.95
"""Disk use (of its working directory's file system) from which a worker is busy."""


@dataclass(slots=True, frozen=True)
class WorkerMetrics:
    """Ratios are 0..1 (as SchedulerX's own workers report them); sizes are MB.

    ``heap`` is the memory of the worker's process (Python has no fixed heap: ``heap_max`` is
    the most it may take, its address-space limit or else the machine's memory)."""

    cpu_load1: float = 0.0
    cpu_load5: float = 0.0
    cpu_processors: int = 0
    heap1_usage: float = 0.0  # the latest sample
    heap5_usage: float = 0.0  # the mean of the latest five samples
    heap1_used: float = 0.0
    heap_max: int = 0
    disk_usage: float = 0.0
    disk_used: int = 0
    disk_max: int = 0
    exec_count: int = 0  # runs the worker started so far

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, value: Any) -> WorkerMetrics | None:
        """The metrics of a heartbeat; None when absent or malformed (an agent that sends
        none still works: it shows no figures)."""
        if not isinstance(value, dict):
            return None
        found: dict[str, Any] = {}
        for item in fields(cls):
            raw = value.get(item.name, 0)
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                return None
            if not math.isfinite(raw) or raw < 0:
                return None
            found[item.name] = int(raw) if item.type == "int" else float(raw)
        return cls(**found)


def busy_state(metrics: WorkerMetrics | None) -> str:
    """``FREE`` or why the worker is busy: its five-minute load at or above its processor
    count, its memory or its disk nearly full. A worker that reports nothing is free."""
    if metrics is None:
        return FREE
    if metrics.cpu_processors and metrics.cpu_load5 >= metrics.cpu_processors:
        return BUSY_LOAD
    if metrics.heap5_usage >= HEAP_BUSY_RATIO:
        return BUSY_HEAP
    if metrics.disk_usage >= DISK_BUSY_RATIO:
        return BUSY_DISK
    return FREE
