"""A worker's figures from its heartbeat, and whether they make it busy."""

from __future__ import annotations

from typing import Any

import pytest

from tickwork.domain.worker_metrics import WorkerMetrics, busy_state


def test_figures_go_and_come_back_over_the_wire() -> None:
    sent = WorkerMetrics(cpu_load1=0.5, cpu_load5=0.25, cpu_processors=4, heap1_usage=0.1,
                         heap5_usage=0.2, heap1_used=30.5, heap_max=4096, disk_usage=0.4,
                         disk_used=400, disk_max=1000, exec_count=7)  # fmt: skip
    assert WorkerMetrics.from_wire(sent.to_wire()) == sent


def test_missing_figures_read_zero() -> None:
    """A newer or older agent may send fewer figures; those it leaves out are 0."""
    got = WorkerMetrics.from_wire({"cpu_load1": 1.5, "unknown": "ignored"})
    assert got == WorkerMetrics(cpu_load1=1.5)


@pytest.mark.parametrize(
    "value",
    [None, "text", [], {"cpu_load1": "high"}, {"disk_max": -1}, {"heap_max": True},
     {"cpu_load5": float("nan")}],
)  # fmt: skip
def test_malformed_figures_are_none(value: Any) -> None:
    assert WorkerMetrics.from_wire(value) is None


@pytest.mark.parametrize(
    ("metrics", "state"),
    [
        (None, "FREE"),
        (WorkerMetrics(cpu_load5=1.9, cpu_processors=2, heap5_usage=0.5), "FREE"),
        (WorkerMetrics(cpu_load5=2.0, cpu_processors=2), "LOAD5_BUSY"),
        (WorkerMetrics(cpu_load5=9.0, cpu_processors=0), "FREE"),  # processors unknown
        (WorkerMetrics(cpu_processors=2, heap5_usage=0.9), "HEAP5_BUSY"),
        (WorkerMetrics(cpu_processors=2, heap5_usage=0.89, disk_usage=0.95), "DISK_BUSY"),
        (WorkerMetrics(cpu_load5=3, cpu_processors=2, heap5_usage=1, disk_usage=1), "LOAD5_BUSY"),
    ],
)
def test_busy_state(metrics: WorkerMetrics | None, state: str) -> None:
    assert busy_state(metrics) == state
