"""SchedulerX through the official clients, with a real ``tickwork worker`` agent: workers are
``ip:port`` (``WorkAddr``) and ``id@ip:port`` (``WorkerAddress``), the designation details
carry the figures the workers report (``Busy``, ``Starter`` strings; ``Metrics``), and
instances and jobs read back with the product's values (issue 14, item 5)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.GetJobInstanceListRequest import (
    GetJobInstanceListRequest as V1InstanceList,
)
from aliyunsdkschedulerx2.request.v20190430.GetWorkerListRequest import (
    GetWorkerListRequest as V1WorkerList,
)
from aliyunsdkschedulerx2.request.v20190430.ReadSchedulerxDesignateInfoRequest import (
    ReadSchedulerxDesignateInfoRequest as V1DesignateInfo,
)
from server_support import TICKWORK, ServerProcess, base_env, until

R = "cn-hangzhou"
NS = "default"
GROUP = "agents-only"  # no run on the server's own worker: only the agent serves it
BUSY_STATES = {"FREE", "LOAD5_BUSY", "HEAP5_BUSY", "DISK_BUSY"}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def agent(
    sx: Client, sx_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``tickwork worker`` started as a user would, without ``--address``."""
    created = sx.create_app_group(
        m.CreateAppGroupRequest(namespace=NS, group_id=GROUP, app_name="agents", region_id=R)
    )
    log = tmp_path_factory.mktemp("agent") / "agent.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [TICKWORK, "worker", "--server", sx_server.url, "--namespace", NS,
             "--group", GROUP, "--app-key", created.body.data.app_key, "--concurrency", "4"],
            env=base_env(), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    until(lambda: workers(sx))
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def workers(sx: Client, group: str = GROUP) -> list[m.GetWorkerListResponseBodyDataWorkerInfos]:
    request = m.GetWorkerListRequest(namespace=NS, group_id=group, region_id=R)
    return list(sx.get_worker_list(request).body.data.worker_infos or [])


def v1(client: AcsClient, server: ServerProcess, request: Any) -> dict[str, Any]:
    request.set_endpoint(f"127.0.0.1:{server.port}")
    request.set_protocol_type("http")
    return dict(json.loads(client.do_action_with_exception(request)))


def job(sx: Client, name: str, group: str = GROUP, **fields: Any) -> int:
    request = m.CreateJobRequest(
        namespace=NS, group_id=group, region_id=R, name=name, job_type="shell",
        content="echo done", time_type=100, **{"execute_mode": "standalone", **fields},
    )  # fmt: skip
    job_id = sx.create_job(request).body.data.job_id
    assert isinstance(job_id, int)
    return job_id


def run(
    sx: Client, job_id: int, group: str = GROUP, **fields: Any
) -> m.GetJobInstanceResponseBodyDataJobInstanceDetail:
    """Execute the job and wait for the instance to finish."""
    request = m.ExecuteJobRequest(
        namespace=NS, group_id=group, region_id=R, job_id=job_id, **fields
    )
    iid = sx.execute_job(request).body.data.job_instance_id

    def finished() -> Any:
        got = sx.get_job_instance(
            m.GetJobInstanceRequest(
                namespace=NS, group_id=group, region_id=R, job_id=job_id, job_instance_id=iid
            )
        ).body.data.job_instance_detail
        return got if got.status in (4, 5) else None

    detail = until(finished)
    assert detail.status == 4, detail.result
    return detail


def test_get_worker_list_names_the_agent_id_at_ip_port(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess, agent: subprocess.Popen[bytes]
) -> None:
    (worker,) = workers(sx)
    # ${worker_id}@${worker_ip}:${worker_port}; an agent listens on no port: its pid stands in
    assert re.fullmatch(r"[0-9a-f]{32}@127\.0\.0\.1:\d+", worker.worker_address)
    assert worker.ip == "127.0.0.1" and worker.port == agent.pid
    assert worker.starter == "tickwork worker"
    request = V1WorkerList()
    request.set_Namespace(NS)
    request.set_GroupId(GROUP)
    (same,) = v1(sx_v1, sx_server, request)["Data"]["WorkerInfos"]
    assert same["WorkerAddress"] == worker.worker_address and same["Ip"] == "127.0.0.1"


def test_a_job_never_designated_reads_by_worker_without_failover(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess, agent: subprocess.Popen[bytes]
) -> None:
    job_id = job(sx, "never-designated")
    data = sx.read_schedulerx_designate_info(
        m.ReadSchedulerxDesignateInfoRequest(
            namespace=NS, group_id=GROUP, job_id=job_id, region_id=R
        )
    ).body.data
    assert (data.designate_type, data.transferable) == (1, False)
    request = V1DesignateInfo()
    request.set_Namespace(NS)
    request.set_GroupId(GROUP)
    request.set_JobId(job_id)
    body = v1(sx_v1, sx_server, request)["Data"]
    assert (body["DesignateType"], body["Transferable"]) == (1, False)


def test_the_designation_details_carry_the_agents_figures(
    sx: Client, agent: subprocess.Popen[bytes]
) -> None:
    job_id = job(sx, "figures")
    request = m.ReadSchedulerxDesignateDetailRequest(
        namespace=NS, group_id=GROUP, job_id=job_id, designate_type=1, region_id=R
    )

    def reported() -> Any:
        (vo,) = sx.read_schedulerx_designate_detail(request).body.data.designate_detail_vos
        return vo if vo.metrics is not None and vo.metrics.disk_max else None

    vo = until(reported)
    assert vo.key == f"127.0.0.1:{agent.pid}" and vo.offline is False
    assert isinstance(vo.busy, str) and vo.busy in BUSY_STATES
    assert vo.starter == "tickwork worker" and vo.version
    metrics = vo.metrics
    # the agent runs in this directory: its disk is this file system's
    assert metrics.disk_max == shutil.disk_usage(os.getcwd()).total // MB
    assert 0 < metrics.disk_usage < 1 and metrics.disk_used > 0
    assert metrics.cpu_processors == len(os.sched_getaffinity(0))
    assert metrics.cpu_load_1 >= 0 and metrics.cpu_load_5 >= 0
    # its own process's memory: some MB, a small share of what it may take
    assert metrics.heap_1used > 1 and metrics.heap_max > metrics.heap_1used
    assert 0 < metrics.heap_1usage < 1 and 0 < metrics.heap_5usage < 1


def test_a_run_on_the_agent_shows_ip_port_and_complete(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess, agent: subprocess.Popen[bytes]
) -> None:
    (worker,) = workers(sx)
    job_id = job(sx, "on-the-agent")
    # designated the way GetWorkerList names it (id@ip:port)
    detail = run(sx, job_id, designate_type=1, worker=worker.worker_address)
    assert detail.work_addr == f"127.0.0.1:{agent.pid}"
    assert detail.progress == "complete"
    # and as instances name it (ip:port)
    again = run(sx, job_id, designate_type=1, worker=detail.work_addr)
    assert again.work_addr == detail.work_addr
    listing = V1InstanceList()
    listing.set_Namespace(NS)
    listing.set_GroupId(GROUP)
    listing.set_JobId(job_id)
    rows = v1(sx_v1, sx_server, listing)["Data"]["JobInstanceDetails"]
    assert {(r["WorkAddr"], r["Progress"]) for r in rows} == {(detail.work_addr, "complete")}


def test_the_servers_own_worker_is_named_ip_port_too(sx: Client, sx_server: ServerProcess) -> None:
    job_id = job(sx, "on-the-server", group="default")
    detail = run(sx, job_id, group="default")
    assert detail.work_addr == f"127.0.0.1:{sx_server.port}"
    assert ipaddress.ip_address(detail.work_addr.rpartition(":")[0])
    vos = sx.read_schedulerx_designate_detail(
        m.ReadSchedulerxDesignateDetailRequest(
            namespace=NS, group_id="default", job_id=job_id, designate_type=1, region_id=R
        )
    ).body.data.designate_detail_vos
    (own,) = [vo for vo in vos if vo.key == detail.work_addr]
    assert own.starter == "tickwork-server" and own.busy in BUSY_STATES
    assert own.metrics.heap_1used > 1 and own.metrics.cpu_processors >= 1


@pytest.mark.parametrize("written", ["shard", "sharding"])
def test_sharding_reads_back_as_shard(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess, written: str
) -> None:
    job_id = job(sx, f"mode-{written}", group="default", execute_mode=written,
                 parameters="0=a,1=b")  # fmt: skip
    info = sx.get_job_info(
        m.GetJobInfoRequest(namespace=NS, group_id="default", region_id=R, job_id=job_id)
    ).body.data.job_config_info
    assert info.execute_mode == "shard"
    listed = sx.list_jobs(
        m.ListJobsRequest(namespace=NS, group_id="default", region_id=R, job_name=f"mode-{written}")
    ).body.data.jobs
    assert [j.execute_mode for j in listed] == ["shard"]
