"""What a run's log keeps, through a real ``tickwork server`` started with the log flags (and
a cap given by environment), for a run on the server's own worker and one on a
``tickwork worker`` agent subprocess."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import TICKWORK, ServerProcess, base_env, free_port, until

KEY = ("logs-admin", "logs-admin-secret-0123456789")
SCRIPT = 'for n in $(seq 1 3000); do echo "line $n"; done'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = base_env(
        TICKWORK_ADMIN_KEY_ID=KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=KEY[1],
        TICKWORK_RUN_LOG_MAX_LINES="1000",  # the flag below wins over it
    )
    home = tmp_path_factory.mktemp("logs-home")
    running = ServerProcess(
        home, free_port(), env, "--run-log-max-lines", "50", "--run-log-max-bytes", "0"
    )
    yield running
    running.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as client:
        yield client


def run_and_read(api: httpx.Client, group: str) -> tuple[dict[str, Any], list[str]]:
    job = api.post(
        "/api/v1/jobs",
        json={"group_id": group, "name": f"printer-{group}", "job_type": "shell",
              "content": SCRIPT, "time_type": "api"},
    ).json()  # fmt: skip
    iid = api.post(f"/api/v1/jobs/{job['id']}/run").json()["id"]

    def succeeded() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/api/v1/instances/{iid}").json()
        assert body["status"] not in ("failed", "killed"), body
        return body if body["status"] == "success" else None

    instance: dict[str, Any] = until(succeeded, within=60)
    logs = api.get(f"/api/v1/instances/{iid}/logs", params={"limit": 1000}).json()
    return instance, [item["line"] for item in logs["items"]]


def expected() -> list[str]:
    dropped = sum(len(f"line {n}\n") for n in range(46, 2996))
    return [
        *(f"line {n}" for n in range(1, 46)),
        f"[tickwork] log truncated: 2,950 lines ({dropped / 1024:.1f} KiB) dropped here; each "
        "attempt keeps at most 50 lines of log, its first nine tenths and its last tenth "
        "(settings run_log_max_bytes, run_log_max_lines)",
        *(f"line {n}" for n in range(2996, 3001)),
    ]


def test_the_servers_own_worker_keeps_what_the_flags_say(api: httpx.Client) -> None:
    instance, lines = run_and_read(api, "default")
    ip, _, port = instance["worker"].rpartition(":")  # the server's own worker: ip:port
    assert ip == "127.0.0.1" and port.isdigit()
    assert (instance["result"], lines) == ("line 3000", expected())


def test_an_agent_keeps_the_same(api: httpx.Client, server: ServerProcess, tmp_path: Path) -> None:
    group = api.post("/api/v1/namespaces/default/groups", json={"group_id": "remote"}).json()
    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        agent = subprocess.Popen(
            [TICKWORK, "worker", "--server", server.url, "--group", "remote",
             "--app-key", group["app_key"], "--address", "log-agent:1"],
            env=base_env(), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        workers = "/api/v1/namespaces/default/groups/remote/workers"
        until(lambda: any(not w["in_process"] for w in api.get(workers).json()["items"]))
        instance, lines = run_and_read(api, "remote")
        assert instance["worker"] == "log-agent:1"
        assert (instance["result"], lines) == ("line 3000", expected())
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
