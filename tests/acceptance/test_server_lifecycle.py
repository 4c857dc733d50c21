"""``tickwork server`` as a subprocess: its first start, a crash (SIGKILL) and what the next
start makes of it, and PostgreSQL as its database."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import TICKWORK, ServerProcess, base_env, free_port, until

KEY = ("lifecycle-admin", "lifecycle-secret-0123456789")


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


@pytest.fixture
def clients() -> Iterator[Callable[[str], httpx.Client]]:
    """Admin HTTP clients of servers, closed after the test."""
    made: list[httpx.Client] = []

    def make(url: str) -> httpx.Client:
        made.append(httpx.Client(base_url=url, auth=KEY, timeout=30))
        return made[-1]

    yield make
    for client in made:
        client.close()


def test_first_start_generates_a_key_once_and_the_cli_uses_it(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    home = tmp_path / "home"
    port = free_port()
    first = ServerProcess(home, port, base_env())
    servers.append(first)
    printed = first.output.read_text()
    credentials = home / "credentials.json"
    data = json.loads(credentials.read_text())
    assert data["url"] == first.url
    assert data["access_key_secret"] in printed  # shown once, at the first start
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    cli = subprocess.run(
        [TICKWORK, "job", "list", "--json"],
        env=base_env(TICKWORK_HOME=str(home), TICKWORK_URL=first.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["total"] == 0
    first.stop()
    again = ServerProcess(home, port, base_env())
    servers.append(again)
    assert data["access_key_secret"] not in again.output.read_text()  # not a second time
    assert json.loads(credentials.read_text()) == data


def test_after_a_crash_runs_in_progress_go_again_and_missed_fires_are_recorded(
    tmp_path: Path, servers: list[ServerProcess], clients: Callable[[str], httpx.Client]
) -> None:
    home, port = tmp_path / "home", free_port()
    env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
    server = ServerProcess(home, port, env)
    servers.append(server)
    api = clients(server.url)
    slow = api.post(
        "/api/v1/jobs",
        json={"name": "slow", "job_type": "shell", "content": "sleep 60", "time_type": "api"},
    ).json()
    ticking = api.post(
        "/api/v1/jobs",
        json={
            "name": "tick",
            "job_type": "shell",
            "content": "echo t",
            "time_type": "cron",
            "time_expression": "* * * * * ?",
        },
    ).json()
    run = api.post(f"/api/v1/jobs/{slow['id']}/run").json()
    until(lambda: api.get(f"/api/v1/instances/{run['id']}").json()["status"] == "running")
    time.sleep(1.5)
    server.stop(signal.SIGKILL)
    time.sleep(7)  # longer than the misfire threshold (5 s)
    restarted = ServerProcess(home, port, env)
    servers.append(restarted)

    # the attempt that was running died with its server: the next one runs, a system retry
    # that uses none of the job's retries (it has none) (docs/multi-server.md)
    again = until(
        lambda: (lambda i: i if i["status"] == "running" and i["attempt"] == 1 else None)(
            api.get(f"/api/v1/instances/{run['id']}").json()
        )
    )
    assert again["trigger_type"] == "system_retry"
    log = api.get(f"/api/v1/instances/{run['id']}/logs").json()["items"]
    assert any(
        line["attempt"] == 0 and "the server stopped while this attempt ran" in line["line"]
        for line in log
    ), log

    def recovered() -> list[dict[str, Any]] | None:
        items = api.get(
            "/api/v1/instances", params={"job_id": ticking["id"], "page_size": 1000}
        ).json()["items"]
        late = [i for i in items if i["status"] == "success" and i["result"] == "t"]
        return items if any(i["status"] == "skipped" for i in items) and late else None

    items = until(recovered)
    api.post(f"/api/v1/jobs/{ticking['id']}/disable")
    times = [i["schedule_time"] for i in items]
    assert len(times) == len(set(times)), "a fire happened twice"
    metrics = api.get("/metrics").text
    skipped = [
        line for line in metrics.splitlines() if line.startswith("tickwork_fires_skipped_total")
    ]
    assert skipped and float(skipped[0].split()[-1]) >= 1


def _psql(sql: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.postgres
def test_the_server_runs_on_postgresql(
    tmp_path: Path, servers: list[ServerProcess], clients: Callable[[str], httpx.Client]
) -> None:
    name = f"tickwork_acceptance_{secrets.token_hex(4)}"
    try:
        if shutil.which("psql") is None:
            raise OSError("psql is not installed")
        _psql(f'CREATE DATABASE "{name}"')
    except (OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not usable: {exc}; CI=true needs it")
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not usable: {exc}")
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
        server = ServerProcess(tmp_path / "home", free_port(), env, "--db", url)
        servers.append(server)
        api = clients(server.url)
        job = api.post(
            "/api/v1/jobs",
            json={
                "name": "pg",
                "job_type": "shell",
                "content": "echo on-pg",
                "time_type": "cron",
                "time_expression": "* * * * * ?",
            },
        ).json()

        def two_done() -> bool:
            items = api.get(
                "/api/v1/instances", params={"job_id": job["id"], "status": "success"}
            ).json()
            return items["total"] >= 2

        until(two_done)
        assert not (tmp_path / "home" / "tickwork.db").exists()  # nothing went to SQLite
        server.stop()
    finally:
        for server in servers:
            server.stop(signal.SIGKILL)
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
