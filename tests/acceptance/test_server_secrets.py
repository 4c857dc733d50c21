"""What a job can learn of its server's or agent's secrets: nothing from the environment
(scripts, commands and processors alike), and the files that hold them are owner-only."""

from __future__ import annotations

import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import BACKEND, TICKWORK, ServerProcess, base_env, free_port, until

KEY = ("secrets-admin", "secrets-admin-secret-0123456789")
DATABASE_PASSWORD = "database-password-0123456789"

PROBE = '''
import os
from tickwork.processor import JobContext, Processor, ProcessResult


class EnvironmentProbe(Processor):
    """Answers the names of the TICKWORK_* variables in the worker's own environment."""

    def process(self, ctx: JobContext) -> ProcessResult:
        names = sorted(name for name in os.environ if name.startswith("TICKWORK_"))
        return ProcessResult(True, "names: " + ",".join(names))
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("secrets-home")
    probes = tmp_path_factory.mktemp("probes")
    (probes / "environment_probe.py").write_text(PROBE)
    env = base_env(
        TICKWORK_ADMIN_KEY_ID=KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=KEY[1],
        # where the tests run on PostgreSQL, the --db given to the server wins over this
        TICKWORK_DATABASE_URL=f"sqlite:///{home / 'tickwork.db'}",
        PGPASSWORD=DATABASE_PASSWORD,
        PYTHONPATH=str(probes),
    )
    running = ServerProcess(home, free_port(), env)
    yield running
    running.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as client:
        yield client


def run_to_success(api: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    created = api.post("/api/v1/jobs", json={"time_type": "api", **job}).json()
    iid = api.post(f"/api/v1/jobs/{created['id']}/run").json()["id"]

    def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/api/v1/instances/{iid}").json()
        assert body["status"] not in ("failed", "killed"), body
        return body if body["status"] == "success" else None

    done: dict[str, Any] = until(finished)
    return done


def printed_variables(api: httpx.Client, instance: dict[str, Any]) -> dict[str, str]:
    lines = api.get(f"/api/v1/instances/{instance['id']}/logs").json()["items"]
    return dict(item["line"].split("=", 1) for item in lines if "=" in item["line"])


def test_a_script_run_by_the_server_sees_none_of_its_secrets(api: httpx.Client) -> None:
    done = run_to_success(api, {"name": "env", "job_type": "shell", "content": "env"})
    variables = printed_variables(api, done)
    leaked = [name for name in variables if name.startswith("TICKWORK_ADMIN_KEY")]
    assert leaked == []
    assert "TICKWORK_DATABASE_URL" not in variables
    assert "PGPASSWORD" not in variables
    assert not any(KEY[1] in v or DATABASE_PASSWORD in v for v in variables.values())
    assert variables["TICKWORK_JOB_INSTANCE_ID"] == str(done["id"])  # its own are there


def test_a_processor_in_the_server_finds_no_secret_in_os_environ(api: httpx.Client) -> None:
    done = run_to_success(
        api,
        {
            "name": "probe",
            "job_type": "processor",
            "class_name": "environment_probe:EnvironmentProbe",
        },
    )
    assert done["result"] == "names: "  # no TICKWORK_* variable is left in the server


def test_a_script_run_by_an_agent_does_not_see_its_app_key(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    app_key = api.get("/api/v1/namespaces/default/groups/default").json()["app_key"]
    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        agent = subprocess.Popen(
            [TICKWORK, "worker", "--server", server.url, "--address", "agent-env:1"],
            env=base_env(TICKWORK_APP_KEY=app_key),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        until(lambda: "connected" in log.read_text(errors="replace"))
        done = run_to_success(api, {"name": "agent-env", "job_type": "shell", "content": "env"})
        assert done["worker"] == "agent-env:1"
        variables = printed_variables(api, done)
        assert "TICKWORK_APP_KEY" not in variables
        assert not any(app_key in value for value in variables.values())
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_start_makes_the_home_and_the_files_holding_secrets_owner_only(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home" / "fresh"  # made by the server itself
    server = ServerProcess(tmp_path / "home", free_port(), base_env(), "--home", str(home))
    try:
        credentials = home / "credentials.json"
        assert "access_key_secret" in credentials.read_text()  # the key generated at start
        files = [credentials]
        if BACKEND == "sqlite":
            files += [home / f"tickwork.db{suffix}" for suffix in ("", "-wal", "-shm")]
        assert mode_of(home) == 0o700
        assert {path.name: mode_of(path) for path in files} == {p.name: 0o600 for p in files}
    finally:
        server.stop(signal.SIGINT)
