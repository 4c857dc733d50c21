"""Tenancy through the official SchedulerX client and a real worker WebSocket: a key that was
granted one app group (team-a) reaches no other group's AppKey, jobs, runs, calendars or
policies, its jobs do not run on the server's host, and a worker of its group speaks only
for the runs handed to it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from aliyunsdkschedulerx2.request.v20190430.CreateSchedulerxCalendarRequest import (
    CreateSchedulerxCalendarRequest,
)
from aliyunsdkschedulerx2.request.v20190430.ListGroupsRequest import ListGroupsRequest
from aliyunsdkschedulerx2.request.v20190430.ManageSchedulerxJobSyncRequest import (
    ManageSchedulerxJobSyncRequest,
)
from aliyunsdkschedulerx2.request.v20190430.ReadSchedulerxNotificationPolicyRequest import (
    ReadSchedulerxNotificationPolicyRequest,
)
from server_support import TICKWORK, ServerProcess, base_env, free_port, until
from sx_support import Refused, ok, refused, sdk_client, v1_client
from websockets.sync.client import connect

from tickwork.worker.protocol import APP_KEY_HEADER, CONNECT_PATH

ADMIN = ("tenancy-admin", "tenancy-admin-secret-0123456789")
NS, REGION = "default", "cn-hangzhou"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = base_env(
        TICKWORK_ADMIN_KEY_ID=ADMIN[0],
        TICKWORK_ADMIN_KEY_SECRET=ADMIN[1],
        TICKWORK_WORKER_WAIT_S="3",  # a run with no worker of its group gives up soon
    )
    running = ServerProcess(tmp_path_factory.mktemp("tenancy-home"), free_port(), env)
    yield running
    running.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Client:
    return sdk_client(server, ADMIN)


@pytest.fixture(scope="module")
def native(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def team_a_key(admin: Client, native: httpx.Client) -> tuple[str, str]:
    """A key granted app group team-a (GrantPermission), beside team-b, which it was not."""
    for group in ("team-a", "team-b"):
        admin.create_app_group(
            m.CreateAppGroupRequest(namespace=NS, group_id=group, app_name=group, region_id=REGION)
        )
    key = native.post("/api/v1/access-keys", json={"name": "team-a"}).json()
    admin.grant_permission(
        m.GrantPermissionRequest(
            namespace=NS, group_id="team-a", user_id=key["key_id"], user_name="a", region_id=REGION
        )
    )
    return key["key_id"], key["secret"]


@pytest.fixture(scope="module")
def team_a(server: ServerProcess, team_a_key: tuple[str, str]) -> Client:
    """The official (V3) client of the team-a key."""
    return sdk_client(server, team_a_key)


def forbidden(call: Callable[[], Any]) -> Refused:
    """The product's refusal for want of a right: HTTP 200, Success false, Code 403."""
    refusal = refused(call)
    assert refusal.code == 403, refusal
    return refusal


def app_key_of(client: Client, group: str) -> str:
    got = ok(
        client.get_app_group(m.GetAppGroupRequest(namespace=NS, group_id=group, region_id=REGION))
    )
    return str(got.body.data.app_key)


def create_shell_job(client: Client, group: str, name: str, content: str) -> int:
    created = client.create_job(
        m.CreateJobRequest(
            namespace=NS, group_id=group, name=name, job_type="shell", content=content,
            time_type=100, region_id=REGION,
        )
    )  # fmt: skip
    return int(ok(created).body.data.job_id)


def execute(client: Client, group: str, job_id: int) -> int:
    done = client.execute_job(
        m.ExecuteJobRequest(namespace=NS, group_id=group, job_id=job_id, region_id=REGION)
    )
    return int(ok(done).body.data.job_instance_id)


def instance(client: Client, group: str, job_id: int, instance_id: int) -> Any:
    return ok(client.get_job_instance(
        m.GetJobInstanceRequest(
            namespace=NS, group_id=group, job_id=job_id, job_instance_id=instance_id,
            region_id=REGION,
        )
    )).body.data.job_instance_detail  # fmt: skip


def log_lines(client: Client, group: str, job_id: int, instance_id: int) -> list[str]:
    got = client.get_log(
        m.GetLogRequest(
            namespace=NS, group_id=group, job_id=job_id, job_instance_id=instance_id,
            region_id=REGION,
        )
    )  # fmt: skip
    return list(ok(got).body.data.logs or [])


def v1_call(server: ServerProcess, key: tuple[str, str], request: Any, **extra: Any) -> Any:
    """A call through the V1 client, with parameters its model has not (``extra``) added as
    a caller may: the GroupId of a group the key holds, to pass the check of that group."""
    request.set_endpoint(f"127.0.0.1:{server.port}")
    request.set_protocol_type("http")
    for name, value in extra.items():
        request.add_query_param(name, value)
    return json.loads(v1_client(server, key).do_action_with_exception(request))


def refused_v1(server: ServerProcess, key: tuple[str, str], request: Any, **extra: Any) -> None:
    """The V1 client returns the product's refusal as the body (HTTP 200)."""
    answer = v1_call(server, key, request, **extra)
    assert answer["Success"] is False and answer["Code"] == 403, answer


def test_list_groups_shows_only_the_keys_groups_and_their_app_keys(
    team_a: Client, admin: Client, team_a_key: tuple[str, str], server: ServerProcess
) -> None:
    request = ListGroupsRequest()
    request.set_Namespace(NS)
    answer = v1_call(server, team_a_key, request, GroupId="team-a")
    groups = answer["Data"]["AppGroups"]
    assert [g["GroupId"] for g in groups] == ["team-a"]
    assert groups[0]["AppKey"] == app_key_of(admin, "team-a")  # it manages its own group
    assert app_key_of(admin, "team-b") not in json.dumps(answer)
    assert app_key_of(admin, "default") not in json.dumps(answer)
    forbidden(lambda: app_key_of(team_a, "team-b"))


def test_job_sync_checks_the_groups_it_copies_from_and_into(
    team_a: Client, admin: Client, team_a_key: tuple[str, str], server: ServerProcess
) -> None:
    a_job = create_shell_job(team_a, "team-a", "mine", "echo a")
    b_job = create_shell_job(admin, "team-b", "theirs", "echo b")

    def sync(origin: str, target: str, job_id: int) -> ManageSchedulerxJobSyncRequest:
        request = ManageSchedulerxJobSyncRequest()
        request.set_OriginalNamespace(NS)
        request.set_OriginalGroupId(origin)
        request.set_TargetNamespace(NS)
        request.set_TargetGroupId(target)
        request.set_JobIdList([job_id])
        return request

    # Namespace and GroupId name the key's own group; the action acts on the others
    own = {"Namespace": NS, "GroupId": "team-a"}
    refused_v1(server, team_a_key, sync("team-b", "team-a", b_job), **own)  # their script out
    refused_v1(server, team_a_key, sync("team-a", "team-b", a_job), **own)  # a job into theirs
    in_b = admin.list_jobs(m.ListJobsRequest(namespace=NS, group_id="team-b", region_id=REGION))
    assert [j.job_id for j in in_b.body.data.jobs] == [b_job]
    assert v1_call(server, team_a_key, sync("team-a", "team-a", a_job))["Success"] is True


def test_shared_calendars_and_policies_stay_out_of_reach(
    team_a_key: tuple[str, str], server: ServerProcess
) -> None:
    calendar = CreateSchedulerxCalendarRequest()
    calendar.set_CalendarName("holidays")
    calendar.set_Year(2031)
    calendar.set_MonthDaysContent('[{"month": 5, "days": [1]}]')
    # no Namespace: the default one, whose calendars every namespace reads
    refused_v1(server, team_a_key, calendar, GroupId="team-a")
    refused_v1(server, team_a_key, calendar, Namespace=NS, GroupId="team-a")
    refused_v1(
        server, team_a_key, ReadSchedulerxNotificationPolicyRequest(), Namespace=NS,
        GroupId="team-a",
    )  # fmt: skip


def test_the_keys_jobs_run_on_its_own_workers_not_on_the_server(
    team_a: Client, server: ServerProcess, tmp_path: Path
) -> None:
    job = create_shell_job(team_a, "team-a", "leak", 'echo "secret=$TICKWORK_ADMIN_KEY_SECRET"')
    first = execute(team_a, "team-a", job)
    failed = until(lambda: (d := instance(team_a, "team-a", job, first)).status == 5 and d)
    assert "no worker available" in failed.result
    assert not any("secret=" in line for line in log_lines(team_a, "team-a", job, first))

    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        agent = subprocess.Popen(
            [TICKWORK, "worker", "--server", server.url, "--group", "team-a",
             "--app-key", app_key_of(team_a, "team-a"), "--address", "team-a-host:1"],
            env=base_env(), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        workers = m.GetWorkerListRequest(namespace=NS, group_id="team-a", region_id=REGION)
        until(lambda: team_a.get_worker_list(workers).body.data.worker_infos)
        second = execute(team_a, "team-a", job)
        done = until(lambda: (d := instance(team_a, "team-a", job, second)).status == 4 and d)
        assert done.work_addr == "team-a-host:1"
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)


def test_a_worker_speaks_only_for_the_runs_handed_to_it(
    team_a: Client, admin: Client, native: httpx.Client, server: ServerProcess
) -> None:
    # a run of team-b on the server's own worker (an admin allows team-b there)
    allowed = native.patch(f"/api/v1/namespaces/{NS}/groups/team-b", json={"run_on_server": True})
    assert allowed.status_code == 200, allowed.text
    job = create_shell_job(admin, "team-b", "long", "echo started; sleep 30; echo finished")
    victim = execute(admin, "team-b", job)
    until(lambda: instance(admin, "team-b", job, victim).status == 3)

    # a worker of team-a (its AppKey is all it takes) forges reports on that run
    url = server.url.replace("http://", "ws://") + CONNECT_PATH
    query = "?namespace=default&group=team-a&worker_id=forger&address=forger:1"
    headers = {APP_KEY_HEADER: app_key_of(team_a, "team-a")}
    with connect(url + query, additional_headers=headers) as socket:
        assert json.loads(socket.recv(timeout=10))["messages"][0]["op"] == "welcome"
        now = int(time.time() * 1000)
        base = {"instance_id": victim, "attempt": 0, "at": now}
        socket.send(json.dumps({"messages": [
            {"op": "hello", "runs": [], "tasks": []},
            {**base, "op": "log", "line": "planted by team-a"},
            {**base, "op": "progress", "progress": "forged"},
            {**base, "op": "finished", "status": 4, "result": "forged success"},
        ]}))  # fmt: skip
        time.sleep(1.5)  # the server has read the frame: nothing of it may show
    detail = instance(admin, "team-b", job, victim)
    assert detail.status == 3 and detail.result != "forged success"
    assert detail.progress != "forged"
    assert not any("planted" in line for line in log_lines(admin, "team-b", job, victim))
    admin.stop_instance(
        m.StopInstanceRequest(
            namespace=NS, group_id="team-b", job_id=job, instance_id=victim, region_id=REGION
        )
    )
    stopped = until(lambda: (d := instance(admin, "team-b", job, victim)).status == 6 and d)
    assert "forged" not in stopped.result
