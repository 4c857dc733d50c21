"""Job types tickwork's workers do not run (java, go, xxljob, ...) and GetOverview's runs
over time, through both official clients against a real server (issue 14, items 7 and 8).

- A java job is stored and read back like any job (GetJobInfo, ListJobs); its run fails
  at once saying which worker it needs (GetJobInstance, GetLog), and a third-party worker
  agent that says it runs java gets the run.
- Script jobs refuse the map-reduce modes, as the product's console does.
- GetOverview MetricType 1 (query, query_range) counts the runs made, for the groups the
  caller may read.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.CreateJobRequest import CreateJobRequest
from aliyunsdkschedulerx2.request.v20190430.ExecuteJobRequest import ExecuteJobRequest
from aliyunsdkschedulerx2.request.v20190430.GetJobInfoRequest import GetJobInfoRequest
from aliyunsdkschedulerx2.request.v20190430.GetJobInstanceRequest import GetJobInstanceRequest
from aliyunsdkschedulerx2.request.v20190430.GetOverviewRequest import GetOverviewRequest
from server_support import ServerProcess, base_env, free_port, until
from sx_support import SX_KEY, refused, sdk_client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

R = "cn-hangzhou"
NS = "sx-types"
G = "types.group"  # runs on the server's own worker
AGENTS = "types.agents"  # no worker but the agents that connect
COUNTED = "types.counted"  # the overview's runs
QUIET = "types.quiet"  # runs a scoped key may not see
OV = "sx-types-overview"  # the namespace of COUNTED and QUIET, and of no other run
FAILED, SUCCESS = 5, 4


@pytest.fixture(scope="module")
def sx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("sx-types")
    env = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])
    server = ServerProcess(home, free_port(), env)
    with httpx.Client(base_url=server.url, auth=SX_KEY, timeout=30) as native:
        native.post("/api/v1/namespaces", json={"id": NS, "name": "sx types"}).raise_for_status()
        native.post("/api/v1/namespaces", json={"id": OV, "name": "overview"}).raise_for_status()
        for ns, group, here in (
            (NS, G, True),
            (NS, AGENTS, False),
            (OV, COUNTED, True),
            (OV, QUIET, True),
        ):
            native.post(
                f"/api/v1/namespaces/{ns}/groups", json={"group_id": group, "run_on_server": here}
            ).raise_for_status()
    yield server
    server.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def native(sx_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sx_server.url, auth=SX_KEY, timeout=30) as client:
        yield client


# -- helpers ----------------------------------------------------------------------------------
def refusal(call: Callable[[], Any]) -> str:
    """The message of a call the product refused: HTTP 200, ``Success: false``, an integer
    ``Code`` (``sx_support.refused``)."""
    return refused(call).message


def create(sx: Client, group: str = G, **fields: Any) -> int:
    ns = OV if group in (COUNTED, QUIET) else NS
    request = m.CreateJobRequest(namespace=ns, group_id=group, region_id=R, **fields)
    response = sx.create_job(request)
    assert response.body.success is True and response.body.code == 200
    job_id = response.body.data.job_id
    assert isinstance(job_id, int)
    return job_id


def execute(sx: Client, job_id: int, group: str = G) -> int:
    ns = OV if group in (COUNTED, QUIET) else NS
    request = m.ExecuteJobRequest(namespace=ns, group_id=group, region_id=R, job_id=job_id)
    instance_id = sx.execute_job(request).body.data.job_instance_id
    assert isinstance(instance_id, int)
    return instance_id


def instance(
    sx: Client, job_id: int, instance_id: int, group: str = G
) -> m.GetJobInstanceResponseBodyDataJobInstanceDetail:
    request = m.GetJobInstanceRequest(
        namespace=OV if group in (COUNTED, QUIET) else NS,
        group_id=group,
        region_id=R,
        job_id=job_id,
        job_instance_id=instance_id,
    )
    return sx.get_job_instance(request).body.data.job_instance_detail


def finished(
    sx: Client, job_id: int, instance_id: int, group: str = G, within: float = 30
) -> m.GetJobInstanceResponseBodyDataJobInstanceDetail:
    def done() -> Any:
        detail = instance(sx, job_id, instance_id, group)
        return detail if detail.status in (SUCCESS, FAILED) else None

    return until(done, within)


def logs(sx: Client, job_id: int, instance_id: int) -> list[str]:
    request = m.GetLogRequest(
        namespace=NS,
        group_id=G,
        region_id=R,
        job_id=str(job_id),
        job_instance_id=str(instance_id),
    )
    return list(sx.get_log(request).body.data.logs or [])


def v1(client: AcsClient, server: ServerProcess, request: Any) -> dict[str, Any]:
    request.set_endpoint(f"127.0.0.1:{server.port}")
    request.set_protocol_type("http")
    return dict(json.loads(client.do_action_with_exception(request)))


def v1_refusal(client: AcsClient, server: ServerProcess, request: Any) -> str:
    """``refusal`` for the V1 client: its JSON body says ``Success: false`` with an integer
    ``Code``."""
    answer = v1(client, server, request)
    assert answer["Success"] is False, answer
    assert isinstance(answer["Code"], int) and answer["Code"] != 200, answer
    return str(answer["Message"])


NEEDS_JAVA = "job type java needs a worker that runs java: "


# -- item 8: job types --------------------------------------------------------------------------
def test_a_java_job_is_stored_read_back_and_its_run_fails_saying_what_it_needs(
    sx: Client,
) -> None:
    fields = {
        "name": "java hello",
        "description": "synced from SchedulerX",
        "job_type": "java",
        "class_name": "com.example.jobs.HelloProcessor",
        "execute_mode": "standalone",
        "parameters": "a=1",
        "time_type": 1,
        "time_expression": "0 0 3 * * ?",
        "attempt_interval": 45,
        "timeout": 600,
        "timeout_enable": True,
        "page_size": 50,
        "consumer_size": 7,
        "max_concurrency": 3,
        "status": 0,  # disabled: it must not fire while the test runs
    }
    job_id = create(sx, **fields)
    info_request = m.GetJobInfoRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id)
    info = sx.get_job_info(info_request).body.data.job_config_info
    assert (info.job_type, info.class_name, info.content) == (
        "java",
        "com.example.jobs.HelloProcessor",
        "",
    )
    assert (info.name, info.description, info.execute_mode, info.parameters) == (
        "java hello",
        "synced from SchedulerX",
        "standalone",
        "a=1",
    )
    assert (info.attempt_interval, info.max_concurrency, info.status) == (45, "3", 0)
    assert (info.map_task_xattrs.page_size, info.map_task_xattrs.consumer_size) == (50, 7)
    monitor = info.job_monitor_info.monitor_config
    assert (monitor.timeout, monitor.timeout_enable) == (600, True)
    assert (info.time_config.time_type, info.time_config.time_expression) == (1, "0 0 3 * * ?")
    listing = sx.list_jobs(m.ListJobsRequest(namespace=NS, group_id=G, region_id=R))
    listed = {j.job_id: j for j in listing.body.data.jobs}
    assert (listed[job_id].job_type, listed[job_id].class_name) == (
        "java",
        "com.example.jobs.HelloProcessor",
    )

    iid = execute(sx, job_id)
    detail = finished(sx, job_id, iid)
    assert detail.status == FAILED
    assert detail.result.startswith(NEEDS_JAVA), detail.result
    assert f"no live worker of app group {NS}/{G} runs java" in detail.result
    assert any(NEEDS_JAVA in line for line in logs(sx, job_id, iid))


def test_every_type_of_the_product_is_stored_and_golang_reads_as_go(sx: Client) -> None:
    for job_type in ("go", "golang", "xxljob", "dataworks", "k8s", "springschedule"):
        job_id = create(
            sx, name=f"a {job_type} job", job_type=job_type, class_name="x.Y", time_type=100
        )
        info = sx.get_job_info(
            m.GetJobInfoRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id)
        ).body.data.job_config_info
        assert info.job_type == ("go" if job_type == "golang" else job_type)
        detail = finished(sx, job_id, execute(sx, job_id))
        wanted = info.job_type
        assert detail.status == FAILED
        assert detail.result.startswith(f"job type {wanted} needs a worker that runs {wanted}")
    unknown = refusal(
        lambda: sx.create_job(
            m.CreateJobRequest(
                namespace=NS, group_id=G, region_id=R, name="x", job_type="cobol", time_type=100
            )
        )
    )
    assert "JobType 'cobol' is unknown" in unknown and "springschedule" in unknown


def test_script_jobs_refuse_the_map_reduce_modes_as_the_product_does(sx: Client) -> None:
    for mode in ("grid", "batch", "parallel"):
        message = refusal(
            lambda mode=mode: sx.create_job(  # type: ignore[misc]
                m.CreateJobRequest(
                    namespace=NS,
                    group_id=G,
                    region_id=R,
                    name="script grid",
                    job_type="shell",
                    content="echo hi",
                    execute_mode=mode,
                    time_type=100,
                )
            )
        )
        assert f"ExecuteMode '{mode}' (map-reduce) needs a processor job" in message
        assert "a shell job runs standalone, broadcast or sharding" in message
    # a java job may take them: the worker that runs java supplies the map processor
    job_id = create(
        sx,
        name="java grid",
        job_type="java",
        class_name="x.Map",
        execute_mode="grid",
        time_type=100,
    )
    info = sx.get_job_info(
        m.GetJobInfoRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id)
    ).body.data.job_config_info
    assert info.execute_mode == "grid"


def test_the_v1_client_creates_reads_and_runs_a_java_job(
    sx_v1: AcsClient, sx_server: ServerProcess
) -> None:
    made = CreateJobRequest()
    made.set_Namespace(NS)
    made.set_GroupId(G)
    made.set_Name("v1 java")
    made.set_JobType("java")
    made.set_ClassName("com.example.V1Job")
    made.set_ExecuteMode("standalone")
    made.set_TimeType(100)
    answer = v1(sx_v1, sx_server, made)
    assert answer["Success"] is True
    job_id = answer["Data"]["JobId"]

    read = GetJobInfoRequest()
    read.set_Namespace(NS)
    read.set_GroupId(G)
    read.set_JobId(job_id)
    info = v1(sx_v1, sx_server, read)["Data"]["JobConfigInfo"]
    assert (info["JobType"], info["ClassName"]) == ("java", "com.example.V1Job")

    run = ExecuteJobRequest()
    run.set_Namespace(NS)
    run.set_GroupId(G)
    run.set_JobId(job_id)
    iid = v1(sx_v1, sx_server, run)["Data"]["JobInstanceId"]

    def detail() -> dict[str, Any] | None:
        get = GetJobInstanceRequest()
        get.set_Namespace(NS)
        get.set_GroupId(G)
        get.set_JobId(job_id)
        get.set_JobInstanceId(iid)
        found = v1(sx_v1, sx_server, get)["Data"]["JobInstanceDetail"]
        return dict(found) if found["Status"] == FAILED else None

    assert until(detail)["Result"].startswith(NEEDS_JAVA)


class JavaAgent:
    """A third-party worker agent that says it runs java: it answers each run it gets with
    success (the worker protocol of worker/protocol.py, spoken by hand)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.runs: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @staticmethod
    def url(server: ServerProcess) -> str:
        query = urlencode(
            {
                "namespace": NS,
                "group": AGENTS,
                "worker_id": "java-agent-1",
                "address": "10.0.0.9:7000",
                "job_types": "java",
            }
        )
        return f"ws://127.0.0.1:{server.port}/api/v1/workers/connect?{query}"

    def _send(self, *messages: dict[str, Any]) -> None:
        self.socket.send(json.dumps({"messages": list(messages)}))

    def _serve(self) -> None:
        self._send({"op": "hello", "runs": [], "tasks": []})
        try:
            for frame in self.socket:
                for message in json.loads(frame)["messages"]:
                    if message["op"] == "run":
                        self._answer(message["request"])
        except ConnectionClosed:  # the test is over
            return

    def _answer(self, request: dict[str, Any]) -> None:
        self.runs.append(request)
        at = int(time.time() * 1000)
        iid, attempt = request["instance_id"], request["attempt"]
        self._send(
            {"op": "started", "instance_id": iid, "attempt": attempt, "at": at},
            {
                "op": "finished",
                "instance_id": iid,
                "attempt": attempt,
                "status": SUCCESS,
                "result": f"ran {request['class_name']} in a JVM",
                "at": at,
            },
        )

    def join(self) -> None:
        self._thread.join(10)


def test_a_worker_agent_that_runs_java_gets_the_java_run(
    sx: Client, sx_server: ServerProcess, native: httpx.Client
) -> None:
    app_key = native.get(f"/api/v1/namespaces/{NS}/groups/{AGENTS}").json()["app_key"]
    job_id = create(
        sx, AGENTS, name="java on agent", job_type="java", class_name="com.x.J", time_type=100
    )
    headers = {"x-tickwork-app-key": app_key}
    with connect(JavaAgent.url(sx_server), additional_headers=headers) as socket:
        agent = JavaAgent(socket)
        workers = m.GetWorkerListRequest(namespace=NS, group_id=AGENTS, region_id=R)
        until(lambda: sx.get_worker_list(workers).body.data.worker_infos)
        listed = native.get(f"/api/v1/namespaces/{NS}/groups/{AGENTS}/workers").json()
        assert [(w["address"], w["job_types"]) for w in listed["items"]] == [
            ("10.0.0.9:7000", ["java"])
        ]
        iid = execute(sx, job_id, AGENTS)
        detail = finished(sx, job_id, iid, AGENTS)
        assert (detail.status, detail.result) == (SUCCESS, "ran com.x.J in a JVM")
        assert [(r["instance_id"], r["job_type"]) for r in agent.runs] == [(iid, "java")]
        # a shell run of the group is not the java agent's: none of the group's live
        # workers runs shell, and the run says so
        shell = create(
            sx, AGENTS, name="shell here", job_type="shell", content="echo hi", time_type=100
        )
        refused = finished(sx, shell, execute(sx, shell, AGENTS), AGENTS)
        assert refused.status == FAILED
        assert refused.result.startswith("job type shell needs a worker that runs shell")
        assert len(agent.runs) == 1
    agent.join()


# -- item 7: GetOverview, runs over time -----------------------------------------------------------
def overview(
    client: Client, operate: str, start_s: int, end_s: int, group: str | None = COUNTED
) -> dict[str, Any]:
    request = m.GetOverviewRequest(
        namespace=OV,
        group_id=group,
        region_id=R,
        metric_type=1,
        operate=operate,
        start_time=start_s,
        end_time=end_s,
    )
    body = client.get_overview(request).body
    assert body.success is True
    return dict(json.loads(body.data))


def totals(points: list[dict[str, Any]]) -> tuple[int, int, int]:
    return (
        sum(p["triggered"] for p in points),
        sum(p["success"] for p in points),
        sum(p["failed"] for p in points),
    )


def test_get_overview_query_range_counts_the_runs_made(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess, native: httpx.Client
) -> None:
    start_s = int(time.time()) - 1
    ok = create(sx, COUNTED, name="ok", job_type="shell", content="echo ok", time_type=100)
    bad = create(sx, COUNTED, name="bad", job_type="shell", content="exit 3", time_type=100)
    java = create(sx, COUNTED, name="java", job_type="java", class_name="a.B", time_type=100)
    runs = [(ok, 3), (bad, 2), (java, 1)]
    made = [(job, execute(sx, job, COUNTED)) for job, count in runs for _ in range(count)]
    for job, iid in made:
        finished(sx, job, iid, COUNTED)
    quiet = create(sx, QUIET, name="quiet", job_type="shell", content="echo q", time_type=100)
    finished(sx, quiet, execute(sx, quiet, QUIET), QUIET)
    end_s = int(time.time()) + 1

    series = overview(sx, "query_range", start_s, end_s)
    assert (series["start"], series["end"], series["step"]) == (start_s, end_s, 60)
    points = series["points"]
    assert [p["time"] for p in points] == list(range(start_s, end_s + 1, 60))
    assert totals(points) == (6, 3, 3)
    whole = overview(sx, "query", start_s, end_s)
    assert (whole["triggered"], whole["success"], whole["failed"]) == (6, 3, 3)
    # the namespace's runs: both groups; a range before the runs: none
    assert totals(overview(sx, "query_range", start_s, end_s, None)["points"]) == (7, 4, 3)
    before = overview(sx, "query_range", start_s - 3600, start_s - 1)
    assert len(before["points"]) == 60 and totals(before["points"]) == (0, 0, 0)

    # a key that may read only COUNTED sees only its runs, and not QUIET's
    key = native.post("/api/v1/access-keys", json={"name": "overview reader"}).json()
    native.post(
        f"/api/v1/access-keys/{key['key_id']}/permissions",
        json={"namespace": OV, "group_id": COUNTED, "right": "read"},
    ).raise_for_status()
    reader = sdk_client(sx_server, (key["key_id"], key["secret"]))
    assert totals(overview(reader, "query_range", start_s, end_s, None)["points"]) == (6, 3, 3)
    refused = refusal(
        lambda: reader.get_overview(
            m.GetOverviewRequest(
                namespace=OV,
                group_id=QUIET,
                region_id=R,
                metric_type=1,
                operate="query_range",
                start_time=start_s,
            )
        )
    )
    assert "has no right on app group" in refused

    # the V1 client, and the refusals naming their parameter
    old = GetOverviewRequest()
    old.set_Namespace(OV)
    old.set_GroupId(COUNTED)
    old.set_MetricType(1)
    old.set_Operate("query_range")
    old.set_StartTime(start_s)
    old.set_EndTime(end_s)
    data = json.loads(v1(sx_v1, sx_server, old)["Data"])
    assert totals(data["points"]) == (6, 3, 3)
    old.set_EndTime(start_s - 10)
    assert "EndTime" in v1_refusal(sx_v1, sx_server, old)
    old.set_Operate("range")
    assert "Operate must be query or query_range" in v1_refusal(sx_v1, sx_server, old)
