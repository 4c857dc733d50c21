"""The ``tickwork`` CLI against a real ``tickwork server``, both as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from server_support import database_args

TICKWORK = str(Path(sys.executable).with_name("tickwork"))
KEY_ID = "acceptance-admin"
SECRET = "acceptance-secret-0123456789"
START_TIMEOUT_S = 30.0
WAIT_TIMEOUT_S = 30.0

T = TypeVar("T")


@dataclass
class Server:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of a CLI call: this server and its admin key, nothing inherited."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWORK_")}
        env.update(
            TICKWORK_URL=self.url,
            TICKWORK_ACCESS_KEY_ID=KEY_ID,
            TICKWORK_ACCESS_KEY_SECRET=SECRET,
            TICKWORK_HOME=str(self.home),
        )
        env.update(overrides)
        return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    log = home / "server.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWORK_")}
    env.update(TICKWORK_ADMIN_KEY_ID=KEY_ID, TICKWORK_ADMIN_KEY_SECRET=SECRET)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [TICKWORK, "server", "--port", str(port), "--home", str(home), *database_args(home)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Server(f"http://127.0.0.1:{port}", home, log, process)
    try:
        wait_healthy(running)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"tickwork server exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"tickwork server not healthy in {START_TIMEOUT_S}s:\n{server.log.read_text()}")


def cli(server: Server, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``tickwork ARGS`` and check its exit code."""
    done = subprocess.run(
        [TICKWORK, *args],
        env=server.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, (
        f"tickwork {' '.join(args)} exited {done.returncode}, expected {code}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}"
    )
    assert "Traceback" not in done.stderr
    return done


def cli_json(server: Server, *args: str) -> Any:
    return json.loads(cli(server, *args, "--json").stdout)


def create_job(server: Server, name: str, content: str, *time_options: str) -> int:
    done = cli(
        server,
        "job", "create", "--name", name, "--type", "shell", "--content", content, *time_options,
    )  # fmt: skip
    return int(done.stdout.strip())


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT_TIMEOUT_S) -> T:
    """Poll ``probe`` until it returns something; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def parse_instant(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def scheduled(server: Server, job_id: int, *extra: str) -> list[dict[str, Any]]:
    page = cli_json(
        server, "instance", "list", "--job", str(job_id), "--trigger-type", "scheduled", *extra
    )
    items: list[dict[str, Any]] = page["items"]
    return items


def final(server: Server, instance_id: int) -> dict[str, Any] | None:
    instance: dict[str, Any] = cli_json(server, "instance", "get", str(instance_id))
    finals = {"success", "failed", "killed", "rejected", "partial_failed", "skipped", "removed"}
    return instance if instance["status"] in finals else None


def test_cron_job_fires_on_even_seconds_and_records_its_output(server: Server) -> None:
    job_id = create_job(server, "hello", "echo hello", "--cron", "*/2 * * * * ?")
    job = cli_json(server, "job", "get", str(job_id))
    assert (job["time_type"], job["time_expression"], job["status"]) == (
        "cron",
        "*/2 * * * * ?",
        "enabled",
    )

    def two_succeeded() -> list[dict[str, Any]] | None:
        done = [i for i in scheduled(server, job_id) if i["status"] == "success"]
        return done if len(done) >= 2 else None

    instances = wait_for("two scheduled runs of */2", two_succeeded)
    for instance in instances:
        moment = parse_instant(instance["schedule_time"])
        assert moment.second % 2 == 0 and moment.microsecond == 0, instance["schedule_time"]
        assert instance["trigger_type"] == "scheduled"
        assert instance["result"] == "hello"
    first = instances[0]["id"]
    assert "hello" in cli(server, "instance", "logs", str(first)).stdout.splitlines()
    followed = cli(server, "instance", "logs", str(first), "--follow")
    assert "hello" in followed.stdout.splitlines()
    assert "finished: success" in followed.stderr
    table = cli(server, "instance", "list", "--job", str(job_id)).stdout
    assert "success" in table and "scheduled" in table
    assert cli(server, "job", "delete", str(job_id), "--yes").stdout == f"job {job_id} deleted\n"
    cli(server, "job", "get", str(job_id), code=1)


def test_job_run_passes_instance_parameters(server: Server) -> None:
    job_id = create_job(server, "params", "echo got #{schedulerx.instanceParameters}", "--api")
    run = cli(server, "job", "run", str(job_id), "--params", "day=1")
    instance_id = int(run.stdout.strip())
    cli(server, "instance", "logs", str(instance_id), "--follow")
    instance = cli_json(server, "instance", "get", str(instance_id))
    assert instance["trigger_type"] == "api"
    assert instance["instance_parameters"] == "day=1"
    assert (instance["status"], instance["result"]) == ("success", "got day=1")
    rerun = int(cli(server, "instance", "rerun", str(instance_id)).stdout.strip())
    again = wait_for("the rerun to finish", lambda: final(server, rerun))
    assert (again["status"], again["trigger_type"]) == ("success", "manual_rerun")


def test_disabled_job_does_not_fire_until_enabled(server: Server) -> None:
    job_id = create_job(server, "every-second", "echo tick", "--cron", "* * * * * ?")
    wait_for("a first scheduled run", lambda: scheduled(server, job_id) or None)
    assert cli(server, "job", "disable", str(job_id)).stdout == f"job {job_id} disabled\n"
    disabled_at = datetime.now(UTC)
    assert cli_json(server, "job", "get", str(job_id))["status"] == "disabled"
    # Fires claimed ahead (the look-ahead window, 3 s by default) may still happen; none later.
    quiet_from = disabled_at + timedelta(seconds=5)
    time.sleep(max(0.0, (quiet_from + timedelta(seconds=3) - datetime.now(UTC)).total_seconds()))
    assert scheduled(server, job_id, "--from", iso(quiet_from)) == []

    assert cli(server, "job", "enable", str(job_id)).stdout == f"job {job_id} enabled\n"
    enabled_at = datetime.now(UTC)
    fired = wait_for(
        "a scheduled run after enable",
        lambda: scheduled(server, job_id, "--from", iso(enabled_at)) or None,
    )
    assert all(parse_instant(i["schedule_time"]) >= enabled_at for i in fired)
    cli(server, "job", "delete", str(job_id), "--yes")


def test_stop_kills_a_running_instance(server: Server) -> None:
    job_id = create_job(server, "sleeper", "sleep 30", "--api")
    instance_id = int(cli(server, "job", "run", str(job_id)).stdout.strip())

    def running() -> dict[str, Any] | None:
        instance: dict[str, Any] = cli_json(server, "instance", "get", str(instance_id))
        return instance if instance["status"] == "running" else None

    wait_for("the sleep to run", running)
    assert cli(server, "instance", "stop", str(instance_id)).returncode == 0
    stopped = wait_for("the stopped run to end", lambda: final(server, instance_id))
    assert stopped["status"] == "killed"
    followed = cli(server, "instance", "logs", str(instance_id), "--follow", code=1)
    assert "finished: killed" in followed.stderr
    marked = cli(server, "instance", "set-success", str(instance_id))
    assert marked.stdout == f"instance {instance_id}: success\n"


def test_bad_cron_is_refused_naming_time_expression(server: Server) -> None:
    done = cli(
        server,
        "job", "create", "--name", "bad", "--type", "shell", "--content", "true",
        "--cron", "0 0 25 * * ?",  # hour 25 (minute 99 would be Quartz's "*")
        code=1,
    )  # fmt: skip
    assert done.stdout == ""
    assert done.stderr.startswith("error: ")
    assert "time_expression" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_two_time_options_are_a_usage_error(server: Server) -> None:
    done = cli(
        server,
        "job", "create", "--name", "x", "--type", "shell", "--content", "true",
        "--cron", "* * * * * ?", "--api",
        code=2,
    )  # fmt: skip
    assert "--cron and --api" in done.stderr


def test_wrong_key_and_missing_things_are_errors(server: Server) -> None:
    denied = cli(server, "job", "list", code=1, TICKWORK_ACCESS_KEY_SECRET="wrong")
    assert denied.stderr.startswith("error: ")
    missing = cli(server, "instance", "get", "999999", code=1)
    assert missing.stderr.startswith("error: ")


def test_namespaces_and_groups(server: Server) -> None:
    namespace_id = cli(server, "namespace", "create", "tour", "--id", "tour-ns").stdout.strip()
    assert namespace_id == "tour-ns"
    listed = cli_json(server, "namespace", "list")
    assert "tour-ns" in {n["id"] for n in listed["items"]}
    group = cli_json(server, "group", "create", "payments", "--namespace", "tour-ns")
    assert group["group_id"] == "payments" and group["app_key"]
    groups = cli(server, "group", "list", "--namespace", "tour-ns").stdout
    assert "payments" in groups
    job_id = create_job(
        server, "in-group", "true", "--api", "--namespace", "tour-ns", "--group", "payments"
    )
    page = cli_json(server, "job", "list", "--namespace", "tour-ns", "--group", "payments")
    assert [j["id"] for j in page["items"]] == [job_id]


def test_access_keys_and_rights(server: Server) -> None:
    key = cli_json(server, "key", "create", "--name", "for-sdk")
    assert key["is_admin"] is False and key["secret"]
    shown = cli(server, "key", "create", "--name", "shown")
    assert "access key secret:" in shown.stdout and "not shown again" in shown.stderr
    listed = cli(server, "key", "list").stdout
    assert key["key_id"] in listed and key["secret"] not in listed
    cli(
        server, "key", "grant", key["key_id"], "--namespace", "default", "--group", "default",
        "--right", "read",
    )  # fmt: skip
    rights = cli_json(server, "key", "rights", key["key_id"])
    assert [(r["namespace"], r["group_id"], r["right"]) for r in rights["items"]] == [
        ("default", "default", "read")
    ]
    # the key reads its group through the native API, and may not do more
    as_key = {"TICKWORK_ACCESS_KEY_ID": key["key_id"], "TICKWORK_ACCESS_KEY_SECRET": key["secret"]}
    cli(server, "job", "list", **as_key)
    refused = cli(server, "key", "create", "--name", "mine", code=1, **as_key)
    assert "only an admin access key may create access keys" in refused.stderr
    cli(server, "key", "revoke", key["key_id"], "--namespace", "default", "--group", "default")
    assert cli_json(server, "key", "rights", key["key_id"])["items"] == []
    cli(server, "key", "delete", key["key_id"])
    assert key["key_id"] not in cli(server, "key", "list").stdout
