"""``make bench``: every scenario for tickwork (SQLite and PostgreSQL) and for the peers, one
after the other on this machine; ``bench/out/results.json`` and a markdown table.

    .venv/bin/python bench/run.py [--quick] [--only precision,throughput,...] [--scale-jobs N]
                                  [--systems tickwork,apscheduler,celery,procrastinate]

Each scenario of each system is a script (``bench/tickwork/<scenario>.py``,
``bench/peers/<peer>/<scenario>.py``) that prints its result rows as JSON; a peer's script runs
in the peer's own virtual environment (bench/peers/envs.py), made from PyPI on first use. A
script that fails is reported in the table and in ``bench/out/failures.json``; the others go
on. docs/benchmarks.md says what each number means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH / "peers"))
import envs  # noqa: E402

SCENARIOS = ("precision", "throughput", "throughput_shell", "scale", "api")
SYSTEMS = ("tickwork", "apscheduler", "celery", "procrastinate")
TIMEOUT_S = 3 * 3600


@dataclass(frozen=True)
class Run:
    scenario: str
    system: str
    backend: str
    script: Path
    args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.scenario} / {self.system} ({self.backend})"


def plan() -> list[Run]:
    """Every (scenario, system, backend) the suite measures, in the order it runs them."""
    tw = BENCH / "tickwork"
    peers = BENCH / "peers"
    runs: list[Run] = []
    for backend in ("sqlite", "postgresql"):
        runs += [
            Run("precision", "tickwork", backend, tw / "precision.py", ("--backend", backend)),
            Run("throughput", "tickwork", backend, tw / "throughput.py", ("--backend", backend)),
            Run("throughput_shell", "tickwork", backend, tw / "throughput.py",
                ("--backend", backend, "--shell")),
            Run("scale", "tickwork", backend, tw / "scale.py", ("--backend", backend)),
            Run("api", "tickwork", backend, tw / "api.py", ("--backend", backend)),
        ]  # fmt: skip
    for backend in ("sqlite", "postgresql"):
        runs += [
            Run("precision", "apscheduler", backend, peers / "apscheduler" / "precision.py",
                ("--backend", backend)),
            Run("scale", "apscheduler", backend, peers / "apscheduler" / "scale.py",
                ("--backend", backend)),
        ]  # fmt: skip
    runs += [
        Run("precision", "celery", "redis", peers / "celery" / "precision.py"),
        Run("throughput", "celery", "redis", peers / "celery" / "throughput.py"),
        Run("throughput_shell", "celery", "redis", peers / "celery" / "throughput.py",
            ("--shell",)),
        Run("precision", "procrastinate", "postgresql", peers / "procrastinate" / "precision.py"),
        Run("throughput", "procrastinate", "postgresql",
            peers / "procrastinate" / "throughput.py"),
        Run("throughput_shell", "procrastinate", "postgresql",
            peers / "procrastinate" / "throughput.py", ("--shell",)),
    ]  # fmt: skip
    return runs


def interpreter(run: Run) -> Path:
    if run.system == "tickwork":
        return Path(sys.executable)
    return envs.python_of(run.system)


def measure(
    run: Run, quick: bool, scale_jobs: int | None = None
) -> tuple[list[dict[str, object]], str | None]:
    """The rows a script printed, or the reason it gave none."""
    command = [str(interpreter(run)), str(run.script), *run.args, *(["--quick"] if quick else [])]
    if scale_jobs is not None and run.scenario == "scale":
        command += ["--jobs", str(scale_jobs)]
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=None, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return [], f"timed out after {TIMEOUT_S} s"
    if done.returncode != 0:
        return [], f"exit code {done.returncode}"
    try:
        rows = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return [], "printed no result rows"
    return rows, None


METRICS = {
    "precision": ("lateness_p50", "lateness_p99", "lateness_max", "missed", "doubled"),
    "throughput": ("runs_per_s", "failed"),
    "throughput_shell": ("runs_per_s", "failed"),
    "scale": ("lateness_p99", "lateness_max", "missed", "rss_mib", "cpu_s"),
    "api": ("requests_per_s", "latency_p50", "latency_p99", "errors"),
}


def table(rows: list[dict[str, object]], failures: dict[str, str]) -> str:
    """One markdown table per scenario: a line per system and backend, a column per metric."""
    parts: list[str] = []
    for scenario in SCENARIOS:
        mine = [r for r in rows if r["scenario"] == scenario]
        failed = {k: v for k, v in failures.items() if k.startswith(f"{scenario} / ")}
        if not mine and not failed:
            continue
        metrics = METRICS[scenario]
        units = {str(r["metric"]): str(r["unit"]) for r in mine}
        head = " | ".join(f"{m} ({units.get(m, '')})" for m in metrics)
        parts.append(f"### {scenario}\n\n| system | backend | {head} |")
        parts.append("|---|---|" + "---:|" * len(metrics))
        systems = sorted({(str(r["system"]), str(r["backend"])) for r in mine})
        for system, backend in systems:
            values = {
                str(r["metric"]): r["value"]
                for r in mine
                if (r["system"], r["backend"]) == (system, backend)
            }
            cells = " | ".join(_cell(values.get(m)) for m in metrics)
            parts.append(f"| {system} | {backend} | {cells} |")
        for label, why in failed.items():
            parts.append(f"| {label.split(' / ', 1)[1]} | failed: {why} |" + " |" * len(metrics))
        parts.append("")
    return "\n".join(parts)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short version of everything")
    parser.add_argument("--only", default="", help="scenarios, comma-separated")
    parser.add_argument("--systems", default="", help="systems, comma-separated")
    parser.add_argument(
        "--scale-jobs", type=int, help="jobs of the scale scenario (default 100,000; QUICK 3,000)"
    )
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s} or set(SCENARIOS)
    systems = {s for s in args.systems.split(",") if s} or set(SYSTEMS)
    OUT.mkdir(exist_ok=True)
    rows: list[dict[str, object]] = []
    failures: dict[str, str] = {}
    chosen = [r for r in plan() if r.scenario in only and r.system in systems]
    started = time.time()
    for n, run in enumerate(chosen, start=1):
        print(f"[{n}/{len(chosen)}] {run.label} ...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        got, why = measure(run, args.quick, args.scale_jobs)
        took = time.monotonic() - begun
        if why is not None:
            failures[run.label] = why
            print(f"    failed ({why}) after {took:.0f} s", file=sys.stderr, flush=True)
        else:
            rows += got
            print(f"    done in {took:.0f} s", file=sys.stderr, flush=True)
        # written after every script: an interrupted run keeps what it measured
        (OUT / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
        (OUT / "failures.json").write_text(json.dumps(failures, indent=1) + "\n")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = (
        f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {'QUICK' if args.quick else 'full'} run "
        f"{'' if args.scale_jobs is None else f'(scale: {args.scale_jobs} jobs) '}"
        f"of {(time.time() - started) / 60:.0f} min, {when}"
    )
    text = f"{machine}\n\n{table(rows, failures)}"
    (OUT / "results.md").write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
