"""Argument handling of the CLI that needs no server: usage errors and option mapping."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tickwork.cli.instances import StatusName, TriggerName
from tickwork.cli.jobs import UsageProblem, job_fields, time_fields
from tickwork.cli.main import app
from tickwork.domain.enums import InstanceStatus, JobType, TriggerType
from tickwork.settings import Settings

runner = CliRunner()

NO_SERVER = {
    "TICKWORK_URL": "http://127.0.0.1:9",
    "TICKWORK_ACCESS_KEY_ID": "k",
    "TICKWORK_ACCESS_KEY_SECRET": "s",
}


def flat(text: str) -> str:
    """Output without rich's box drawing and line wrapping."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text)).strip()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=NO_SERVER)
    return result.exit_code, flat(result.output)


def test_job_create_with_two_time_options_is_a_usage_error_naming_them() -> None:
    code, output = invoke(
        "job",
        "create",
        "--name",
        "a",
        "--type",
        "shell",
        "--content",
        "true",
        "--cron",
        "0 * * * * ?",
        "--fixed-rate",
        "30",
    )
    assert code == 2
    assert "--cron and --fixed-rate cannot be used together" in output


def test_job_create_without_a_time_option_is_a_usage_error_listing_them() -> None:
    code, output = invoke("job", "create", "--name", "a", "--type", "shell")
    assert code == 2
    assert "exactly one time option: --cron, --fixed-rate, --second-delay, --one-time, --api" in (
        output
    )


def test_job_create_needs_name_and_type() -> None:
    code, output = invoke("job", "create", "--type", "shell", "--api")
    assert code == 2
    assert "--name" in output
    code, output = invoke("job", "create", "--name", "a", "--type", "cobol", "--api")
    assert code == 2
    assert "cobol" in output


def test_job_update_without_changes_is_a_usage_error() -> None:
    code, output = invoke("job", "update", "3")
    assert code == 2
    assert "nothing to change" in output


def test_job_update_with_two_time_options_is_a_usage_error() -> None:
    code, output = invoke("job", "update", "3", "--api", "--one-time", "2026-01-01 00:00:00")
    assert code == 2
    assert "--one-time and --api cannot be used together" in output


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_instance_list_refuses_a_naive_datetime(option: str) -> None:
    code, output = invoke("instance", "list", option, "2026-11-21T04:30:00")
    assert code == 2
    assert option in output
    assert "has no time zone" in output


def test_instance_list_refuses_an_unknown_status() -> None:
    code, output = invoke("instance", "list", "--status", "done")
    assert code == 2
    assert "--status" in output


def test_ids_must_be_positive_integers() -> None:
    assert invoke("job", "get", "abc")[0] == 2
    assert invoke("instance", "get", "0")[0] == 2


def test_time_fields_map_each_option() -> None:
    assert time_fields("*/2 * * * * ?", None, None, None, False, required=True) == {
        "time_type": "cron",
        "time_expression": "*/2 * * * * ?",
    }
    assert time_fields(None, 30, None, None, False, required=True) == {
        "time_type": "fixed_rate",
        "time_expression": "30",
    }
    assert time_fields(None, None, 5, None, False, required=True) == {
        "time_type": "second_delay",
        "time_expression": "5",
    }
    assert time_fields(None, None, None, "2026-12-01 08:00:00", False, required=True) == {
        "time_type": "one_time",
        "time_expression": "2026-12-01 08:00:00",
    }
    assert time_fields(None, None, None, None, True, required=True) == {
        "time_type": "api",
        "time_expression": "",
    }
    assert time_fields(None, None, None, None, False, required=False) == {}
    with pytest.raises(UsageProblem, match="--fixed-rate and --second-delay"):
        time_fields(None, 1, 2, None, False, required=False)


def test_job_fields_rename_options_and_drop_the_ones_not_given() -> None:
    body = job_fields(
        name="n",
        job_type=JobType.SHELL,
        content="echo hi",
        group="g1",
        timeout=60,
        timeout_kill=True,
        disabled=True,
        description=None,
        as_json=True,
    )
    assert body == {
        "name": "n",
        "job_type": "shell",
        "content": "echo hi",
        "group_id": "g1",
        "timeout": 60,
        "timeout_kill_enable": True,
        "status": "disabled",
    }
    assert job_fields(disabled=False) == {"status": "enabled"}


def test_cli_choices_match_the_domain_enums() -> None:
    statuses = {s.name.lower() for s in InstanceStatus if s is not InstanceStatus.UNKNOWN}
    assert {s.value for s in StatusName} == statuses
    assert {t.value for t in TriggerName} == {t.name.lower() for t in TriggerType}


def test_help_lists_every_command_group() -> None:
    code, output = invoke("--help")
    assert code == 0
    for group in ("server", "job", "instance", "namespace", "group"):
        assert f" {group} " in output


def test_server_refuses_a_bad_environment_setting_before_starting() -> None:
    result = runner.invoke(app, ["server"], env={"TICKWORK_PORT": "ninety"})
    assert result.exit_code == 1
    assert result.stderr == "error: TICKWORK_PORT='ninety' is not a valid int\n"


def test_server_port_must_be_a_port() -> None:
    assert invoke("server", "--port", "70000")[0] == 2


def test_server_takes_the_body_cap_from_its_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tickwork.server

    started: list[Settings] = []
    monkeypatch.setattr(tickwork.server, "serve", started.append)
    env = {"TICKWORK_MAX_BODY_BYTES": "2048", "TICKWORK_BODY_TIMEOUT_S": "7.5"}
    assert runner.invoke(app, ["server"], env=env).exit_code == 0
    assert runner.invoke(app, ["server", "--max-body-bytes", "4096"], env=env).exit_code == 0
    assert [(s.max_body_bytes, s.body_timeout_s) for s in started] == [(2048, 7.5), (4096, 7.5)]
    assert invoke("server", "--max-body-bytes", "0")[0] == 2


def test_server_takes_the_schedulerx_zone_from_its_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tickwork.server

    started: list[Settings] = []
    monkeypatch.setattr(tickwork.server, "serve", started.append)
    env = {"TICKWORK_SCHEDULERX_TIMEZONE": "Europe/Berlin"}
    assert runner.invoke(app, ["server"], env=env).exit_code == 0
    flag = ["server", "--schedulerx-timezone", "GMT+8"]
    assert runner.invoke(app, flag, env=env).exit_code == 0
    assert runner.invoke(app, ["server"], env={}).exit_code == 0
    assert [s.schedulerx_timezone for s in started] == ["Europe/Berlin", "GMT+8", ""]


def test_server_refuses_an_unknown_schedulerx_zone_naming_the_setting() -> None:
    result = runner.invoke(app, ["server", "--schedulerx-timezone", "Mars/Base"], env={})
    assert result.exit_code == 1
    assert "TICKWORK_SCHEDULERX_TIMEZONE" in result.stderr and "Mars/Base" in result.stderr
