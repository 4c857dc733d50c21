"""SchedulerX job and instance actions through the official clients against a real server:
create shell, python, http and processor jobs of every time type, execute, wait, list
instances, read logs, stop, retry, set success, rerun (backfill), update, enable, disable,
delete, batch operations; the V1 client; bad parameters with their status, code and message."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import ANY
from zoneinfo import ZoneInfo

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.ExecuteJobRequest import ExecuteJobRequest
from aliyunsdkschedulerx2.request.v20190430.GetJobInstanceListRequest import (
    GetJobInstanceListRequest,
)
from server_support import ServerProcess, base_env, free_port, until
from sx_support import SX_KEY, ok, refused

R = "cn-hangzhou"
NS = "sx-jobs"
G = "jobs.group"
OTHER = "jobs.other"
SHANGHAI = "Asia/Shanghai"

PROCESSOR_MODULE = """
from tickwork.processor import JobContext, Processor, ProcessResult


class Greeter(Processor):
    def process(self, ctx: JobContext) -> ProcessResult:
        ctx.logger.info("greeting %s", ctx.instance_parameters)
        return ProcessResult(True, f"hello {ctx.job_parameters}")
"""


# -- the server, with a processor module on its path ------------------------------------------
@pytest.fixture(scope="module")
def sx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("sx-jobs")
    code = home / "code"
    code.mkdir()
    (code / "sxjobs_processors.py").write_text(PROCESSOR_MODULE)
    env = base_env(
        TICKWORK_ADMIN_KEY_ID=SX_KEY[0],
        TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1],
        PYTHONPATH=str(code),
    )
    server = ServerProcess(home, free_port(), env)
    with httpx.Client(base_url=server.url, auth=SX_KEY, timeout=30) as native:
        native.post("/api/v1/namespaces", json={"id": NS, "name": "sx jobs"}).raise_for_status()
        for group in (G, OTHER):  # their jobs run on the server's own worker
            native.post(
                f"/api/v1/namespaces/{NS}/groups", json={"group_id": group, "run_on_server": True}
            ).raise_for_status()
    yield server
    server.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A small HTTP service for http jobs: /ok answers {"code": 200}, /bad {"code": 500}."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"code": 200 if self.path == "/ok" else 500}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


# -- helpers ----------------------------------------------------------------------------------
def fails(call: Callable[[], object]) -> AlibabaCloudException:
    with pytest.raises(AlibabaCloudException) as caught:
        call()
    return caught.value


def create(sx: Client, group: str = G, **fields: Any) -> int:
    fields.setdefault("execute_mode", "standalone")
    request = m.CreateJobRequest(namespace=NS, group_id=group, region_id=R, **fields)
    response = ok(sx.create_job(request))
    assert response.body.success is True and response.body.code == 200
    job_id = response.body.data.job_id
    assert isinstance(job_id, int)
    return job_id


def shell_api_job(sx: Client, name: str, content: str, **fields: Any) -> int:
    return create(sx, name=name, job_type="shell", content=content, time_type=100, **fields)


def execute(sx: Client, job_id: int, **fields: Any) -> int:
    request = m.ExecuteJobRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id, **fields)
    instance_id = ok(sx.execute_job(request)).body.data.job_instance_id
    assert isinstance(instance_id, int)
    return instance_id


def job_info(sx: Client, job_id: int) -> m.GetJobInfoResponseBodyDataJobConfigInfo:
    request = m.GetJobInfoRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id)
    return ok(sx.get_job_info(request)).body.data.job_config_info


def instance(
    sx: Client, job_id: int, instance_id: int
) -> m.GetJobInstanceResponseBodyDataJobInstanceDetail:
    request = m.GetJobInstanceRequest(
        namespace=NS, group_id=G, region_id=R, job_id=job_id, job_instance_id=instance_id
    )
    return ok(sx.get_job_instance(request)).body.data.job_instance_detail


def wait_status(
    sx: Client, job_id: int, instance_id: int, *statuses: int, within: float = 30
) -> m.GetJobInstanceResponseBodyDataJobInstanceDetail:
    def reached() -> Any:
        detail = instance(sx, job_id, instance_id)
        return detail if detail.status in statuses else None

    return until(reached, within)


def instances(
    sx: Client, job_id: int | None = None, group: str = G, **fields: Any
) -> list[m.GetJobInstanceListResponseBodyDataJobInstanceDetails]:
    request = m.GetJobInstanceListRequest(
        namespace=NS, group_id=group, region_id=R, job_id=job_id, **fields
    )
    return list(ok(sx.get_job_instance_list(request)).body.data.job_instance_details or [])


def logs(sx: Client, job_id: int, instance_id: int, **fields: Any) -> list[str]:
    request = m.GetLogRequest(
        namespace=NS,
        group_id=G,
        region_id=R,
        job_id=str(job_id),
        job_instance_id=str(instance_id),
        **fields,
    )
    return list(ok(sx.get_log(request)).body.data.logs or [])


def list_jobs(sx: Client, **fields: Any) -> m.ListJobsResponseBodyData:
    request = m.ListJobsRequest(namespace=NS, group_id=G, region_id=R, **fields)
    return ok(sx.list_jobs(request)).body.data


def wall(text: str, zone: str = "UTC") -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone))


SUCCESS, FAILED, RUNNING, KILLED = 4, 5, 3, 6


# -- creating jobs of every kind, and reading them back ---------------------------------------
def test_create_job_with_every_field_of_the_seed_and_read_it_back(sx: Client) -> None:
    job_id = create(
        sx,
        name="helloworld",
        description="test",
        job_type="shell",
        content="echo hello",
        parameters="p1",
        max_concurrency=2,
        max_attempt=3,
        attempt_interval=5,
        page_size=50,
        consumer_size=4,
        queue_size=500,
        dispatcher_size=3,
        time_type=1,
        time_expression="0 0/10 * * * ?",
        data_offset=2400,
        timezone="GMT+8",
        timeout_enable=True,
        timeout=12300,
        timeout_kill_enable=True,
        fail_enable=True,
        fail_times=2,
        miss_worker_enable=True,
        success_notice_enable=True,
        send_channel="sms,mail",
        task_max_attempt=1,
        task_attempt_interval=100,
        contact_info=[
            m.CreateJobRequestContactInfo(user_name="userA", user_phone="1381111"),
            m.CreateJobRequestContactInfo(
                user_name="userB", user_mail="b@example.com", ding="https://ding/robot"
            ),
        ],
        status=0,
        xattrs='{"resource":"job"}',
        priority=5,
    )
    info = job_info(sx, job_id)
    assert info.job_id == job_id and info.name == "helloworld" and info.description == "test"
    assert info.job_type == "shell" and info.execute_mode == "standalone"
    assert info.content == "echo hello" and info.parameters == "p1"
    assert info.max_concurrency == "2" and info.max_attempt == 3 and info.attempt_interval == 5
    assert info.status == 0 and info.xattrs == '{"resource":"job"}'
    assert info.time_config.time_type == 1
    assert info.time_config.time_expression == "0 0/10 * * * ?"
    assert info.time_config.data_offset == 2400
    x = info.map_task_xattrs
    assert (x.page_size, x.consumer_size, x.queue_size, x.dispatcher_size) == (50, 4, 500, 3)
    assert (x.task_max_attempt, x.task_attempt_interval) == (1, 100)
    monitor = info.job_monitor_info.monitor_config
    assert monitor.timeout == 12300 and monitor.timeout_enable and monitor.timeout_kill_enable
    assert monitor.fail_enable and monitor.miss_worker_enable and monitor.send_channel == "sms,mail"
    contacts = info.job_monitor_info.contact_info
    assert [(c.user_name, c.user_phone, c.user_mail, c.ding) for c in contacts] == [
        ("userA", "1381111", "", ""),
        ("userB", "", "b@example.com", "https://ding/robot"),
    ]


# Job types tickwork's workers do not run (java, go, ...): test_schedulerx_types.py


def test_scheduled_jobs_of_every_type_and_time_type_run(sx: Client, web: str) -> None:
    soon = datetime.now(ZoneInfo(SHANGHAI)) + timedelta(seconds=3)
    jobs = {
        "cron shell": create(
            sx,
            name="cron shell",
            job_type="shell",
            content="echo cron-ran",
            time_type=1,
            time_expression="* * * * * ?",
        ),
        "fixed rate python": create(
            sx,
            name="fixed rate python",
            job_type="python",
            content="print('python-ran')",
            time_type=3,
            time_expression="1",
        ),
        "second delay http": create(
            sx,
            name="second delay http",
            job_type="http",
            content=json.dumps(
                {"url": f"{web}/ok", "method": "GET", "respKey": "code", "respValue": "200"}
            ),
            time_type=4,
            time_expression="1",
        ),
        "one time processor": create(
            sx,
            name="one time processor",
            job_type="python",
            class_name="sxjobs_processors:Greeter",
            parameters="world",
            time_type=5,
            time_expression=soon.strftime("%Y-%m-%d %H:%M:%S"),
            timezone=SHANGHAI,
        ),
    }

    def every_job_succeeded_once() -> bool:
        for job_id in jobs.values():
            done = [i for i in instances(sx, job_id) if i.status == SUCCESS]
            if not done:
                return False
            assert done[0].trigger_type == 1  # scheduled
        return True

    until(every_job_succeeded_once, 30)
    one_time = jobs["one time processor"]
    (run,) = instances(sx, one_time)
    assert run.result == "hello world" and run.time_type == 5
    assert wall(run.schedule_time, SHANGHAI) == soon.replace(microsecond=0)
    until(lambda: job_info(sx, one_time).status == 0)  # a one-time job is done after its fire
    cron_run = instances(sx, jobs["cron shell"], status=SUCCESS)[0]
    assert "cron-ran" in cron_run.result
    batch = m.BatchDisableJobsRequest(
        namespace=NS, group_id=G, region_id=R, job_id_list=list(jobs.values())
    )
    assert sx.batch_disable_jobs(batch).body.success
    assert {job_info(sx, j).status for j in jobs.values()} == {0}
    assert sx.batch_delete_jobs(
        m.BatchDeleteJobsRequest(
            namespace=NS, group_id=G, region_id=R, job_id_list=list(jobs.values())
        )
    ).body.success
    for job_id in jobs.values():
        assert refused(lambda j=job_id: job_info(sx, j)).code == 404  # type: ignore[misc]


# -- running on demand, instances and logs ----------------------------------------------------
def test_execute_job_passes_instance_parameters_and_logs_can_be_read(sx: Client) -> None:
    job_id = shell_api_job(
        sx,
        "greet",
        'for i in 1 2 3 4 5; do echo "line $i"; done; echo "hi #{schedulerx.instanceParameters}"',
        timezone=SHANGHAI,
    )
    instance_id = execute(sx, job_id, instance_parameters="world")
    detail = wait_status(sx, job_id, instance_id, SUCCESS)
    assert detail.instance_id == instance_id and detail.job_id == job_id
    assert detail.job_name == "greet" and detail.parameters == "world"
    assert detail.result == "hi world" and detail.trigger_type == 3 and detail.time_type == 100
    assert detail.executor == SX_KEY[0] and detail.work_addr
    start = wall(detail.start_time, SHANGHAI)
    assert abs(start - datetime.now(UTC)) < timedelta(minutes=5)  # shown in the job's zone

    newest_first = logs(sx, job_id, instance_id)
    assert any(line.endswith("hi world") for line in newest_first)
    oldest_first = logs(sx, job_id, instance_id, reverse=False)
    assert oldest_first == list(reversed(newest_first))
    texts = [line.split(" ", 2)[2] for line in oldest_first]  # "yyyy-MM-dd HH:mm:ss.SSS text"
    assert texts[:6] == ["line 1", "line 2", "line 3", "line 4", "line 5", "hi world"][:6]
    assert [x.split(" ", 2)[2] for x in logs(sx, job_id, instance_id, keyword="line 4")] == [
        "line 4"
    ]
    page = logs(sx, job_id, instance_id, reverse=False, offset=1, line=2)
    assert [x.split(" ", 2)[2] for x in page] == ["line 2", "line 3"]
    error = refused(lambda: logs(sx, job_id, instance_id, line=201))
    assert error.code == 400 and "Line" in error.message


def test_ten_executions_in_the_same_second_give_ten_instances_that_all_run(sx: Client) -> None:
    job_id = shell_api_job(sx, "tenfold", "echo run #{schedulerx.instanceParameters}")
    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda n: execute(sx, job_id, instance_parameters=str(n)), range(10)))
    assert len(set(ids)) == 10
    for n, instance_id in enumerate(ids):
        assert wait_status(sx, job_id, instance_id, SUCCESS).result == f"run {n}"
    listed = instances(sx, job_id, page_size=20)
    assert sorted(i.instance_id for i in listed) == sorted(ids)
    assert len(instances(sx, job_id)) == 10  # the latest 10 by default


def test_stop_retry_set_success_and_instance_list_filters(sx: Client, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    job_id = shell_api_job(
        sx, "flaky", f"if [ -f {flag} ]; then echo fixed; else echo broken; exit 3; fi"
    )
    failed = execute(sx, job_id)
    assert wait_status(sx, job_id, failed, FAILED).status == FAILED
    flag.touch()
    retry = m.RetryJobInstanceRequest(
        namespace=NS, group_id=G, region_id=R, job_id=job_id, job_instance_id=failed
    )
    assert sx.retry_job_instance(retry).body.success
    again = wait_status(sx, job_id, failed, SUCCESS)  # the same instance ran again
    assert again.result == "fixed"
    assert any("retried by" in line for line in logs(sx, job_id, failed))
    error = refused(lambda: sx.retry_job_instance(retry))  # a successful one is not retried
    assert error.code == 409 and "only a finished, unsuccessful instance" in error.message

    flag.unlink()
    failed_too = execute(sx, job_id)
    wait_status(sx, job_id, failed_too, FAILED)
    assert sx.set_job_instance_success(
        m.SetJobInstanceSuccessRequest(
            namespace=NS, group_id=G, region_id=R, job_id=job_id, job_instance_id=failed_too
        )
    ).body.success
    assert instance(sx, job_id, failed_too).status == SUCCESS

    slow = shell_api_job(sx, "slow", "echo started; sleep 60")
    running = execute(sx, slow)
    wait_status(sx, slow, running, RUNNING)
    assert [i.instance_id for i in instances(sx, slow, status=RUNNING)] == [running]
    stop = m.StopInstanceRequest(
        namespace=NS, group_id=G, region_id=R, job_id=slow, instance_id=running
    )
    assert sx.stop_instance(stop).body.success
    assert wait_status(sx, slow, running, KILLED).status == KILLED
    error = refused(lambda: sx.stop_instance(stop))
    assert error.code == 409 and "already killed" in error.message

    everything = instances(sx, None, page_size=100)
    assert {failed, failed_too, running} <= {i.instance_id for i in everything}
    assert [i.instance_id for i in instances(sx, job_id, status=FAILED)] == []
    now_s = int(time.time())
    assert len(instances(sx, job_id, start_timestamp=now_s - 600, end_timestamp=now_s)) == 2
    assert instances(sx, job_id, start_timestamp=(now_s + 600) * 1000) == []
    assert len(instances(sx, job_id, page_num=2, page_size=1)) == 1
    assert instances(sx, job_id, page_num=3, page_size=1) == []
    error = refused(lambda: instances(sx, job_id, status=42))
    assert error.code == 400 and "Status" in error.message


def test_rerun_job_backfills_the_fires_of_a_date_range(sx: Client) -> None:
    daily = create(
        sx,
        name="daily report",
        job_type="shell",
        content="echo data #{schedulerx.dataTime}",
        time_type=1,
        time_expression="0 30 10 * * ?",
        timezone=SHANGHAI,
        status=0,
    )
    day = datetime(2026, 3, 1, tzinfo=ZoneInfo(SHANGHAI))
    rerun = m.RerunJobRequest(
        namespace=NS,
        group_id=G,
        region_id=R,
        job_id=daily,
        start_date=int(day.timestamp() * 1000),
        end_date=int((day + timedelta(days=3) - timedelta(seconds=1)).timestamp() * 1000),
        data_time="10:00:00",
    )
    response = sx.rerun_job(rerun).body
    assert response.success and response.message.startswith("3 backfill instance(s) created")
    backfilled = instances(sx, daily)
    assert len(backfilled) == 3 and {i.trigger_type for i in backfilled} == {2}
    assert sorted(i.schedule_time for i in backfilled) == [
        "2026-03-01 10:30:00",
        "2026-03-02 10:30:00",
        "2026-03-03 10:30:00",
    ]
    for item in backfilled:
        assert wait_status(sx, daily, item.instance_id, SUCCESS).status == SUCCESS

    api_job = shell_api_job(sx, "api backfill", "echo api", timezone=SHANGHAI)
    rerun.job_id = api_job
    assert sx.rerun_job(rerun).body.message.startswith("3 backfill")
    assert sorted(i.schedule_time for i in instances(sx, api_job)) == [
        "2026-03-01 10:00:00",
        "2026-03-02 10:00:00",
        "2026-03-03 10:00:00",
    ]

    every_second = create(
        sx,
        name="every second",
        job_type="shell",
        content="echo",
        time_type=1,
        time_expression="* * * * * ?",
        status=0,
    )
    rerun.job_id = every_second
    error = refused(lambda: sx.rerun_job(rerun))
    assert error.code == 400 and "more than 1000 fires" in error.message
    assert "EndDate" in error.message  # the parameter is named
    assert instances(sx, every_second) == []  # nothing started
    rerun.data_time = "25:00:00"
    error = refused(lambda: sx.rerun_job(rerun))
    assert error.code == 400 and "DataTime" in error.message


# -- changing jobs ----------------------------------------------------------------------------
def test_update_enable_disable_list_and_delete(sx: Client) -> None:
    job_id = shell_api_job(sx, "to change", "echo one")
    update = m.UpdateJobRequest(
        namespace=NS,
        group_id=G,
        region_id=R,
        job_id=job_id,
        name="changed",
        content="echo two",
        time_type=1,
        time_expression="0 0 3 * * ?",
        max_attempt=2,
        contact_info=[m.UpdateJobRequestContactInfo(user_name="ops", user_phone="123")],
    )
    assert sx.update_job(update).body.success
    info = job_info(sx, job_id)
    assert info.name == "changed" and info.content == "echo two" and info.max_attempt == 2
    assert info.time_config.time_type == 1 and info.time_config.time_expression == "0 0 3 * * ?"
    assert [c.user_name for c in info.job_monitor_info.contact_info] == ["ops"]
    by_name = sx.get_job_info(
        m.GetJobInfoRequest(namespace=NS, group_id=G, region_id=R, job_name="changed")
    ).body.data.job_config_info
    assert by_name.job_id == job_id

    error = refused(
        lambda: sx.update_job(
            m.UpdateJobRequest(
                namespace=NS, group_id=G, region_id=R, job_id=job_id, time_expression="0 0 25 * * ?"
            )
        )
    )
    assert error.code == 400 and "TimeExpression" in error.message

    plain = {"namespace": NS, "group_id": G, "region_id": R, "job_id": job_id}
    assert sx.disable_job(m.DisableJobRequest(**plain)).body.success
    assert job_info(sx, job_id).status == 0
    disabled = list_jobs(sx, status="0", job_name="changed")
    assert [j.job_id for j in disabled.jobs] == [job_id] and disabled.total == 1
    assert disabled.jobs[0].time_config.time_expression == "0 0 3 * * ?"
    error = refused(lambda: execute(sx, job_id, check_job_status=True))
    assert error.code == 409 and "disabled" in error.message
    assert execute(sx, job_id, check_job_status=False)  # the default runs a disabled job too
    assert sx.enable_job(m.EnableJobRequest(**plain)).body.success
    assert job_info(sx, job_id).status == 1
    assert execute(sx, job_id, check_job_status=True)

    everything = list_jobs(sx)
    assert everything.total >= 2 and job_id in {j.job_id for j in everything.jobs}
    first = list_jobs(sx, page_num=1, page_size=1)
    second = list_jobs(sx, page_num=2, page_size=1)
    assert first.page_number == 1 and first.page_size == 1 and len(first.jobs) == 1
    assert first.jobs[0].job_id != second.jobs[0].job_id

    extra = [shell_api_job(sx, f"batch {n}", "echo") for n in range(3)]
    batch = {"namespace": NS, "group_id": G, "region_id": R, "job_id_list": extra}
    assert sx.batch_disable_jobs(m.BatchDisableJobsRequest(**batch)).body.success
    assert {job_info(sx, j).status for j in extra} == {0}
    assert sx.batch_enable_jobs(m.BatchEnableJobsRequest(**batch)).body.success
    assert {job_info(sx, j).status for j in extra} == {1}
    assert sx.batch_delete_jobs(m.BatchDeleteJobsRequest(**batch)).body.success
    assert sx.delete_job(m.DeleteJobRequest(**plain)).body.success
    for gone in [*extra, job_id]:
        error = refused(lambda g=gone: job_info(sx, g))  # type: ignore[misc]
        assert error.code == 404


def test_a_batch_with_a_job_of_another_group_changes_nothing(sx: Client) -> None:
    mine = shell_api_job(sx, "mine", "echo")
    theirs = create(sx, OTHER, name="theirs", job_type="shell", content="echo", time_type=100)
    batch = m.BatchDisableJobsRequest(
        namespace=NS, group_id=G, region_id=R, job_id_list=[mine, theirs]
    )
    error = refused(lambda: sx.batch_disable_jobs(batch))
    assert error.code == 404 and f"jobid: {theirs} not match groupId: {G}" in error.message
    assert job_info(sx, mine).status == 1


# -- designated workers -----------------------------------------------------------------------
def test_execute_job_on_a_designated_worker(sx: Client) -> None:
    job_id = shell_api_job(sx, "designated", "echo here")
    first = wait_status(sx, job_id, execute(sx, job_id), SUCCESS)
    here = first.work_addr
    on_it = execute(sx, job_id, designate_type=1, worker=here)
    assert wait_status(sx, job_id, on_it, SUCCESS).work_addr == here
    error = refused(lambda: execute(sx, job_id, designate_type=1, worker="10.0.0.9:16"))
    assert error.code == 400 and "Worker" in error.message and here in error.message
    error = refused(lambda: execute(sx, job_id, designate_type=2, label="gpu"))
    assert error.code == 400 and "Label" in error.message and "'gpu'" in error.message
    # Worker is tickwork's need with DesignateType 1 (the SDK leaves it optional): the
    # product's refusal, not the gateway's MissingParameter
    error = refused(lambda: execute(sx, job_id, designate_type=1))
    assert error.code == 400 and error.message == "Worker is mandatory for this action"
    assert "Worker" in error.message
    error = refused(lambda: execute(sx, job_id, designate_type=3, worker=here))
    assert error.code == 400 and "DesignateType" in error.message


# -- bad parameters ---------------------------------------------------------------------------
def test_bad_parameters_name_the_parameter(sx: Client) -> None:
    error = fails(  # the gateway's: the SDK marks Name required
        lambda: create(sx, job_type="shell", content="echo", time_type=100)
    )
    assert error.status_code == 400 and error.code == "MissingParameter"
    assert "Name" in error.message

    error = refused(
        lambda: create(
            sx, name="bad cron", job_type="shell", content="echo", time_type=1, time_expression="x"
        )
    )
    assert error.code == 400
    assert "TimeExpression" in error.message and "time_expression" not in error.message

    error = refused(lambda: create(sx, name="no script", job_type="shell", time_type=100))
    assert error.code == 400 and "Content" in error.message

    error = refused(lambda: create(sx, name="t", job_type="shell", content="echo", time_type=2))
    assert error.code == 400 and "TimeType" in error.message

    error = refused(
        lambda: create(
            sx, name="t", job_type="shell", content="echo", time_type=100, timezone="Mars/Base"
        )
    )
    assert error.code == 400 and "Timezone" in error.message

    error = refused(
        lambda: create(
            sx, name="t", job_type="shell", content="echo", time_type=100, execute_mode="grid"
        )
    )
    assert error.code == 400 and "ExecuteMode" in error.message

    theirs = create(sx, OTHER, name="elsewhere", job_type="shell", content="echo", time_type=100)
    error = refused(lambda: execute(sx, theirs))
    assert error.code == 404
    assert error.message == f"jobid: {theirs} not match groupId: {G}"  # the seed's, verbatim
    error = refused(lambda: instances(sx, theirs))
    assert error.message == f"jobid: {theirs} not match groupId: {G}"

    error = refused(lambda: job_info(sx, 987654))
    assert error.code == 404 and error.message == "job 987654 does not exist"

    error = refused(
        lambda: sx.execute_job(
            m.ExecuteJobRequest(namespace=NS, group_id="no.such.group", region_id=R, job_id=1)
        )
    )
    assert error.code == 404
    assert error.message == f"groupid not exist groupId: no.such.group namespace: {NS}"

    mine = shell_api_job(sx, "instance checks", "echo")
    error = refused(lambda: instance(sx, mine, 987654))
    assert error.code == 404 and error.message == "instance 987654 does not exist"


def test_a_data_offset_no_fire_could_carry_is_refused_naming_data_offset(sx: Client) -> None:
    """Issue 13, 9: DataOffset=10^16 was taken (SQLite), and then every planning round of
    every namespace failed; on PostgreSQL it was a 503 carrying the SQL text."""
    huge = 10_000_000_000_000_000
    error = refused(
        lambda: create(
            sx,
            name="far data",
            job_type="shell",
            content="echo",
            time_type=1,
            time_expression="* * * * * ?",
            data_offset=huge,
        )
    )
    assert error.code == 400
    assert f"DataOffset must be from -316224000 to 316224000, got {huge}" in error.message

    job_id = create(
        sx,
        name="near data",
        job_type="shell",
        content="echo near",
        time_type=1,
        time_expression="* * * * * ?",
        data_offset=-86_400,
    )
    error = refused(
        lambda: sx.update_job(
            m.UpdateJobRequest(
                namespace=NS, group_id=G, region_id=R, job_id=job_id, data_offset=-huge
            )
        )
    )
    assert error.code == 400 and "DataOffset" in error.message
    assert job_info(sx, job_id).time_config.data_offset == -86_400

    def fired() -> Any:
        done = [i for i in instances(sx, job_id) if i.status == SUCCESS]
        return done or None

    first = until(fired, 15)[0]  # scheduling goes on, with the offset it had
    shift = wall(first.schedule_time) - wall(first.data_time)
    assert shift == timedelta(days=1)
    sx.delete_job(m.DeleteJobRequest(namespace=NS, group_id=G, region_id=R, job_id=job_id))


# -- the V1 client ----------------------------------------------------------------------------
def test_the_v1_client_executes_and_lists_instances(
    sx: Client, sx_v1: AcsClient, sx_server: ServerProcess
) -> None:
    job_id = shell_api_job(sx, "v1", "echo v1 #{schedulerx.instanceParameters}")

    def v1(request: Any) -> dict[str, Any]:
        request.set_endpoint(f"127.0.0.1:{sx_server.port}")
        request.set_protocol_type("http")
        request.set_Namespace(NS)
        request.set_GroupId(G)
        return dict(json.loads(sx_v1.do_action_with_exception(request)))

    run = ExecuteJobRequest()
    run.set_JobId(job_id)
    run.set_InstanceParameters("old client")
    run.set_CheckJobStatus(True)
    answer = v1(run)
    assert answer["Success"] is True and answer["Code"] == 200
    instance_id = answer["Data"]["JobInstanceId"]
    wait_status(sx, job_id, instance_id, SUCCESS)

    listing = GetJobInstanceListRequest()
    listing.set_JobId(job_id)
    details = v1(listing)["Data"]["JobInstanceDetails"]
    assert [d["InstanceId"] for d in details] == [instance_id]
    assert details[0]["Result"] == "v1 old client" and details[0]["Status"] == SUCCESS

    wrong = GetJobInstanceListRequest()
    wrong.set_JobId(987654)
    # the product's refusal reaches the program as the body (HTTP 200), not an exception
    assert v1(wrong) == {
        "RequestId": ANY,
        "Code": 404,
        "Success": False,
        "Message": "job 987654 does not exist",
    }


def test_sharding_and_broadcast_jobs_through_the_sdk(sx: Client) -> None:
    sharded = shell_api_job(
        sx,
        "shards",
        "echo shard #{schedulerx.shardingId} of #{schedulerx.shardingNum}: "
        "#{schedulerx.shardingParameter}",
        execute_mode="sharding",
        parameters="0=Beijing,1=Shanghai,2=Hangzhou",
        task_max_attempt=1,
    )
    # CreateJob's text spells it "sharding"; the product answers "shard" (GetJobInfo's model)
    assert job_info(sx, sharded).execute_mode == "shard"
    iid = execute(sx, sharded)
    done = wait_status(sx, sharded, iid, 4, 5)
    assert (done.status, done.result) == (4, "3 of 3 shards succeeded")
    lines = "\n".join(logs(sx, sharded, iid))
    for shard in ("0 of 3: Beijing", "1 of 3: Shanghai", "2 of 3: Hangzhou"):
        assert lines.count(f"] shard {shard}") == 1  # its script's output, once
        assert lines.count(f"[shard {shard[0]}] shard {shard}") == 1

    broadcast = create(
        sx, name="everyone", job_type="python", class_name="sxjobs_processors:Greeter",
        time_type=100, execute_mode="broadcast", parameters="all",
    )  # fmt: skip
    done = wait_status(sx, broadcast, execute(sx, broadcast), 4, 5)
    assert (done.status, done.result) == (4, "1 of 1 workers succeeded")


def test_modes_a_job_cannot_run_are_refused_naming_the_parameter(sx: Client) -> None:
    error = refused(lambda: shell_api_job(sx, "grid shell", "echo", execute_mode="grid"))
    assert error.code == 400
    assert "ExecuteMode 'grid'" in error.message and "processor job" in error.message
    error = refused(
        lambda: shell_api_job(
            sx, "bad shards", "echo", execute_mode="sharding", parameters="Beijing,Shanghai"
        )
    )
    assert error.code == 400
    assert "Parameters: shard 'Beijing' is not 'id=parameter'" in error.message
    assert not [j for j in list_jobs(sx).jobs or [] if j.name in ("grid shell", "bad shards")]
