"""The figures a worker measures of its machine (the standard library only)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tickwork.worker.host import is_ip, listening_ip, local_ip
from tickwork.worker.metrics import HEAP_SAMPLES, MetricsSampler


def test_a_sample_measures_this_process_and_its_disk(tmp_path: Path) -> None:
    runs = iter(range(100))
    sampler = MetricsSampler(lambda: next(runs), disk_path=str(tmp_path))
    first = sampler.sample()
    assert first.disk_max == shutil.disk_usage(str(tmp_path)).total // (1024 * 1024)
    assert first.cpu_processors == len(os.sched_getaffinity(0))
    assert 0 < first.heap1_usage < 1 and first.heap1_used > 1 and first.heap_max > 0
    assert first.exec_count == 0 and sampler.sample().exec_count == 1


def test_heap5_is_the_mean_of_the_latest_five_samples() -> None:
    sampler = MetricsSampler()
    ratios = [sampler.sample().heap1_usage for _ in range(HEAP_SAMPLES + 2)]
    last = sampler.sample()
    window = [*ratios[-(HEAP_SAMPLES - 1) :], last.heap1_usage]
    assert abs(last.heap5_usage - sum(window) / HEAP_SAMPLES) < 1e-12


def test_host_ips() -> None:
    assert local_ip("127.0.0.1") == "127.0.0.1"  # the route to loopback is loopback
    assert is_ip(local_ip()) and is_ip(local_ip("localhost"))
    assert listening_ip("10.1.2.3") == "10.1.2.3"
    assert is_ip(listening_ip("0.0.0.0")) and not is_ip("host.example")
