"""Time zones and accepted time values on the SchedulerX face, through both official clients
against a real server (issue 14, items 3 and 6).

A job that names no Timezone runs in its region's time (cn-*: Asia/Shanghai), checked where
the schedule really is (the native API's next fire and instance times, UTC instants), not
only in the face's own echo; the server setting overrides the region; the times the face
shows are in the job's zone, or the region's where there is no job. TimeType -1 (none) is
accepted and read back; second_delay takes 1..60 s, as the product does."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.CreateJobRequest import CreateJobRequest
from aliyunsdkschedulerx2.request.v20190430.GetJobInfoRequest import GetJobInfoRequest
from aliyunsdkschedulerx2.request.v20190430.UpdateJobRequest import UpdateJobRequest
from server_support import ServerProcess, base_env, free_port, until
from sx_support import SX_KEY, refused, sdk_client

NS = "sx-zones"
G = "zones.group"
SHANGHAI, TOKYO, LOS_ANGELES, BERLIN = (
    "Asia/Shanghai",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Europe/Berlin",
)
SUCCESS = 4


def _start(home: Path, **env: str) -> ServerProcess:
    server = ServerProcess(
        home,
        free_port(),
        base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1], **env),
    )
    with httpx.Client(base_url=server.url, auth=SX_KEY, timeout=30) as native:
        native.post("/api/v1/namespaces", json={"id": NS, "name": "zones"}).raise_for_status()
        native.post(
            f"/api/v1/namespaces/{NS}/groups", json={"group_id": G, "run_on_server": True}
        ).raise_for_status()
    return server


@pytest.fixture(scope="module")
def sx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = _start(tmp_path_factory.mktemp("sx-zones"))
    yield server
    server.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def berlin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose SchedulerX zone is set: TICKWORK_SCHEDULERX_TIMEZONE=Europe/Berlin."""
    server = _start(tmp_path_factory.mktemp("sx-zones-berlin"), TICKWORK_SCHEDULERX_TIMEZONE=BERLIN)
    yield server
    server.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def sx(sx_server: ServerProcess) -> Client:
    return sdk_client(sx_server)


# -- helpers ----------------------------------------------------------------------------------
def native_job(server: ServerProcess, job_id: int) -> dict[str, Any]:
    """The job as the native API has it: its stored zone and its next fire (a UTC instant)."""
    answer = httpx.get(f"{server.url}/api/v1/jobs/{job_id}", auth=SX_KEY, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def native_instance(server: ServerProcess, instance_id: int) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/api/v1/instances/{instance_id}", auth=SX_KEY, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def wall(text: str, zone: str) -> datetime:
    """A ``yyyy-MM-dd HH:mm:ss`` (or ``.SSS``) time the face shows, read in ``zone``."""
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone))


def next_ten_oclock(zone: str) -> datetime:
    """The next 10:00:00 in ``zone``, as a UTC instant: when ``0 0 10 * * ?`` fires there."""
    now = datetime.now(ZoneInfo(zone))
    fire = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if fire <= now:
        fire = (fire + timedelta(days=1)).replace(hour=10)
    return fire.astimezone(UTC)


def is_now(moment: datetime) -> bool:
    return abs(moment - datetime.now(UTC)) < timedelta(minutes=5)


def create(sx: Client, region: str | None = "cn-hangzhou", **fields: Any) -> int:
    fields.setdefault("execute_mode", "standalone")
    fields.setdefault("job_type", "shell")
    fields.setdefault("content", "echo zone")
    request = m.CreateJobRequest(namespace=NS, group_id=G, region_id=region, **fields)
    body = sx.create_job(request).body
    assert body.success is True, body.message
    return int(body.data.job_id)


def v1_client(server: ServerProcess, region: str) -> Callable[[Any], dict[str, Any]]:
    """A V1 AcsClient of ``region`` (it sends that RegionId with every call)."""
    client = AcsClient(SX_KEY[0], SX_KEY[1], region, timeout=60)

    def call(request: Any) -> dict[str, Any]:
        request.set_endpoint(f"127.0.0.1:{server.port}")
        request.set_protocol_type("http")
        request.set_Namespace(NS)
        request.set_GroupId(G)
        return dict(json.loads(client.do_action_with_exception(request)))

    return call


def v1_create(call: Callable[[Any], dict[str, Any]], **fields: Any) -> dict[str, Any]:
    request = CreateJobRequest()
    request.set_JobType("shell")
    request.set_ExecuteMode("standalone")
    request.set_Content("echo v1")
    for name, value in fields.items():
        getattr(request, f"set_{name}")(value)
    return call(request)


def refusal(call: Callable[[], Any]) -> str:
    """The message of a call the product refused: HTTP 200, ``Success: false``, an integer
    ``Code`` (a V1 client's JSON body, or the V3 client's response)."""
    answer = call()
    if isinstance(answer, dict):
        assert answer["Success"] is False, answer
        assert isinstance(answer["Code"], int) and answer["Code"] != 200, answer
        return str(answer["Message"])
    return refused(lambda: answer).message


# -- a job that names no Timezone runs in its region's time -----------------------------------
def test_a_cron_job_without_timezone_fires_at_10_shanghai_time(
    sx: Client, sx_server: ServerProcess
) -> None:
    job_id = create(sx, name="daily ten", time_type=1, time_expression="0 0 10 * * ?")
    stored = native_job(sx_server, job_id)
    assert stored["timezone"] == SHANGHAI
    fire = instant(stored["next_fire_time"])
    assert fire == next_ten_oclock(SHANGHAI) and fire.hour == 2  # 10:00 UTC+8 is 02:00 UTC


def test_the_v1_client_gets_its_region_zone_too(sx_server: ServerProcess) -> None:
    hangzhou = v1_client(sx_server, "cn-hangzhou")
    answer = v1_create(hangzhou, Name="v1 ten", TimeType=1, TimeExpression="0 0 10 * * ?")
    stored = native_job(sx_server, answer["Data"]["JobId"])
    assert stored["timezone"] == SHANGHAI
    assert instant(stored["next_fire_time"]) == next_ten_oclock(SHANGHAI)

    singapore = v1_client(sx_server, "ap-southeast-1")
    answer = v1_create(singapore, Name="v1 sg", TimeType=1, TimeExpression="0 0 10 * * ?")
    stored = native_job(sx_server, answer["Data"]["JobId"])
    assert stored["timezone"] == "Asia/Singapore"


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("us-west-1", LOS_ANGELES),
        ("eu-central-1", BERLIN),
        ("cn-beijing", SHANGHAI),
        (None, SHANGHAI),  # a call without RegionId: Asia/Shanghai
    ],
)
def test_another_region_gives_its_zone(
    sx: Client, sx_server: ServerProcess, region: str | None, zone: str
) -> None:
    job_id = create(sx, region, name=f"ten {region}", time_type=1, time_expression="0 0 10 * * ?")
    stored = native_job(sx_server, job_id)
    assert stored["timezone"] == zone
    assert instant(stored["next_fire_time"]) == next_ten_oclock(zone)


def test_a_given_timezone_is_kept(sx: Client, sx_server: ServerProcess) -> None:
    job_id = create(sx, name="utc ten", time_type=1, time_expression="0 0 10 * * ?", timezone="UTC")
    stored = native_job(sx_server, job_id)
    assert stored["timezone"] == "UTC"
    assert instant(stored["next_fire_time"]) == next_ten_oclock("UTC")


def test_a_one_time_job_without_timezone_is_read_in_the_region_zone(
    sx: Client, sx_server: ServerProcess
) -> None:
    tomorrow = (datetime.now(ZoneInfo(SHANGHAI)) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    later = create(
        sx,
        name="once tomorrow",
        time_type=5,
        time_expression=tomorrow.strftime("%Y-%m-%d %H:%M:%S"),
    )
    assert instant(native_job(sx_server, later)["next_fire_time"]) == tomorrow

    soon = (datetime.now(ZoneInfo(SHANGHAI)) + timedelta(seconds=3)).replace(microsecond=0)
    text = soon.strftime("%Y-%m-%d %H:%M:%S")
    job_id = create(sx, name="once soon", time_type=5, time_expression=text)
    request = m.GetJobInstanceListRequest(
        namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id
    )

    def ran() -> Any:
        found = sx.get_job_instance_list(request).body.data.job_instance_details or []
        return found[0] if found and found[0].status == SUCCESS else None

    run = until(ran, 30)
    assert instant(native_instance(sx_server, run.instance_id)["schedule_time"]) == soon
    assert run.schedule_time == text  # shown in the job's zone, as it was written


# -- the server setting overrides the region --------------------------------------------------
def test_the_server_setting_overrides_the_region(berlin_server: ServerProcess) -> None:
    sx = sdk_client(berlin_server)
    for region in ("us-west-1", "cn-hangzhou", None):
        job_id = create(
            sx, region, name=f"berlin {region}", time_type=1, time_expression="0 0 10 * * ?"
        )
        stored = native_job(berlin_server, job_id)
        assert stored["timezone"] == BERLIN
        assert instant(stored["next_fire_time"]) == next_ten_oclock(BERLIN)
    answer = v1_create(
        v1_client(berlin_server, "ap-southeast-1"),
        Name="berlin v1",
        TimeType=1,
        TimeExpression="0 0 10 * * ?",
    )
    assert native_job(berlin_server, answer["Data"]["JobId"])["timezone"] == BERLIN


# -- UpdateJob keeps a stored zone unless one is given ----------------------------------------
def test_update_job_keeps_the_stored_zone_unless_given(
    sx: Client, sx_server: ServerProcess
) -> None:
    job_id = create(sx, name="kept", time_type=1, time_expression="0 0 10 * * ?", timezone="UTC")

    def update(region: str, **fields: Any) -> None:
        request = m.UpdateJobRequest(
            namespace=NS, group_id=G, region_id=region, job_id=job_id, **fields
        )
        assert sx.update_job(request).body.success is True

    update("us-west-1", description="changed", time_expression="0 0 11 * * ?")
    assert native_job(sx_server, job_id)["timezone"] == "UTC"
    update("us-west-1", timezone="Asia/Tokyo")
    assert native_job(sx_server, job_id)["timezone"] == TOKYO
    update("us-west-1", timezone="")  # a blank Timezone is an unset one: the region's
    assert native_job(sx_server, job_id)["timezone"] == LOS_ANGELES

    v1 = v1_client(sx_server, "eu-central-1")
    request = UpdateJobRequest()
    request.set_JobId(job_id)
    request.set_Description("v1 change")
    assert v1(request)["Success"] is True
    assert native_job(sx_server, job_id)["timezone"] == LOS_ANGELES


# -- the times the face shows -----------------------------------------------------------------
def test_instance_and_log_times_are_in_the_zone_the_job_got_from_its_region(
    sx: Client, sx_server: ServerProcess
) -> None:
    tokyo = v1_client(sx_server, "ap-northeast-1")
    job_id = v1_create(tokyo, Name="tokyo api", TimeType=100, Content="echo tokyo")["Data"]["JobId"]
    assert native_job(sx_server, job_id)["timezone"] == TOKYO
    run = m.ExecuteJobRequest(namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id)
    instance_id = sx.execute_job(run).body.data.job_instance_id
    get = m.GetJobInstanceRequest(
        namespace=NS,
        group_id=G,
        region_id="cn-hangzhou",
        job_id=job_id,
        job_instance_id=instance_id,
    )

    def done() -> Any:
        detail = sx.get_job_instance(get).body.data.job_instance_detail
        return detail if detail.status == SUCCESS else None

    detail = until(done, 30)
    started = instant(native_instance(sx_server, instance_id)["start_time"])
    assert wall(detail.start_time, TOKYO) == started.replace(microsecond=0)
    assert is_now(wall(detail.schedule_time, TOKYO)) and is_now(wall(detail.end_time, TOKYO))
    log = m.GetLogRequest(
        namespace=NS,
        group_id=G,
        region_id="cn-hangzhou",
        job_id=str(job_id),
        job_instance_id=str(instance_id),
    )
    lines = sx.get_log(log).body.data.logs or []
    assert lines and all(is_now(wall(line, TOKYO)) for line in lines)


def test_script_history_times_are_in_the_job_zone(sx: Client) -> None:
    job_id = create(sx, name="scripted", time_type=100, content="echo 1")  # Asia/Shanghai
    common = {"namespace": NS, "group_id": G, "region_id": "us-west-1", "job_id": job_id}
    sx.update_job_script(m.UpdateJobScriptRequest(script_content="echo 2", **common))
    history = sx.list_job_script_history(m.ListJobScriptHistoryRequest(**common))
    versions = history.body.data.job_script_history_infos
    assert versions and all(is_now(wall(v.create_time, SHANGHAI)) for v in versions)


def test_times_without_a_job_are_in_the_region_zone(sx: Client) -> None:
    sx.create_schedulerx_notification_policy(
        m.CreateSchedulerxNotificationPolicyRequest(
            policy_name="zones-policy", channel_time_range="{}", region_id="us-west-1"
        )
    )
    for region, zone in (("us-west-1", LOS_ANGELES), ("cn-hangzhou", SHANGHAI)):
        read = m.ReadSchedulerxNotificationPolicyRequest(
            policy_name="zones-policy", region_id=region
        )
        (record,) = sx.read_schedulerx_notification_policy(read).body.data.records
        assert is_now(wall(record.create_time, zone)) and is_now(wall(record.update_time, zone))


# -- TimeType -1 (none) -----------------------------------------------------------------------
def test_time_type_none_is_accepted_read_back_and_runs_only_when_triggered(
    sx: Client, sx_server: ServerProcess
) -> None:
    job_id = create(sx, name="no schedule", time_type=-1, content="echo none")
    info_request = m.GetJobInfoRequest(
        namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id
    )
    info = sx.get_job_info(info_request).body.data.job_config_info
    assert info.time_config.time_type == -1
    listed = sx.list_jobs(
        m.ListJobsRequest(namespace=NS, group_id=G, region_id="cn-hangzhou", job_name="no schedule")
    ).body.data.jobs
    assert [j.time_config.time_type for j in listed] == [-1]
    stored = native_job(sx_server, job_id)
    assert stored["time_type"] == "none" and stored["next_fire_time"] is None

    run = m.ExecuteJobRequest(namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id)
    instance_id = sx.execute_job(run).body.data.job_instance_id
    get = m.GetJobInstanceRequest(
        namespace=NS,
        group_id=G,
        region_id="cn-hangzhou",
        job_id=job_id,
        job_instance_id=instance_id,
    )
    detail = until(lambda: _finished(sx, get), 30)
    assert detail.status == SUCCESS and detail.time_type == -1 and detail.trigger_type == 3

    v1 = v1_client(sx_server, "cn-hangzhou")
    created = v1_create(v1, Name="v1 no schedule", TimeType=-1)
    read = GetJobInfoRequest()
    read.set_JobId(created["Data"]["JobId"])
    assert v1(read)["Data"]["JobConfigInfo"]["TimeConfig"]["TimeType"] == -1


def _finished(sx: Client, get: m.GetJobInstanceRequest) -> Any:
    detail = sx.get_job_instance(get).body.data.job_instance_detail
    return detail if detail.status in (SUCCESS, 5) else None


# -- second_delay takes 1..60 s ---------------------------------------------------------------
def test_second_delay_takes_1_to_60_seconds(sx: Client, sx_server: ServerProcess) -> None:
    for seconds in ("1", "60"):
        job_id = create(sx, name=f"delay {seconds}", time_type=4, time_expression=seconds)
        assert native_job(sx_server, job_id)["time_expression"] == seconds
    for seconds in ("0", "61", "3600"):
        message = refusal(
            lambda s=seconds: sx.create_job(  # type: ignore[misc]
                m.CreateJobRequest(
                    namespace=NS, group_id=G, region_id="cn-hangzhou", name=f"delay {s}",
                    job_type="shell", content="echo zone", execute_mode="standalone",
                    time_type=4, time_expression=s,
                )
            )
        )  # fmt: skip
        assert "TimeExpression" in message and "from 1 to 60" in message and seconds in message

    v1 = v1_client(sx_server, "cn-hangzhou")
    message = refusal(lambda: v1_create(v1, Name="v1 delay", TimeType=4, TimeExpression="90"))
    assert "TimeExpression" in message and "from 1 to 60" in message and "90" in message
    jobs = httpx.get(
        f"{sx_server.url}/api/v1/jobs",
        params={"namespace": NS, "group_id": G, "page_size": 1000},
        auth=SX_KEY,
        timeout=30,
    ).json()["items"]
    refused = {"delay 0", "delay 61", "delay 3600", "v1 delay"}
    assert {j["name"] for j in jobs} & refused == set()  # nothing stored half-written


def test_update_job_to_a_longer_delay_is_refused_and_changes_nothing(
    sx: Client, sx_server: ServerProcess
) -> None:
    job_id = create(sx, name="delay update", time_type=4, time_expression="30")
    request = m.UpdateJobRequest(
        namespace=NS,
        group_id=G,
        region_id="cn-hangzhou",
        job_id=job_id,
        time_expression="120",
        description="not written",
    )
    message = refusal(lambda: sx.update_job(request))
    assert "TimeExpression" in message and "from 1 to 60" in message
    stored = native_job(sx_server, job_id)
    assert stored["time_expression"] == "30" and stored["description"] == ""


def test_a_native_job_with_a_longer_delay_reads_back_and_takes_other_changes(
    sx: Client, sx_server: ServerProcess
) -> None:
    made = httpx.post(
        f"{sx_server.url}/api/v1/jobs",
        json={
            "namespace": NS,
            "group_id": G,
            "name": "native delay",
            "job_type": "shell",
            "content": "echo",
            "time_type": "second_delay",
            "time_expression": "300",
        },
        auth=SX_KEY,
        timeout=30,
    )
    made.raise_for_status()
    job_id = made.json()["id"]
    info_request = m.GetJobInfoRequest(
        namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id
    )
    info = sx.get_job_info(info_request).body.data.job_config_info
    assert (info.time_config.time_type, info.time_config.time_expression) == (4, "300")
    update = m.UpdateJobRequest(
        namespace=NS, group_id=G, region_id="cn-hangzhou", job_id=job_id, description="kept"
    )
    assert sx.update_job(update).body.success is True
    assert native_job(sx_server, job_id)["description"] == "kept"
