"""Several ``tickwork server`` processes on one PostgreSQL database: the schedule is shared
without a leader, every fire happens once, and what a SIGKILLed server held is adopted."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from multi_support import (
    KEY,
    only_in_the_postgres_pass,
    rows,
    start_server,
    stop_agent,
    unfinished,
)
from pg_support import create_pg_database, drop_pg_database, pg_url
from server_support import TICKWORK, ServerProcess, base_env, until
from sx_support import sdk_client

pytestmark = [pytest.mark.postgres, only_in_the_postgres_pass]

JOBS = 20
FINAL = {"success", "failed", "killed", "rejected", "skipped", "removed", "partial_failed"}


@pytest.fixture
def database() -> Iterator[str]:
    name = create_pg_database("tickwork_multi")
    yield name
    drop_pg_database(name)


def test_two_servers_fire_every_second_once_through_a_sigkill(
    database: str, tmp_path: Path
) -> None:
    first = start_server(tmp_path / "a", database, in_process_worker=True)
    second = start_server(tmp_path / "b", database, in_process_worker=True)
    try:
        with httpx.Client(base_url=first.url, auth=KEY, timeout=30) as api:
            ids = [
                api.post(
                    "/api/v1/jobs",
                    json={
                        "name": f"tick-{n}", "job_type": "shell", "content": "true",
                        "time_type": "cron", "time_expression": "* * * * * ?",
                        "max_attempt": 1, "attempt_interval": 0,
                    },
                ).json()["id"]
                for n in range(JOBS)
            ]  # fmt: skip
        time.sleep(3)
        # kill the server that holds planned fires now (the one winning the planning rounds)
        holder = rows(
            database,
            "SELECT s.address FROM instances i JOIN servers s ON s.id = i.owner "
            "WHERE i.status = 1 ORDER BY i.schedule_time DESC LIMIT 1",
        )[0]["address"]
        victim, survivor = (first, second) if holder.endswith(f":{first.port}") else (second, first)
        assert holder.endswith(f":{victim.port}")
        victim.stop(signal.SIGKILL)  # mid-schedule: its planned fires and runs are orphaned
        killed_at = time.time()
        time.sleep(8)
        with httpx.Client(base_url=survivor.url, auth=KEY, timeout=30) as api:
            for job_id in ids:
                api.post(f"/api/v1/jobs/{job_id}/disable").raise_for_status()
        until(
            lambda: (
                not rows(
                    database,
                    "SELECT id FROM instances WHERE status NOT IN (4, 5, 6, 9, 11, 12, 99)",
                )
            ),
            30,
        )
    finally:
        first.stop()
        second.stop()
    log = survivor.output.read_text()
    assert "expired; adopting what they held" in log and "adopted" in log

    found = rows(
        database,
        "SELECT job_id, schedule_time, status, owner FROM instances WHERE trigger_type = 1",
    )
    per_fire = Counter((r["job_id"], r["schedule_time"]) for r in found)
    assert max(per_fire.values()) == 1  # never twice
    for job_id in ids:
        seconds = sorted(t for j, t in per_fire if j == job_id)
        # every second from the job's first fire to its last has its instance: no gap
        assert seconds == list(range(seconds[0], seconds[-1] + 1000, 1000)), job_id
        assert seconds[-1] / 1000 > killed_at + 5  # it kept firing after the kill
    statuses = Counter(r["status"] for r in found)
    assert set(statuses) <= {4, 12}, statuses  # success, or skipped by the misfire policy
    assert statuses[4] >= JOBS * 8
    print(f"fires: {len(found)}, by status: {dict(statuses)}")


def test_runs_go_to_the_server_that_has_the_groups_agent(database: str, tmp_path: Path) -> None:
    """Two servers without workers of their own; one agent, connected to the second. Runs
    triggered on the first, and fires it plans, are handed to the second and run on the
    agent."""
    first = start_server(tmp_path / "a", database)
    second = start_server(tmp_path / "b", database)
    agent: subprocess.Popen[bytes] | None = None
    try:
        with (
            httpx.Client(base_url=first.url, auth=KEY, timeout=30) as api,
            httpx.Client(base_url=second.url, auth=KEY, timeout=30) as other,
        ):
            key = api.get("/api/v1/namespaces/default/groups/default").json()["app_key"]
            with (tmp_path / "agent.log").open("wb") as sink:
                agent = subprocess.Popen(
                    [TICKWORK, "worker", "--server", second.url, "--app-key", key,
                     "--address", "only-agent:1"],
                    env=base_env(), stdout=sink, stderr=subprocess.STDOUT,
                )  # fmt: skip
            workers = "/api/v1/namespaces/default/groups/default/workers"
            until(lambda: other.get(workers).json()["items"])
            # the first server learns of it from the second's lease row
            until(lambda: rows(database, "SELECT 1 FROM servers WHERE groups LIKE '%default%'"))
            time.sleep(1)

            job = api.post(
                "/api/v1/jobs",
                json={"name": "api", "job_type": "shell", "content": "echo handed",
                      "time_type": "api"},
            ).json()  # fmt: skip
            triggered = [api.post(f"/api/v1/jobs/{job['id']}/run").json()["id"] for _ in range(5)]
            for iid in triggered:
                done = until(
                    lambda iid=iid: (lambda i: i if i["status"] in FINAL else None)(
                        api.get(f"/api/v1/instances/{iid}").json()
                    )
                )
                assert (done["status"], done["result"], done["worker"]) == (
                    "success",
                    "handed",
                    "only-agent:1",
                )
            # accepted by the first server, started on the second's agent: how long it took
            handed = rows(
                database,
                "SELECT start_time - created_at AS ms FROM instances "
                f"WHERE id IN ({', '.join(str(i) for i in triggered)})",
            )
            print(f"\ntrigger to start through a hand-off: {sorted(r['ms'] for r in handed)} ms")

            # a stop sent to the first server reaches the run on the second's agent
            slow = api.post(
                "/api/v1/jobs",
                json={"name": "slow", "job_type": "shell", "content": "echo up; sleep 60",
                      "time_type": "api"},
            ).json()  # fmt: skip
            iid = api.post(f"/api/v1/jobs/{slow['id']}/run").json()["id"]
            until(lambda: api.get(f"/api/v1/instances/{iid}").json()["worker"] == "only-agent:1")
            stopped = api.post(f"/api/v1/instances/{iid}/stop").json()
            assert stopped["status"] == "killed", stopped
            assert stopped["result"].startswith("stopped by ")

            cron = api.post(
                "/api/v1/jobs",
                json={"name": "cron", "job_type": "shell", "content": "echo fired",
                      "time_type": "cron", "time_expression": "* * * * * ?"},
            ).json()  # fmt: skip
            time.sleep(6)
            api.post(f"/api/v1/jobs/{cron['id']}/disable").raise_for_status()
            time.sleep(2)
            fired = rows(
                database,
                f"SELECT status, worker FROM instances WHERE job_id = {cron['id']} "
                "AND status NOT IN (1, 99)",
            )
            assert len(fired) >= 4
            assert {(r["status"], r["worker"]) for r in fired} == {(4, "only-agent:1")}
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(30)
        first.stop()
        second.stop()


def test_every_server_lists_every_agent_and_designated_runs_reach_theirs(
    database: str, tmp_path: Path
) -> None:
    """An agent on each of two servers: both servers list both agents (GetWorkerList and the
    native API), and a run designated (ExecuteJob DesignateType 1 or 2) to the other
    server's agent is handed to that server and runs there."""
    first = start_server(tmp_path / "a", database)
    second = start_server(tmp_path / "b", database)
    agents: list[subprocess.Popen[bytes]] = []
    try:
        with httpx.Client(base_url=first.url, auth=KEY, timeout=30) as api:
            key = api.get("/api/v1/namespaces/default/groups/default").json()["app_key"]
            for server, address, label in ((first, "red:1", "red"), (second, "blue:1", "blue")):
                with (tmp_path / f"{label}.log").open("wb") as sink:
                    agents.append(
                        subprocess.Popen(
                            [
                                TICKWORK,
                                "worker",
                                "--server",
                                server.url,
                                "--app-key",
                                key,
                                "--address",
                                address,
                                "--label",
                                label,
                            ],
                            env=base_env(),
                            stdout=sink,
                            stderr=subprocess.STDOUT,
                        )  # fmt: skip
                    )
            workers = "/api/v1/namespaces/default/groups/default/workers"

            def listed(server: ServerProcess) -> dict[str, str | None]:
                items = httpx.get(server.url + workers, auth=KEY, timeout=30).json()["items"]
                return {w["address"]: w["server"] for w in items}

            until(lambda: len(listed(first)) == 2 and len(listed(second)) == 2)
            assert listed(first) == {"red:1": None, "blue:1": f"127.0.0.1:{second.port}"}
            assert listed(second) == {"red:1": f"127.0.0.1:{first.port}", "blue:1": None}
            sx_first, sx_second = sdk_client(first, KEY), sdk_client(second, KEY)
            sx_listed = sx_first.get_worker_list(
                m.GetWorkerListRequest(
                    namespace="default", group_id="default", region_id="cn-hangzhou"
                )
            ).body.data.worker_infos
            # WorkerAddress is ${worker_id}@${address}; ExecuteJob takes either form
            shown = {w.worker_address.split("@", 1)[1]: w.worker_address for w in sx_listed}
            assert sorted(shown) == ["blue:1", "red:1"]

            job = api.post(
                "/api/v1/jobs",
                json={"name": "where", "job_type": "shell", "content": "echo ran",
                      "time_type": "api", "max_concurrency": 10},
            ).json()  # fmt: skip

            def execute(sx: SchedulerxClient, **designation: Any) -> int:
                request = m.ExecuteJobRequest(
                    namespace="default", group_id="default", region_id="cn-hangzhou",
                    job_id=job["id"], **designation,
                )  # fmt: skip
                return int(sx.execute_job(request).body.data.job_instance_id)

            runs = {
                execute(sx_first, designate_type=1, worker=shown["blue:1"]): "blue:1",
                execute(sx_first, designate_type=2, label="blue"): "blue:1",
                execute(sx_second, designate_type=1, worker="red:1"): "red:1",
                execute(sx_second, designate_type=2, label="red"): "red:1",
            }
            for iid, expected in runs.items():
                done = until(
                    lambda iid=iid: (lambda i: i if i["status"] in FINAL else None)(
                        api.get(f"/api/v1/instances/{iid}").json()
                    )
                )
                assert (done["status"], done["worker"]) == ("success", expected), done
    finally:
        for agent in agents:
            stop_agent(agent)
        first.stop()
        second.stop()


def test_a_job_changed_on_one_server_changes_on_all(database: str, tmp_path: Path) -> None:
    """Fires another server planned ahead from the old version of a job are withdrawn when
    the job is disabled (or deleted) elsewhere: none of them runs."""
    first = start_server(tmp_path / "a", database, in_process_worker=True)
    second = start_server(tmp_path / "b", database, in_process_worker=True)
    try:
        with (
            httpx.Client(base_url=first.url, auth=KEY, timeout=30) as api,
            httpx.Client(base_url=second.url, auth=KEY, timeout=30) as other,
        ):
            made = [
                api.post(
                    "/api/v1/jobs",
                    json={"name": f"tick-{n}", "job_type": "shell", "content": "true",
                          "time_type": "cron", "time_expression": "* * * * * ?"},
                ).json()["id"]
                for n in range(10)
            ]  # fmt: skip
            # change the jobs through the server that does not hold their planned fires
            holder = until(
                lambda: rows(
                    database,
                    "SELECT s.address, count(*) AS n FROM instances i "
                    "JOIN servers s ON s.id = i.owner WHERE i.status = 1 "
                    "GROUP BY s.address ORDER BY n DESC LIMIT 1",
                ),
                20,
            )[0]["address"]
            if holder.endswith(f":{second.port}"):
                api, other = other, api
            for job_id in made[:5]:
                other.post(f"/api/v1/jobs/{job_id}/disable").raise_for_status()
            for job_id in made[5:]:
                other.delete(f"/api/v1/jobs/{job_id}").raise_for_status()
            changed_at = int(time.time() * 1000)
            time.sleep(5)  # past the lookahead: every fire planned before the change is due
            ran_after = rows(
                database,
                "SELECT job_id, schedule_time, status FROM instances "
                f"WHERE schedule_time > {changed_at + 200} AND status NOT IN (1, 99)",
            )
            assert ran_after == [], ran_after
            assert rows(database, f"SELECT id FROM jobs WHERE id IN ({made[5]}, {made[9]})") == []
            assert unfinished(database) == 0
    finally:
        first.stop()
        second.stop()


def test_servers_started_at_once_on_a_new_database_migrate_it_once(
    database: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        started = list(pool.map(lambda n: start_server(tmp_path / f"s{n}", database), range(3)))
    try:
        for server in started:
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        current = subprocess.run(
            [TICKWORK, "db", "current", "--db", pg_url(database)],
            env=base_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        version, knows = current.stdout.split(";")
        assert version.split(": ")[1] == knows.strip().rsplit(" ", 1)[1]  # at the newest
        assert len(rows(database, "SELECT id FROM servers")) == 3
    finally:
        for server in started:
            server.stop()
