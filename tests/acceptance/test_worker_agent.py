"""``tickwork worker`` agents as subprocesses against a ``tickwork server`` subprocess."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from server_support import TICKWORK, ServerProcess, base_env, free_port, until
from sx_support import refused, sdk_client

KEY = ("agent-admin", "agent-admin-secret-0123456789")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
    running = ServerProcess(tmp_path_factory.mktemp("agent-home"), free_port(), env)
    yield running
    running.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as client:
        yield client


class Agent:
    def __init__(
        self,
        server: ServerProcess,
        app_key: str,
        address: str,
        log: Path,
        labels: list[str] | None = None,
    ) -> None:
        self.address = address
        self.log = log
        label_args = [arg for label in labels or [] for arg in ("--label", label)]
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [TICKWORK, "worker", "--server", server.url, "--app-key", app_key,
                 "--address", address, "--concurrency", "8", *label_args],
                env=base_env(), stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGKILL) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def processes_running(command_line: str) -> list[int]:
    """Pids of this machine's processes whose command line is ``command_line``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            if text == command_line:
                found.append(int(entry.name))
    return found


def app_key(api: httpx.Client) -> str:
    return str(api.get("/api/v1/namespaces/default/groups/default").json()["app_key"])


def remote_workers(api: httpx.Client) -> list[str]:
    items = api.get("/api/v1/namespaces/default/groups/default/workers").json()["items"]
    return [w["address"] for w in items if not w["in_process"]]


def run(api: httpx.Client, content: str) -> int:
    job = api.post(
        "/api/v1/jobs",
        json={"name": "on-agent", "job_type": "shell", "content": content, "time_type": "api"},
    ).json()
    return int(api.post(f"/api/v1/jobs/{job['id']}/run").json()["id"])


def instance(api: httpx.Client, instance_id: int) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/api/v1/instances/{instance_id}").json()
    return body


def succeeded(api: httpx.Client, instance_id: int) -> dict[str, Any]:
    """The instance once it succeeded (fails the test if it does not)."""

    def probe() -> dict[str, Any] | None:
        body = instance(api, instance_id)
        assert body["status"] not in ("failed", "killed", "rejected"), body
        return body if body["status"] == "success" else None

    result: dict[str, Any] = until(probe)
    return result


def test_an_agent_runs_its_groups_jobs(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    agent = Agent(server, app_key(api), "agent-a:9101", tmp_path / "agent.log")
    try:
        until(lambda: "agent-a:9101" in remote_workers(api))
        iid = run(api, "echo from-the-agent")
        done = until(
            lambda: (lambda i: i if i["status"] == "success" else None)(instance(api, iid))
        )
        assert (done["worker"], done["result"]) == ("agent-a:9101", "from-the-agent")
        logs = api.get(f"/api/v1/instances/{iid}/logs").json()["items"]
        assert [line["line"] for line in logs] == ["from-the-agent"]
        assert "connected" in agent.output()
    finally:
        agent.stop()


def test_a_wrong_app_key_is_refused(server: ServerProcess, tmp_path: Path) -> None:
    agent = Agent(server, "not-the-key", "agent-bad:1", tmp_path / "bad.log")
    assert agent.process.wait(timeout=60) == 1
    assert "wrong AppKey" in agent.output()


def test_a_killed_agent_fails_its_runs_and_sigterm_drains(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    doomed = Agent(server, app_key(api), "agent-k:9102", tmp_path / "k.log")
    until(lambda: "agent-k:9102" in remote_workers(api))
    iid = run(api, "echo started; sleep 30")
    until(lambda: instance(api, iid)["worker"] == "agent-k:9102")
    killed_at = time.monotonic()
    doomed.stop(signal.SIGKILL)
    lost = until(lambda: (lambda i: i if i["status"] == "failed" else None)(instance(api, iid)))
    assert "agent-k:9102 was lost" in lost["result"]
    assert time.monotonic() - killed_at < 15
    until(lambda: "agent-k:9102" not in remote_workers(api))

    draining = Agent(server, app_key(api), "agent-d:9103", tmp_path / "d.log")
    until(lambda: "agent-d:9103" in remote_workers(api))
    iid = run(api, "sleep 2; echo finished")
    until(lambda: instance(api, iid)["worker"] == "agent-d:9103")
    draining.process.send_signal(signal.SIGTERM)
    # it says it drains: the group's runs go elsewhere (the server's own worker here)
    until(lambda: "agent-d:9103" not in remote_workers(api))
    elsewhere = run(api, "echo elsewhere")
    # the server's own worker, named ip:port like any worker
    assert succeeded(api, elsewhere)["worker"] == f"127.0.0.1:{server.port}"
    assert draining.process.wait(timeout=60) == 0  # running work finished, then it exited
    done = succeeded(api, iid)
    assert (done["worker"], done["result"]) == ("agent-d:9103", "finished")


def test_stop_kills_a_run_on_an_agent(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    agent = Agent(server, app_key(api), "agent-s:9104", tmp_path / "s.log")
    try:
        until(lambda: "agent-s:9104" in remote_workers(api))
        # a tree: a background grandchild and a child, both marked by a unique duration
        iid = run(api, "(sleep 31.731 &); echo started; sleep 31.731")
        until(lambda: instance(api, iid)["worker"] == "agent-s:9104")
        until(lambda: len(processes_running("sleep 31.731")) == 2)
        stopped = api.post(f"/api/v1/instances/{iid}/stop").json()
        assert stopped["status"] == "killed" and "stopped by" in stopped["result"]
        until(lambda: not processes_running("sleep 31.731"))  # none of the tree is left
        assert agent.process.poll() is None  # the agent lives on
        again = run(api, "echo still-here")
        assert succeeded(api, again)["worker"] == "agent-s:9104"
    finally:
        agent.stop()


def test_designated_runs_go_to_the_designated_agent(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    key = app_key(api)
    plain = Agent(server, key, "agent-p:9201", tmp_path / "p.log")
    gpu = Agent(server, key, "agent-g:9202", tmp_path / "g.log", labels=["gpu"])
    sx = sdk_client(server, KEY)
    try:
        until(lambda: {"agent-p:9201", "agent-g:9202"} <= set(remote_workers(api)))
        job = api.post(
            "/api/v1/jobs",
            json={"name": "held", "job_type": "shell", "content": "echo ok", "time_type": "api"},
        ).json()
        # a run designated by ExecuteJob goes to that worker, every time
        for _ in range(3):
            executed = sx.execute_job(
                m.ExecuteJobRequest(
                    namespace="default",
                    group_id="default",
                    job_id=job["id"],
                    designate_type=1,
                    worker="agent-p:9201",
                    region_id="cn-hangzhou",
                )
            ).body.data.job_instance_id
            assert succeeded(api, executed)["worker"] == "agent-p:9201"
        # the job held to the label: its runs go to the agent carrying it
        sx.designate_workers(
            m.DesignateWorkersRequest(
                namespace="default",
                group_id="default",
                job_id=job["id"],
                designate_type=2,
                labels='["gpu"]',
                transferable=False,
                region_id="cn-hangzhou",
            )
        )
        for _ in range(3):
            iid = int(api.post(f"/api/v1/jobs/{job['id']}/run").json()["id"])
            assert succeeded(api, iid)["worker"] == "agent-g:9202"
        # a worker nobody runs as is refused at once, naming the live ones
        refusal = refused(
            lambda: sx.execute_job(
                m.ExecuteJobRequest(
                    namespace="default",
                    group_id="default",
                    job_id=job["id"],
                    designate_type=1,
                    worker="nowhere:1",
                    region_id="cn-hangzhou",
                )
            )
        )
        assert refusal.code == 400 and "agent-p:9201" in refusal.message
    finally:
        plain.stop()
        gpu.stop()


def test_a_route_strategy_sends_runs_to_the_labels_share(
    server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    key = app_key(api)
    blue = Agent(server, key, "agent-blue:9301", tmp_path / "blue.log", labels=["blue"])
    green = Agent(server, key, "agent-green:9302", tmp_path / "green.log", labels=["green"])
    try:
        until(lambda: {"agent-blue:9301", "agent-green:9302"} <= set(remote_workers(api)))
        job = api.post(
            "/api/v1/jobs",
            json={"name": "split", "job_type": "shell", "content": "echo ok", "time_type": "api"},
        ).json()
        path = f"/api/v1/namespaces/default/groups/default/jobs/{job['id']}/route-strategy"
        for share, expected in (((0, 100), "agent-green:9302"), ((100, 0), "agent-blue:9301")):
            api.put(
                path,
                json={
                    "name": "canary",
                    "entries": [
                        {"percentage": share[0], "target": ["blue"]},
                        {"percentage": share[1], "target": ["green"]},
                    ],
                },
            ).raise_for_status()
            for _ in range(4):
                iid = int(api.post(f"/api/v1/jobs/{job['id']}/run").json()["id"])
                assert succeeded(api, iid)["worker"] == expected
    finally:
        blue.stop()
        green.stop()
