"""``tickwork server`` for a benchmark, with its defaults (in-process worker) in a fresh home:
on SQLite one server (one server per SQLite file), on a fresh PostgreSQL database one server
per core (``BENCH_PG_SERVERS`` to change), all on that database, each on its own port, which
is how tickwork is run past one core (docs/multi-server.md). Their native API, their database
read directly, their processes for memory and CPU. The bench scripts of this folder share it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))
import common  # noqa: E402

KEY = ("bench", "bench-secret-0123456789")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SYSTEM = "tickwork"

PROCESSORS = '''import time

from tickwork.processor import JobContext, ProcessResult, Processor


class Noop(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, "")


class Stamp(Processor):
    """Its result is the epoch ms at which its code started."""

    def process(self, ctx: JobContext) -> ProcessResult:
        return ProcessResult(True, repr(time.time() * 1000))
'''


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(database="postgres", timeout=10, **PG)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> str:
    """A fresh PostgreSQL database for one run; its name."""
    name = f"tw_bench_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_query(database: str, sql: str) -> list[dict[str, Any]]:
    """The rows of one query on a PostgreSQL database, as dicts."""

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database=database, timeout=10, **PG)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def server_env(home: Path, database: str = "", **env: str) -> dict[str, str]:
    """The environment of a bench server: a fresh home, the bench's admin key, warnings only,
    ``home`` on the Python path (for its processors), on ``database`` when one is named."""
    settings = {
        **os.environ,
        "TICKWORK_HOME": str(home),
        "TICKWORK_ADMIN_KEY_ID": KEY[0],
        "TICKWORK_ADMIN_KEY_SECRET": KEY[1],
        "TICKWORK_LOG_LEVEL": "warning",
        "PYTHONPATH": str(home),
        **env,
    }
    if database:
        settings["TICKWORK_DATABASE_URL"] = (
            f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
        )
    return settings


def start_server(
    port: int, settings: dict[str, str], log: IO[bytes], *extra_args: str
) -> subprocess.Popen[bytes]:
    """One ``tickwork server`` process on ``port``, its output into ``log``."""
    exe = Path(sys.executable).with_name("tickwork")
    return subprocess.Popen(
        [str(exe), "server", "--port", str(port), *extra_args],
        env=settings,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def pg_servers() -> int:
    """How many servers share the PostgreSQL database: one per core unless told."""
    return int(os.environ.get("BENCH_PG_SERVERS") or os.cpu_count() or 1)


class Server:
    """Start with ``with Server(backend) as server:``; it stops (and drops its database).
    On PostgreSQL it is ``pg_servers()`` server processes; ``port`` is the first one's,
    ``ports`` all of theirs (a load generator spreads its connections over them)."""

    def __init__(self, backend: str, *extra_args: str, **env: str) -> None:
        if backend not in ("sqlite", "postgresql"):
            raise SystemExit(f"--backend must be sqlite or postgresql, got {backend!r}")
        self.backend = backend
        self.home = Path(tempfile.mkdtemp(prefix="tickwork-bench-"))
        (self.home / "tw_bench_processors.py").write_text(PROCESSORS)
        self.database = create_database() if backend == "postgresql" else ""
        count = pg_servers() if self.database else 1
        self.ports = [common.free_port() for _ in range(count)]
        self.port = self.ports[0]
        self.url = f"http://127.0.0.1:{self.port}"
        settings = server_env(self.home, self.database, **env)
        self.log = (self.home / "server.log").open("wb")
        self.processes = [
            start_server(port, settings, self.log, *extra_args) for port in self.ports
        ]
        self.apis = [
            httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=KEY, timeout=120)
            for port in self.ports
        ]
        self.api = self.apis[0]

    @property
    def label(self) -> str:
        """The backend, and how many servers share it when more than one."""
        many = len(self.ports) > 1
        return f"{self.backend} ({len(self.ports)} servers)" if many else self.backend

    def cpu_seconds(self) -> float:
        """CPU all the servers used so far, seconds."""
        return sum(common.cpu_seconds(p.pid) for p in self.processes)

    def rss_mib(self) -> float:
        """Resident memory of all the servers together, MiB."""
        return sum(common.rss_mib(p.pid) for p in self.processes)

    def __enter__(self) -> Server:
        try:
            for api in self.apis:
                common.wait_until(lambda api=api: api.get("/healthz").status_code == 200, 60)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for api in self.apis:
            api.close()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.close()
        if self.database:
            drop_database(self.database)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- reading the database directly (fast, and what is durably stored) -------------------
    def query(self, sql: str) -> list[dict[str, Any]]:
        if self.backend == "sqlite":
            with sqlite3.connect(self.home / "tickwork.db", timeout=30) as db:
                db.row_factory = sqlite3.Row
                return [dict(r) for r in db.execute(sql).fetchall()]
        return pg_query(self.database, sql)

    def create_jobs(self, bodies: list[dict[str, Any]], connections: int = 16) -> list[int]:
        """Create jobs through the native API (``create_jobs``)."""
        return create_jobs(self.ports, bodies, connections)


def create_jobs(ports: list[int], bodies: list[dict[str, Any]], connections: int = 16) -> list[int]:
    """Create jobs through the native API of the servers on ``ports``; their ids, in the order
    of ``bodies`` (each body's ``name`` must be its own)."""
    encoded = (json.dumps(body).encode() for body in bodies)
    headers = {"Authorization": basic_auth(), "Content-Type": "application/json"}
    answers = asyncio.run(post_many(ports, "/api/v1/jobs", encoded, connections, headers))
    ids: dict[str, int] = {}
    for status, answer, _ in answers:
        if status != 201:
            raise SystemExit(f"creating a job failed: {status} {answer[:300]!r}")
        created = json.loads(answer)
        ids[created["name"]] = int(created["id"])
    common.say(f"  {len(ids)} jobs created")
    return [ids[body["name"]] for body in bodies]


def stamp_fires(server: Server, window: tuple[int, int]) -> list[tuple[Any, int, float]]:
    """(job, due, started) of the scheduled runs in the window whose Stamp result is stored."""
    found = server.query(
        "SELECT job_id, schedule_time, result, status FROM instances WHERE trigger_type = 1 "
        f"AND schedule_time >= {window[0]} AND schedule_time <= {window[1]}"
    )
    starts = []
    for r in found:
        if r["status"] == 4:  # success: its result is the instant its code started
            starts.append((r["job_id"], int(r["schedule_time"]), float(r["result"])))
    return starts


async def post_many(
    ports: list[int], path: str, bodies: Any, connections: int, headers: dict[str, str]
) -> list[tuple[int, bytes, float]]:
    """POST each body of the iterator ``bodies`` (bytes) to ``path`` over ``connections``
    keep-alive HTTP/1.1 connections (spread over the servers' ``ports``), each sending its
    next when the last was answered: a load generator light enough not to be the bottleneck
    (httpx spent ~3 ms of CPU a call). Returns (status, body, seconds) per call."""
    answers: list[tuple[int, bytes, float]] = []
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def connection(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in bodies:
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(head + body)
                status = int((await reader.readline()).split(b" ", 2)[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                answer = await reader.readexactly(length)
                answers.append((status, answer, time.perf_counter() - started))
        finally:
            writer.close()

    await asyncio.gather(*(connection(ports[n % len(ports)]) for n in range(connections)))
    return answers


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{KEY[0]}:{KEY[1]}".encode()).decode()
