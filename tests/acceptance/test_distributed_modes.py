"""Map-reduce, broadcast and sharding across three ``tickwork worker`` subprocesses, and a
worker killed with SIGKILL in the middle of a map-reduce run.

The processors are the documented examples in ``examples/processors`` (so they are proven to
run); the workers get that directory on their PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import TICKWORK, ServerProcess, base_env, free_port, until

KEY = ("modes-admin", "modes-admin-secret-0123456789")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "processors"
SUBTASKS = 10_000
FINAL = ("success", "failed", "killed", "rejected", "partial_failed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = base_env(TICKWORK_ADMIN_KEY_ID=KEY[0], TICKWORK_ADMIN_KEY_SECRET=KEY[1])
    # no worker of its own: every run must go to the agents
    running = ServerProcess(tmp_path_factory.mktemp("modes-home"), free_port(), env, "--no-worker")
    yield running
    running.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=KEY, timeout=30) as client:
        yield client


class Worker:
    def __init__(self, server: ServerProcess, app_key: str, address: str, log: Path) -> None:
        self.address = address
        self.log = log
        env = base_env(
            PYTHONPATH=os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")])
        )
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [TICKWORK, "worker", "--server", server.url, "--app-key", app_key,
                 "--address", address, "--concurrency", "8"],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def workers(
    server: ServerProcess, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Worker]]:
    key = str(api.get("/api/v1/namespaces/default/groups/default").json()["app_key"])
    logs = tmp_path_factory.mktemp("modes-workers")
    started = [Worker(server, key, f"w{n}:91{n}0", logs / f"w{n}.log") for n in (1, 2, 3)]
    until(lambda: len(live_workers(api)) == 3, within=60)
    yield started
    for worker in started:
        worker.stop(signal.SIGTERM)


def live_workers(api: httpx.Client) -> list[str]:
    items = api.get("/api/v1/namespaces/default/groups/default/workers").json()["items"]
    return sorted(w["address"] for w in items if not w["in_process"])


def create(api: httpx.Client, **fields: Any) -> int:
    body = {"time_type": "api", "job_type": "processor", **fields}
    response = api.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def trigger(api: httpx.Client, job_id: int, params: str = "") -> int:
    response = api.post(f"/api/v1/jobs/{job_id}/run", json={"instance_parameters": params})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def instance(api: httpx.Client, instance_id: int) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/api/v1/instances/{instance_id}").json()
    return body


def finished(api: httpx.Client, instance_id: int, within: float = 120) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body = instance(api, instance_id)
        return body if body["status"] in FINAL else None

    result: dict[str, Any] = until(probe, within=within)
    return result


def logs(api: httpx.Client, instance_id: int) -> list[str]:
    body = api.get(f"/api/v1/instances/{instance_id}/logs", params={"limit": 500}).json()
    return [line["line"] for line in body["items"]]


def test_map_reduce_spreads_10000_subtasks_over_three_workers(
    api: httpx.Client, workers: list[Worker]
) -> None:
    job_id = create(
        api, name="sum", class_name="sum_numbers:SumNumbers", execute_mode="grid",
        parameters=str(SUBTASKS),
    )  # fmt: skip
    done = finished(api, trigger(api, job_id))
    assert done["status"] == "success", done
    assert json.loads(done["result"]) == {
        "sum": SUBTASKS * (SUBTASKS - 1) // 2,
        "count": SUBTASKS,
        "workers": 3,
    }
    progress = json.loads(done["progress"])
    assert (progress["total"], progress["succeeded"], progress["failed"]) == (SUBTASKS, SUBTASKS, 0)
    per_worker = progress["workers"]
    assert sorted(per_worker) == [w.address for w in workers]
    assert all(counts["succeeded"] > 0 for counts in per_worker.values())
    assert sum(counts["succeeded"] for counts in per_worker.values()) == SUBTASKS


def test_broadcast_runs_once_on_each_worker(api: httpx.Client, workers: list[Worker]) -> None:
    job_id = create(
        api, name="hello-all", class_name="broadcast_hello:HelloEveryone",
        execute_mode="broadcast",
    )  # fmt: skip
    iid = trigger(api, job_id)
    done = finished(api, iid)
    assert done["status"] == "success", done
    assert done["result"].startswith("3 workers answered: hello from ")
    lines = logs(api, iid)
    for worker in workers:  # each worker's own result is in the log, once
        assert sum(line.startswith(f"[tickwork] worker {worker.address}: success: hello from")
                   for line in lines) == 1  # fmt: skip
    assert sum("about to greet every worker" in line for line in lines) == 1
    pids = {part.rsplit(":", 1)[1] for part in done["result"].split(": ", 1)[1].split("; ")}
    assert len(pids) == 3


def test_sharding_runs_each_of_six_shards_once(api: httpx.Client, workers: list[Worker]) -> None:
    shards = "0=Beijing,1=Shanghai,2=Hangzhou,3=Shenzhen,4=Chengdu,5=Wuhan"
    job_id = create(
        api, name="cities", class_name="shard_cities:PerCity", execute_mode="sharding",
        parameters=shards, consumer_size=1,
    )  # fmt: skip
    iid = trigger(api, job_id)
    done = finished(api, iid)
    assert done["status"] == "success", done
    assert done["result"] == "6 of 6 shards succeeded"
    lines = logs(api, iid)
    for shard in shards.split(","):
        shard_id, city = shard.split("=")
        assert lines.count(f"[shard {shard_id}] INFO shard {shard_id} of 6: {city}") == 1
    progress = json.loads(done["progress"])
    assert progress["succeeded"] == 6
    assert len(progress["workers"]) >= 2  # spread, not all on one worker


def test_a_worker_killed_mid_map_reduce_still_gives_the_right_sum(
    api: httpx.Client, workers: list[Worker]
) -> None:
    job_id = create(
        api, name="sum-under-fire", class_name="sum_numbers:SumNumbers", execute_mode="grid",
        parameters=str(SUBTASKS), consumer_size=5, page_size=50,
    )  # fmt: skip
    iid = trigger(api, job_id, params="0.01")  # each subtask sleeps 10 ms

    def under_way() -> bool:
        text = instance(api, iid)["progress"]
        if not text.startswith("{"):
            return False
        progress = json.loads(text)
        return progress["total"] == SUBTASKS and progress["done"] >= SUBTASKS // 5

    until(under_way, within=120)
    standalone = create(
        api, name="standalone", job_type="shell", content="sleep 15; echo survived",
        max_attempt=1,
    )  # fmt: skip
    standalone_iid = trigger(api, standalone)
    # the worker that runs the standalone run is the one to die (it runs subtasks too)
    address = until(lambda: instance(api, standalone_iid)["worker"] or None)
    victim = next(w for w in workers if w.address == address)
    assert json.loads(instance(api, iid)["progress"])["done"] < SUBTASKS, "killed too late"
    victim.stop(signal.SIGKILL)

    done = finished(api, iid, within=180)
    assert done["status"] == "success", done
    assert json.loads(done["result"])["sum"] == SUBTASKS * (SUBTASKS - 1) // 2
    progress = json.loads(done["progress"])
    assert (progress["total"], progress["succeeded"]) == (SUBTASKS, SUBTASKS)
    assert any(f"{victim.address} was lost" in line for line in logs(api, iid))

    retried = finished(api, standalone_iid, within=120)
    assert retried["status"] == "success", retried
    assert retried["result"] == "survived"
    assert retried["trigger_type"] == "system_retry"
    assert retried["worker"] != victim.address
