"""SchedulerX job and instance fields: parameters to domain values, domain objects to the
official SDK models' fields, and service errors renamed to the SchedulerX parameters."""

from __future__ import annotations

import json

import pytest
from alibabacloud_schedulerx220190430 import models as m

from tickwork.api.schedulerx.actions.convert import (
    epoch_ms,
    execute_mode_of,
    instance_detail,
    job_changes,
    job_config_info,
    job_type_of,
    new_job,
    rename_field,
    sx_names,
    sx_time,
)
from tickwork.api.schedulerx.params import MissingParameter, Params
from tickwork.domain.enums import (
    ExecuteMode,
    InstanceStatus,
    JobStatus,
    JobType,
    TimeType,
    TriggerType,
)
from tickwork.domain.errors import InvalidParameter, InvalidTimeExpression, JobNotFound
from tickwork.domain.models import ContactInfo, Instance, Job

SEED = {
    "Namespace": "ns",
    "GroupId": "g",
    "JobType": "shell",
    "ExecuteMode": "standalone",
    "Name": "helloworld",
    "Description": "test",
    "Content": "echo hi",
    "TimeType": "1",
    "TimeExpression": "0 0/10 * * * ?",
    "TimeoutEnable": "True",
    "TimeoutKillEnable": "true",
    "FailEnable": "true",
    "Timeout": "12300",
    "MaxAttempt": "3",
    "AttemptInterval": "30",
    "TaskMaxAttempt": "1",
    "TaskAttemptInterval": "100",
    "ContactInfo.1.UserName": "userA",
    "ContactInfo.1.UserPhone": "1381111",
    "ContactInfo.2.UserName": "userB",
    "ContactInfo.2.UserPhone": "1382222",
    "StartTime": "-1",
    "EndTime": "1893456000000",
    "Status": "0",
}


def test_create_job_parameters_of_the_seed_become_a_job() -> None:
    job = new_job(Params.of(SEED), "ns", "g", "Asia/Shanghai")
    assert (job.namespace, job.group_id, job.name) == ("ns", "g", "helloworld")
    assert job.job_type == JobType.SHELL and job.execute_mode == ExecuteMode.STANDALONE
    assert job.time_type == TimeType.CRON and job.time_expression == "0 0/10 * * * ?"
    assert job.timezone == "Asia/Shanghai"  # the seed names no Timezone: the region's zone
    assert job.timeout_enable and job.timeout_kill_enable and job.fail_enable
    assert (job.timeout, job.max_attempt, job.attempt_interval) == (12300, 3, 30)
    assert (job.task_max_attempt, job.task_attempt_interval) == (1, 100)
    assert job.contact_info == [
        ContactInfo(user_name="userA", user_phone="1381111"),
        ContactInfo(user_name="userB", user_phone="1382222"),
    ]
    assert job.start_time is None and job.end_time == 1893456000000
    assert job.status == JobStatus.DISABLED


def test_contact_info_as_a_json_array() -> None:
    params = Params.of({"ContactInfo": json.dumps([{"UserName": "a", "Ding": "https://x"}])})
    assert job_changes(params)["contact_info"] == [ContactInfo(user_name="a", ding="https://x")]
    with pytest.raises(InvalidParameter) as caught:
        job_changes(Params.of({"ContactInfo.1.Phone": "1"}))
    assert caught.value.field == "ContactInfo" and "ContactInfo.1.Phone" in caught.value.message


def test_only_given_fields_are_changes() -> None:
    changes = job_changes(Params.of({"Content": "echo 2", "MaxAttempt": "1", "EndTime": "-1"}))
    assert changes == {"content": "echo 2", "max_attempt": 1, "end_time": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"Name": "x", "TimeType": "100"}, "JobType"),
        ({"JobType": "shell", "TimeType": "100"}, "Name"),
        ({"JobType": "shell", "Name": "x"}, "TimeType"),
    ],
)
def test_missing_required_parameters(params: dict[str, str], field: str) -> None:
    with pytest.raises(MissingParameter) as caught:
        new_job(Params.of(params), "ns", "g", "Asia/Shanghai")
    assert caught.value.field == field and field in caught.value.message


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"TimeType": "2"}, "TimeType"),
        ({"TimeType": "x"}, "TimeType"),
        ({"Status": "3"}, "Status"),
        ({"ExecuteMode": "mapreduce"}, "ExecuteMode"),
        ({"Priority": "7"}, "Priority"),
        ({"StartTime": "-2"}, "StartTime"),
        ({"TimeoutEnable": "maybe"}, "TimeoutEnable"),
        ({"MaxAttempt": "many"}, "MaxAttempt"),
    ],
)
def test_malformed_parameters_are_named(params: dict[str, str], field: str) -> None:
    base = {"Name": "x", "JobType": "shell", "TimeType": "100", **params}
    with pytest.raises(InvalidParameter) as caught:
        new_job(Params.of(base), "ns", "g", "Asia/Shanghai")
    assert caught.value.field == field and field in caught.value.message


def test_job_types() -> None:
    assert job_type_of("Shell") == JobType.SHELL
    assert job_type_of("python") == JobType.PYTHON
    assert job_type_of("processor") == JobType.PROCESSOR
    assert job_type_of("http") == JobType.HTTP
    # the product's types tickwork's workers do not run are stored all the same
    for name in ("java", "go", "xxljob", "dataworks", "k8s", "springschedule"):
        assert job_type_of(name.upper()) == JobType(name)
    assert job_type_of("golang") == JobType.GO
    with pytest.raises(InvalidParameter, match="JobType 'cobol' is unknown; one of: shell, "):
        job_type_of("cobol")


def test_execute_modes_in_both_spellings() -> None:
    assert execute_mode_of("shard") == execute_mode_of("sharding") == ExecuteMode.SHARDING
    assert execute_mode_of("broadcatst") == ExecuteMode.BROADCAST


def test_service_errors_are_renamed_to_the_schedulerx_parameter() -> None:
    error = InvalidTimeExpression("invalid time_expression 'time_expression': bad", position=0)
    rename_field(error)
    assert error.field == "TimeExpression"
    assert error.message == "invalid TimeExpression 'time_expression': bad"  # quoted text kept
    error2 = InvalidTimeExpression("invalid hours '25' at position 4", position=4)
    rename_field(error2)
    assert error2.message == "TimeExpression: invalid hours '25' at position 4"
    with pytest.raises(JobNotFound) as caught:
        with sx_names({"job_id": "JobIdList"}):
            raise JobNotFound("job 5 does not exist", field="job_id")
    assert caught.value.field == "JobIdList"
    # not a refused value but the product's own answer: its message is kept verbatim
    assert caught.value.message == "job 5 does not exist"
    with pytest.raises(JobNotFound) as mismatched:
        with sx_names():
            raise JobNotFound("jobid: 64 not match groupId: g", field="group_id")
    assert mismatched.value.message == "jobid: 64 not match groupId: g"
    assert mismatched.value.field == "GroupId"


def test_timestamps_in_seconds_or_milliseconds() -> None:
    params = Params.of({"S": "1700000000", "M": "1700000000123"})
    assert epoch_ms(params, "S") == 1_700_000_000_000
    assert epoch_ms(params, "S", end=True) == 1_700_000_000_999
    assert epoch_ms(params, "M") == epoch_ms(params, "M", end=True) == 1_700_000_000_123
    assert epoch_ms(params, "absent") is None


def test_times_in_the_job_zone() -> None:
    ms = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
    assert sx_time(ms, "") == "2023-11-14 22:13:20"
    assert sx_time(ms, "Asia/Shanghai") == "2023-11-15 06:13:20"
    assert sx_time(ms, "GMT+8") == "2023-11-15 06:13:20"
    assert sx_time(None, "Asia/Shanghai") == ""


def _job() -> Job:
    return Job(
        id=7,
        namespace="ns",
        group_id="g",
        name="n",
        job_type=JobType.PYTHON,
        time_type=TimeType.FIXED_RATE,
        time_expression="30",
        class_name="pkg.mod:Cls",
        contact_info=[ContactInfo(user_name="a", user_mail="a@x")],
        start_time=1000,
        end_time=2000,
        max_concurrency=3,
    )


def test_job_config_info_reads_as_the_sdk_model() -> None:
    fields = job_config_info(_job())
    model = m.GetJobInfoResponseBodyDataJobConfigInfo().from_map(fields)
    assert model.to_map() == fields  # every field is one of the model's, nested as it nests
    assert model.job_id == 7 and model.job_type == "python" and model.max_concurrency == "3"
    assert model.time_config.time_type == 3 and model.time_config.time_expression == "30"
    assert model.job_monitor_info.contact_info[0].user_mail == "a@x"
    assert model.end_time == 2000

    listed = job_config_info(_job(), with_start_time=True)
    item = m.ListJobsResponseBodyDataJobs().from_map(listed)
    assert item.to_map() == listed and item.start_time == 1000


def test_instance_detail_reads_as_the_sdk_model() -> None:
    inst = Instance(
        id=11,
        job_id=7,
        namespace="ns",
        group_id="g",
        trigger_type=TriggerType.API,
        time_type=TimeType.API,
        schedule_time=1_700_000_000_000,
        data_time=1_700_000_000_000,
        start_time=1_700_000_001_000,
        status=InstanceStatus.RUNNING,
        worker="inproc@host",
        executor="key",
    )
    fields = instance_detail(inst, "Asia/Shanghai")
    model = m.GetJobInstanceListResponseBodyDataJobInstanceDetails().from_map(fields)
    assert model.to_map() == fields
    assert model.instance_id == 11 and model.status == 3 and model.trigger_type == 3
    assert model.schedule_time == "2023-11-15 06:13:20" and model.end_time == ""
    assert model.work_addr == "inproc@host" and model.executor == "key"
