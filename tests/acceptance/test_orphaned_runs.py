"""A run dies with the process that started it: a SIGKILLed ``tickwork server`` or ``tickwork
worker`` leaves no script running, and a retry never runs beside a copy still alive."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import TICKWORK, ServerProcess, base_env, free_port, until

from tickwork.worker.process_tree import group_members

KEY = ("orphans-admin", "orphans-admin-secret-0123456789")
GONE_WITHIN_S = 10.0  # a guard against hangs, not a timing assertion


def copy_script(folder: Path) -> str:
    """A script that first records, in ``folder/beside``, every earlier copy whose process
    group still has a live process, then its own group in ``folder/pids``; then it sleeps
    (in a child of the shell, as scripts do)."""
    return f"""
"{sys.executable}" - "{folder}" $$ <<'PY'
import pathlib, sys
from tickwork.worker.process_tree import group_members
folder, me = pathlib.Path(sys.argv[1]), sys.argv[2]
pids = folder / "pids"
earlier = pids.read_text().split() if pids.exists() else []
for pid in earlier:
    if group_members(int(pid)):
        with (folder / "beside").open("a") as beside:
            beside.write(f"{{me}} started while {{pid}} was alive\\n")
with pids.open("a") as out:
    out.write(me + "\\n")
PY
echo "copy $$ started"
sleep 600
"""


class Copies:
    """The copies of one job's script: their process groups, as they recorded them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def groups(self) -> list[int]:
        pids = self.folder / "pids"
        return [int(p) for p in pids.read_text().split()] if pids.exists() else []

    def started(self, count: int) -> list[int]:
        """The groups once ``count`` copies have started."""
        groups: list[int] = until(
            lambda: (lambda found: found if len(found) >= count else None)(self.groups()), 90
        )
        return groups

    def beside(self) -> str:
        path = self.folder / "beside"
        return path.read_text() if path.exists() else ""

    def kill_all(self) -> None:
        """What a failing test leaves running goes: no orphan outlives the test."""
        for pgid in self.groups():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def copies(tmp_path: Path) -> Iterator[Copies]:
    made = Copies(tmp_path / "copies")
    yield made
    made.kill_all()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop(signal.SIGINT)


def create_job(api: httpx.Client, content: str) -> dict[str, Any]:
    """A shell job with one retry, due at once after a failed attempt."""
    job: dict[str, Any] = api.post(
        "/api/v1/jobs",
        json={
            "name": "copies",
            "job_type": "shell",
            "content": content,
            "time_type": "api",
            "max_attempt": 1,
            "attempt_interval": 0,
        },
    ).json()
    return job


def test_a_sigkilled_server_takes_its_runs_along_and_the_retry_runs_alone(
    tmp_path: Path, servers: list[ServerProcess], copies: Copies
) -> None:
    home, port = tmp_path / "home", free_port()
    env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
    server = ServerProcess(home, port, env)
    servers.append(server)
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as api:
        job = create_job(api, copy_script(copies.folder))
        api.post(f"/api/v1/jobs/{job['id']}/run").raise_for_status()
        (first,) = copies.started(1)
        until(lambda: len(group_members(first)) == 2)  # the shell and its sleep

        server.stop(signal.SIGKILL)
        until(lambda: group_members(first) == [], GONE_WITHIN_S)  # the sleep too

        servers.append(ServerProcess(home, port, env))
        _, second = copies.started(2)  # the retry (attempt 1) of the lost attempt
        until(lambda: len(group_members(second)) == 2)
        assert copies.beside() == ""


def test_a_sigkilled_agent_takes_its_runs_along_and_the_retry_runs_alone(
    tmp_path: Path, servers: list[ServerProcess], copies: Copies
) -> None:
    env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
    server = ServerProcess(tmp_path / "home", free_port(), env)
    servers.append(server)
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as api:
        app_key = api.get("/api/v1/namespaces/default/groups/default").json()["app_key"]
        log = tmp_path / "agent.log"
        with log.open("wb") as sink:
            agent = subprocess.Popen(
                [TICKWORK, "worker", "--server", server.url, "--address", "agent-o:1"],
                env=base_env(TICKWORK_APP_KEY=app_key),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            until(lambda: "connected" in log.read_text(errors="replace"))
            job = create_job(api, copy_script(copies.folder))
            run = api.post(f"/api/v1/jobs/{job['id']}/run").json()
            (first,) = copies.started(1)
            assert api.get(f"/api/v1/instances/{run['id']}").json()["worker"] == "agent-o:1"
            until(lambda: len(group_members(first)) == 2)
        finally:
            agent.kill()
            agent.wait()
        until(lambda: group_members(first) == [], GONE_WITHIN_S)

        # lost with its agent, the run is retried on another worker (the server's own)
        _, second = copies.started(2)
        until(lambda: len(group_members(second)) == 2)
        assert copies.beside() == ""
