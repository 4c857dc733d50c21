"""What every benchmark script shares, peers' and tickwork's alike. Standard library only: the
peers' scripts run in their own virtual environments (bench/peers/envs.py).

A script prints nothing on stdout but its result rows, as one JSON list (``emit``); progress
and diagnostics go to stderr. A row is one number:

    {"scenario": "precision", "system": "apscheduler", "backend": "sqlite",
     "metric": "lateness_p99", "value": 12.3, "unit": "ms"}

Scenarios and their metrics (docs/benchmarks.md says what each means):

- precision: lateness_p50, lateness_p99, lateness_max (ms, due instant -> start of the job's
  code), missed, doubled (count of (job, second) pairs with no run / more than one)
- throughput (no-op job) and throughput_shell (a shell job running `true`): runs_per_s
  (runs/s, first trigger -> last final state stored), runs (count)
- scale: lateness_p99, lateness_max (ms), missed, doubled, rss_mib (MiB, the scheduler's
  resident memory at the end), cpu_s (s of CPU the scheduler used during the measurement)
- api: requests_per_s (req/s), latency_p50, latency_p99 (ms)
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]


def row(scenario: str, system: str, backend: str, metric: str, value: float, unit: str) -> Row:
    clean = value if math.isfinite(value) else -1.0
    return {
        "scenario": scenario,
        "system": system,
        "backend": backend,
        "metric": metric,
        "value": round(clean, 3),
        "unit": unit,
    }


def emit(rows: Iterable[Row]) -> None:
    """The script's result: one JSON list on stdout."""
    json.dump(list(rows), sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def precision_rows(
    scenario: str,
    system: str,
    backend: str,
    starts: Iterable[tuple[Any, int, float]],
    jobs: Iterable[Any],
    window: tuple[int, int],
) -> list[Row]:
    """Rows for lateness and missed/doubled fires.

    ``starts``: (job key, due instant in epoch ms, epoch ms when the job's code started) of
    every run seen; ``window``: [first, last] due instants (epoch ms, whole seconds) whose
    fires are expected: one per job per second (every ``period_ms``: see ``expected``).
    """
    first, last = window
    seen: Counter[tuple[Any, int]] = Counter()
    late: list[float] = []
    for job, due, started in starts:
        if first <= due <= last:
            seen[(job, due)] += 1
            late.append(started - due)
    expected = [(job, t) for job in jobs for t in range(first, last + 1, 1000)]
    missed = sum(1 for key in expected if seen[key] == 0)
    doubled = sum(n - 1 for n in seen.values() if n > 1)
    return [
        row(scenario, system, backend, "lateness_p50", percentile(late, 0.50), "ms"),
        row(scenario, system, backend, "lateness_p99", percentile(late, 0.99), "ms"),
        row(scenario, system, backend, "lateness_max", max(late) if late else float("nan"), "ms"),
        row(scenario, system, backend, "missed", missed, "count"),
        row(scenario, system, backend, "doubled", doubled, "count"),
    ]


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (with its reaped children) used so far, seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, within: float = 60.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"not within {within} s")


def next_whole_second(after_s: float = 0.0) -> int:
    """The epoch ms of the first whole second at least ``after_s`` from now."""
    return math.ceil(time.time() + after_s) * 1000
