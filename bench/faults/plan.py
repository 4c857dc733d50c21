"""The faults of a run, when they happen (seconds into the measured window), and making them
happen to a ``Cluster``: a server SIGKILLed and started again later (twice, two different
servers), the busiest server stopped with SIGTERM and started again at once, PostgreSQL
restarted, and with agents one agent frozen (SIGSTOP) and woken (SIGCONT)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from harness import common, pg_query

from faults.cluster import Cluster, Node, Server

__all__ = ["Fault", "Kind", "Made", "Plan", "make_faults", "pg_restart_refusal"]

STOP_WITHIN_S = 60.0  # a server still running this long after SIGTERM is SIGKILLed


class Kind(StrEnum):
    SIGKILL = "sigkill"  # the busiest server not killed before, started again after a while
    SIGTERM_RESTART = "sigterm_restart"  # the busiest server, stopped and started at once
    PG_RESTART = "pg_restart"  # pg_ctlcluster ... restart -m fast
    AGENT_SIGSTOP = "agent_sigstop"  # the first agent frozen, woken after a while


@dataclass(frozen=True)
class Fault:
    kind: Kind
    at_s: float
    back_after_s: float = 0.0  # SIGKILL: started again; SIGSTOP: SIGCONT


@dataclass(frozen=True)
class Plan:
    faults: tuple[Fault, ...]
    seconds: float  # the measured window, from its first whole second

    @staticmethod
    def of(quick: bool, agents: bool) -> Plan:
        """Full: a fault every 30 s (a killed server down 30 s), 30 s of calm after the last:
        3.5 minutes, 4.25 with agents; quick: every 15 s (down 10 s), 20 s after the last."""
        gap, down, calm = (15.0, 10.0, 20.0) if quick else (30.0, 30.0, 30.0)
        first = 10.0 if quick else 30.0
        faults = [
            Fault(Kind.SIGKILL, first, down),
            Fault(Kind.SIGKILL, first + down + gap, down),
            Fault(Kind.SIGTERM_RESTART, first + 2 * (down + gap)),
            Fault(Kind.PG_RESTART, first + 2 * (down + gap) + gap),
        ]
        if agents:
            faults.append(Fault(Kind.AGENT_SIGSTOP, faults[-1].at_s + gap, 15.0))
        last = faults[-1]
        return Plan(tuple(faults), last.at_s + last.back_after_s + calm)


@dataclass
class Made:
    """A fault as it happened (epoch ms): made at ``at_ms``, undone (server exited and
    started again, PostgreSQL restarted, agent woken) at ``back_ms``, the server or the
    database answering again at ``ready_ms``. ``skipped``: why it was not made."""

    kind: Kind
    target: str = ""
    at_ms: float = 0.0
    back_ms: float | None = None
    ready_ms: float | None = None
    skipped: str | None = None
    notes: dict[str, float] = field(default_factory=dict)


def pg_restart_refusal(wanted: bool) -> str | None:
    """Why this script may not restart PostgreSQL, or None when it may."""
    if not wanted:
        return "not asked (--no-pg-restart; the default of --quick)"
    if not Path("/etc/postgresql").is_dir() or shutil.which("pg_ctlcluster") is None:
        return "no local cluster (pg_ctlcluster, /etc/postgresql)"
    if os.geteuid() != 0:
        return "pg_ctlcluster needs root"
    return None


def make_faults(cluster: Cluster, plan: Plan, start_ms: int, pg_refusal: str | None) -> list[Made]:
    """Make the plan's faults at their times (``start_ms``: the window's first second), each
    in a thread of its own, so that one that takes long (a server slow to stop) delays no
    other; what happened, in the plan's order, once every one has ended."""
    made = [Made(f.kind) for f in plan.faults]
    events = sorted(
        [(f.at_s, n, False) for n, f in enumerate(plan.faults)]
        + [(f.at_s + f.back_after_s, n, True) for n, f in enumerate(plan.faults) if f.back_after_s]
    )
    killed: list[Server] = []
    threads: list[threading.Thread] = []
    for at_s, n, undo in events:
        time.sleep(max(start_ms / 1000 + at_s - time.time(), 0))
        args = (cluster, made[n], undo, killed, pg_refusal, start_ms)
        threads.append(threading.Thread(target=_event, args=args))
        threads[-1].start()
    for thread in threads:
        thread.join()
    return made


def _event(
    cluster: Cluster,
    record: Made,
    undo: bool,
    killed: list[Server],
    pg_refusal: str | None,
    start_ms: int,
) -> None:
    if undo:
        _undo(cluster, record)
    elif record.kind is Kind.PG_RESTART and pg_refusal is not None:
        record.skipped = pg_refusal
    else:
        _make(cluster, record, killed)
    common.say(f"  {time.time() - start_ms / 1000:6.1f} s: {_describe(record, undo)}")


def _make(cluster: Cluster, record: Made, killed: list[Server]) -> None:
    record.at_ms = time.time() * 1000
    if record.kind is Kind.SIGKILL:
        server = cluster.busiest(exclude=tuple(killed))
        killed.append(server)
        record.target = server.name
        server.send(signal.SIGKILL)
        server.wait_exit(10)
    elif record.kind is Kind.SIGTERM_RESTART:
        server = cluster.busiest()
        record.target = server.name
        server.send(signal.SIGTERM)
        record.notes["stop_s"] = server.wait_exit(STOP_WITHIN_S)
        record.notes["stop_killed"] = float(record.notes["stop_s"] >= STOP_WITHIN_S)
        _start_again(cluster, server, record)
    elif record.kind is Kind.PG_RESTART:
        record.target = "postgresql"
        _restart_postgresql()
        record.back_ms = time.time() * 1000
        common.wait_until(lambda: pg_query(cluster.database, "SELECT 1"), 60, every=0.1)
        record.ready_ms = time.time() * 1000
    else:
        agent: Node = cluster.agents[0]
        record.target = agent.name
        agent.send(signal.SIGSTOP)


def _undo(cluster: Cluster, record: Made) -> None:
    if record.kind is Kind.SIGKILL:
        server = next(s for s in cluster.servers if s.name == record.target)
        _start_again(cluster, server, record)
    else:
        next(a for a in cluster.agents if a.name == record.target).send(signal.SIGCONT)
        record.back_ms = record.ready_ms = time.time() * 1000


def _start_again(cluster: Cluster, server: Server, record: Made) -> None:
    record.back_ms = time.time() * 1000
    cluster.start(server)
    cluster.wait_ready(server)
    record.ready_ms = time.time() * 1000


def _restart_postgresql() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def _describe(record: Made, undo: bool) -> str:
    if record.skipped:
        return f"{record.kind} skipped: {record.skipped}"
    if undo:
        return f"{record.kind} {record.target} undone (started again / woken)"
    done = ", ".join(f"{k} {v:.1f}" for k, v in record.notes.items())
    return f"{record.kind} {record.target}{f' ({done})' if done else ''}"
