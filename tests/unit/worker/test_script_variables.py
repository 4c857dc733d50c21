"""Script variables: names, values, substitution and environment twins."""

from __future__ import annotations

from datetime import timedelta, timezone

from tickwork.domain.enums import ExecuteMode, JobType, TimeType, TriggerType
from tickwork.worker.abc import RunRequest
from tickwork.worker.variables import (
    env_name,
    format_time,
    script_variables,
    substitute,
    variable_env,
)

REQUEST = RunRequest(
    instance_id=501,
    job_id=7,
    job_name="report",
    namespace="ns-1",
    group_id="g",
    job_type=JobType.SHELL,
    execute_mode=ExecuteMode.STANDALONE,
    time_type=TimeType.CRON,
    trigger_type=TriggerType.BACKFILL,
    schedule_time=1_700_000_000_000,
    data_time=1_699_913_600_000,
    attempt=1,
    max_attempt=2,
    job_parameters="a=1",
    instance_parameters="i",
    sharding_id=3,
    sharding_num=4,
    sharding_parameter="p",
)


def test_variables_of_a_run() -> None:
    assert script_variables(REQUEST) == {
        "jobId": "7",
        "jobName": "report",
        "jobInstanceId": "501",
        "namespace": "ns-1",
        "groupId": "g",
        "jobParameters": "a=1",
        "instanceParameters": "i",
        "shardingId": "3",
        "shardingNum": "4",
        "shardingParameter": "p",
        "attempt": "1",
        "maxAttempt": "2",
        "triggerType": "2",
        "scheduleTime": "2023-11-14 22:13:20",
        "dataTime": "2023-11-13 22:13:20",
    }


def test_format_time_is_utc_unless_told() -> None:
    assert format_time(0) == "1970-01-01 00:00:00"
    assert format_time(1_700_000_000_999) == "2023-11-14 22:13:20"
    assert format_time(0, timezone(timedelta(hours=8))) == "1970-01-01 08:00:00"


def test_substitute_known_names_under_both_prefixes() -> None:
    text = "#{schedulerx.jobId}-#{tickwork.jobId} #{schedulerx.jobName}"
    assert substitute(text, {"jobId": "7", "jobName": "n"}) == "7-7 n"


def test_substitute_leaves_unknown_and_malformed_alone() -> None:
    text = "#{schedulerx.unknown} #{other.jobId} #{schedulerx.jobId #{ schedulerx.jobId} ${x}"
    assert substitute(text, {"jobId": "7"}) == text


def test_substituted_values_are_not_substituted_again() -> None:
    variables = {"jobParameters": "#{schedulerx.jobId}", "jobId": "7"}
    assert substitute("#{schedulerx.jobParameters}", variables) == "#{schedulerx.jobId}"


def test_values_with_backslashes_are_inserted_verbatim() -> None:
    assert substitute("x=#{tickwork.jobParameters}", {"jobParameters": r"\1\g<0>"}) == r"x=\1\g<0>"


def test_env_names() -> None:
    assert env_name("jobInstanceId") == "TICKWORK_JOB_INSTANCE_ID"
    assert env_name("shardingNum", "SCHEDULERX_") == "SCHEDULERX_SHARDING_NUM"
    assert env_name("attempt") == "TICKWORK_ATTEMPT"


def test_variable_env_has_both_prefixes() -> None:
    assert variable_env({"jobParameters": "x"}) == {
        "TICKWORK_JOB_PARAMETERS": "x",
        "SCHEDULERX_JOB_PARAMETERS": "x",
    }
