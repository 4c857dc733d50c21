"""Several ``tickwork server`` processes on one PostgreSQL database, worker agents, clock skew
(libfaketime) and PostgreSQL restarts, for the multi-server acceptance tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pg_support import PG_HOST, PG_PORT, PG_USER, pg_url
from server_support import BACKEND, TICKWORK, ServerProcess, base_env, free_port

KEY = ("multi-admin", "multi-admin-secret-0123456789")
FINAL_CODES = "(4, 5, 6, 9, 11, 12, 99)"  # success ... removed: the final statuses in SQL
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
IN_CI = os.environ.get("CI", "").lower() == "true"

only_in_the_postgres_pass = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="many servers need PostgreSQL: runs in the TW_TEST_BACKEND=postgres pass",
)

NOOP_MODULE = """from tickwork.processor import JobContext, ProcessResult, Processor


class Noop(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, "ok")
"""


def skewed(env: dict[str, str], offset_s: float) -> dict[str, str]:
    """``env`` with the process clock moved by ``offset_s`` (libfaketime; the monotonic clock
    is left alone). Skips the test without libfaketime, fails under CI=true."""
    if not FAKETIME.exists():
        message = f"libfaketime ({FAKETIME}) is missing: apt-get install faketime"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return dict(
        env,
        LD_PRELOAD=str(FAKETIME),
        FAKETIME=f"{offset_s:+.3f}",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
    )


def start_server(
    home: Path,
    database: str,
    *args: str,
    port: int | None = None,
    clock_offset_s: float = 0.0,
    in_process_worker: bool = False,
    **env: str,
) -> ServerProcess:
    defaults = {
        "TICKWORK_LEASE_S": "3",
        "TICKWORK_HEARTBEAT_S": "0.3",
        "TICKWORK_MISFIRE_THRESHOLD_MS": "15000",
    }
    settings = base_env(
        TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1], **{**defaults, **env}
    )
    if clock_offset_s:
        settings = skewed(settings, clock_offset_s)
    no_worker = () if in_process_worker else ("--no-worker",)
    return ServerProcess(
        home, port or free_port(), settings, "--db", pg_url(database), *no_worker, *args
    )


def start_agent(
    log: Path, servers: list[ServerProcess], app_key: str, address: str, code: Path
) -> subprocess.Popen[bytes]:
    """A ``tickwork worker`` with the servers in that order (it fails over down the list)."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [TICKWORK, "worker", "--server", ",".join(s.url for s in servers),
             "--app-key", app_key, "--address", address, "--concurrency", "128"],
            env=base_env(PYTHONPATH=str(code)), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop_agent(agent: subprocess.Popen[bytes]) -> None:
    if agent.poll() is None:
        agent.terminate()
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()


def rows(database: str, sql: str) -> list[Any]:
    async def query() -> list[Any]:
        conn = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database=database, timeout=5
        )
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(query())


def unfinished(database: str) -> int:
    found = rows(database, f"SELECT count(*) AS n FROM instances WHERE status NOT IN {FINAL_CODES}")
    return int(found[0]["n"])


def restart_postgresql() -> None:
    """Restart the local PostgreSQL cluster (fast shutdown: open connections are cut)."""
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not versions or os.geteuid() != 0:
        message = "restarting PostgreSQL needs root and a local cluster (pg_ctlcluster)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart",
         "-m", "fast"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
