"""Running ``tickwork server`` as a subprocess in acceptance tests."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

TICKWORK = str(Path(sys.executable).with_name("tickwork"))
BACKEND = os.environ.get("TW_TEST_BACKEND", "sqlite")
"""Which database the servers of acceptance tests use: ``sqlite`` (each in its home) or
``postgres`` (a database per home on the test PostgreSQL); ``make test`` runs both."""

_made_databases: list[str] = []


def database_args(home: Path) -> list[str]:
    """``--db URL`` for a server in ``home`` when the tests run on PostgreSQL (the same
    database for the same home, so a restarted server finds its data); else nothing."""
    if BACKEND != "postgres":
        return []
    from pg_support import ensure_pg_database, pg_url

    name = "tw_acc_" + hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:16]
    if name not in _made_databases:
        ensure_pg_database(name)
        _made_databases.append(name)
    return ["--db", pg_url(name)]


def drop_made_databases() -> None:
    from pg_support import drop_pg_database

    while _made_databases:
        drop_pg_database(_made_databases.pop())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWORK_")}
    env.update(extra)
    return env


class ServerProcess:
    def __init__(self, home: Path, port: int, env: dict[str, str], *args: str) -> None:
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        self.output = home / f"server-{time.monotonic_ns()}.log"
        home.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    TICKWORK,
                    "server",
                    "--port",
                    str(port),
                    "--home",
                    str(home),
                    *([] if "--db" in args else database_args(home)),
                    *args,
                ],  # fmt: skip
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.output.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.output.read_text()}")

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def until(check: Callable[[], Any], within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s; last value {value!r}")
