"""One run printing fast: how much of its log is kept, and the server's memory meanwhile.

Starts `tickwork server` (fresh home; SQLite, or a fresh PostgreSQL database with --pg), and
with --agent a `tickwork worker` agent that takes the run (the server then has no worker of its
own). Creates one shell job printing ``--bytes`` of 11-byte lines (``yes 0123456789 | head -c
N``), runs it, samples the resident memory of the server (and agent) every 0.2 s until the
instance ends, and prints what was stored.

    .venv/bin/python bench/log_flood.py [--bytes 200000000] [--agent] [--pg] [--python]

--python prints 100-byte lines from a python job instead (``print`` in a loop); --long prints
no line break at all (the worker cuts it into lines of 16 KiB).
Extra ``TICKWORK_*`` variables in the environment reach the server (e.g. the log cap).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx
from bench_support import free_port, wait_until

KEY = ("bench", "bench-secret-0123456789")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
PYTHON_PRINTER = """import sys
line = "x" * 99
for _ in range({count}):
    print(line)
"""


def rss_kib(pid: int) -> int:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """The peak resident memory of some processes, sampled every 0.2 s."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self.first = dict.fromkeys(pids, 0)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for name, pid in self.pids.items():
                value = rss_kib(pid)
                self.first[name] = self.first[name] or value
                self.peak[name] = max(self.peak[name], value)
            self.stopping.wait(0.2)


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(database="test", **PG)  # type: ignore[arg-type]
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_size(name: str) -> int:
    conn = await asyncpg.connect(database=name, **PG)  # type: ignore[arg-type]
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


def sqlite_size(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("tickwork.db*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bytes", type=int, default=200_000_000)
    parser.add_argument("--agent", action="store_true", help="run it on a worker agent")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    parser.add_argument("--python", action="store_true", help="a python job printing")
    parser.add_argument("--long", action="store_true", help="lines of 16 KiB")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tickwork-log-flood-"))
    port = free_port()
    exe = str(Path(sys.executable).with_name("tickwork"))
    env = dict(
        os.environ,
        TICKWORK_HOME=str(home),
        TICKWORK_ADMIN_KEY_ID=KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=KEY[1],
        TICKWORK_LOG_LEVEL="warning",
    )
    pg_name = ""
    extra: list[str] = []
    if args.pg:
        pg_name = "tw_log_flood_" + secrets.token_hex(4)
        asyncio.run(pg_admin(f"CREATE DATABASE {pg_name}"))
        extra = ["--db", f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{pg_name}"]
    if args.agent:
        extra.append("--no-worker")
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([exe, "server", "--port", str(port), *extra], env=env)
    agent: subprocess.Popen[bytes] | None = None
    try:
        # a read flushes what the engine queued first: with a backlog, that can take minutes
        with httpx.Client(base_url=url, auth=KEY, timeout=3600) as client:
            wait_until(lambda: client.get("/healthz").status_code == 200)
            pids = {"server": server.pid}
            if args.agent:
                group = client.get("/api/v1/namespaces/default/groups/default").json()
                agent = subprocess.Popen(
                    [exe, "worker", "--server", url, "--app-key", group["app_key"],
                     "--address", "flood-agent:1"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                pids["agent"] = agent.pid
                workers = "/api/v1/namespaces/default/groups/default/workers"
                wait_until(
                    lambda: any(not w["in_process"] for w in client.get(workers).json()["items"])
                )
            size_before = asyncio.run(pg_size(pg_name)) if args.pg else sqlite_size(home)
            if args.python:
                job_type, content = "python", PYTHON_PRINTER.format(count=args.bytes // 100)
            elif args.long:
                job_type, content = "shell", f"head -c {args.bytes} /dev/zero | tr '\\0' x"
            else:
                job_type, content = "shell", f"yes 0123456789 | head -c {args.bytes}"
            job = client.post(
                "/api/v1/jobs",
                json={"name": "flood", "job_type": job_type, "time_type": "api",
                      "content": content},
            ).json()  # fmt: skip
            sampler = Sampler(pids)
            sampler.start()
            began = time.monotonic()
            instance = client.post(f"/api/v1/jobs/{job['id']}/run", json={}).json()
            path = f"/api/v1/instances/{instance['id']}"
            wait_until(
                lambda: client.get(path).json()["status"] in ("success", "failed", "killed"),
                within=3600,
                every=0.5,
            )
            elapsed = time.monotonic() - began
            sampler.stopping.set()
            sampler.join()
            done = client.get(path).json()
            logs = client.get(f"{path}/logs", params={"limit": 3, "reverse": "true"}).json()
            size_after = asyncio.run(pg_size(pg_name)) if args.pg else sqlite_size(home)
            report = {
                "backend": "postgresql" if args.pg else "sqlite",
                "worker": "agent" if args.agent else "in-process",
                "printed_bytes": args.bytes,
                "status": done["status"],
                "result": done["result"][:40],
                "seconds": round(elapsed, 1),
                "stored_lines": logs["total"],
                "last_lines": [item["line"][:160] for item in reversed(logs["items"])],
                "database_growth_mib": round((size_after - size_before) / 2**20, 1),
                **{f"{n}_rss_start_mib": round(v / 1024) for n, v in sampler.first.items()},
                **{f"{n}_rss_peak_mib": round(v / 1024) for n, v in sampler.peak.items()},
            }
            print(json.dumps(report, indent=2))
    finally:
        for process in (agent, server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if pg_name:
            asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
