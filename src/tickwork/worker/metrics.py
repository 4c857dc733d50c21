"""Measure what a worker reports of its machine in its heartbeat (``domain/worker_metrics``):
the CPU load (``os.getloadavg``), the memory of this process (``/proc/self/statm``) against
the most it may take, and the disk of the working directory (``shutil.disk_usage``). The
standard library only; a figure that cannot be read on this system is 0."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
from collections import deque
from collections.abc import Callable

from tickwork.domain.worker_metrics import WorkerMetrics

__all__ = ["HEAP_SAMPLES", "MetricsSampler"]

HEAP_SAMPLES = 5  # heap5_usage is the mean of this many samples (one per heartbeat)
_MB = 1024 * 1024


def _processors() -> int:
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 0


def _load() -> tuple[float, float]:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return (0.0, 0.0)
    return (one, five)


def _resident_bytes() -> int:
    """This process's resident memory now (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _memory_limit_bytes() -> int:
    """The most this process may take: its address-space limit, else the machine's memory."""
    with contextlib.suppress(ValueError, OSError):
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            return int(soft)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0


def _disk(path: str) -> tuple[int, int]:
    """(used, total) bytes of the file system holding ``path``."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return (0, 0)
    return (usage.used, usage.total)


class MetricsSampler:
    """Takes a sample per call (a worker calls it once per heartbeat) and keeps the latest
    ``HEAP_SAMPLES`` memory ratios for ``heap5_usage``."""

    def __init__(
        self, executed: Callable[[], int] = lambda: 0, disk_path: str | None = None
    ) -> None:
        """``executed``: how many runs this worker started so far."""
        self._executed = executed
        self._disk_path = disk_path or os.getcwd()
        self._heap: deque[float] = deque(maxlen=HEAP_SAMPLES)

    def sample(self) -> WorkerMetrics:
        load1, load5 = _load()
        used, limit = _resident_bytes(), _memory_limit_bytes()
        ratio = used / limit if limit else 0.0
        self._heap.append(ratio)
        disk_used, disk_total = _disk(self._disk_path)
        return WorkerMetrics(
            cpu_load1=load1,
            cpu_load5=load5,
            cpu_processors=_processors(),
            heap1_usage=ratio,
            heap5_usage=sum(self._heap) / len(self._heap),
            heap1_used=round(used / _MB, 1),
            heap_max=limit // _MB,
            disk_usage=disk_used / disk_total if disk_total else 0.0,
            disk_used=disk_used // _MB,
            disk_max=disk_total // _MB,
            exec_count=self._executed(),
        )
