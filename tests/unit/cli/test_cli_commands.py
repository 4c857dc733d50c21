"""CLI commands against a scripted HTTP server: requests sent, output, exit codes."""

from __future__ import annotations

import json

import pytest
from cli_stub import Seen, StubServer
from typer.testing import CliRunner

from tickwork.cli import instances
from tickwork.cli.main import app

runner = CliRunner()

JOB = {
    "id": 7,
    "name": "hello",
    "namespace": "default",
    "group_id": "default",
    "job_type": "shell",
    "time_type": "cron",
    "time_expression": "*/2 * * * * ?",
    "status": "enabled",
    "next_fire_time": "2026-11-21T04:30:02.000Z",
}


def test_job_create_sends_the_body_and_prints_the_id(
    stub: StubServer, cli_env: dict[str, str]
) -> None:
    stub.on("POST", "/api/v1/jobs", 201, JOB)
    result = runner.invoke(
        app,
        [
            "job",
            "create",
            "--name",
            "hello",
            "--type",
            "shell",
            "--content",
            "echo hello",
            "--cron",
            "*/2 * * * * ?",
            "--timezone",
            "Asia/Shanghai",
            "--max-attempt",
            "2",
        ],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "7\n"
    assert stub.seen[0].body == {
        "name": "hello",
        "job_type": "shell",
        "content": "echo hello",
        "timezone": "Asia/Shanghai",
        "max_attempt": 2,
        "time_type": "cron",
        "time_expression": "*/2 * * * * ?",
    }


def test_api_error_is_one_line_on_stderr_and_exit_1(
    stub: StubServer, cli_env: dict[str, str]
) -> None:
    error = {
        "code": "InvalidTimeExpression",
        "message": "bad minute at position 3",
        "field": "time_expression",
    }
    stub.on("POST", "/api/v1/jobs", 400, {"error": error})
    result = runner.invoke(
        app,
        [
            "job",
            "create",
            "--name",
            "x",
            "--type",
            "shell",
            "--content",
            "true",
            "--cron",
            "0 0 25 * * ?",
        ],
        env=cli_env,
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: time_expression: bad minute at position 3\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unreachable_server_is_exit_1_without_traceback(cli_env: dict[str, str]) -> None:
    env = cli_env | {"TICKWORK_URL": "http://127.0.0.1:9"}
    result = runner.invoke(app, ["job", "get", "1"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach tickwork at http://127.0.0.1:9: ")
    assert "Traceback" not in result.output


def test_unauthenticated_gives_a_hint(stub: StubServer, cli_env: dict[str, str]) -> None:
    stub.on(
        "GET",
        "/api/v1/jobs",
        401,
        {"error": {"code": "Unauthenticated", "message": "bad access key"}},
    )
    result = runner.invoke(app, ["job", "list"], env=cli_env)
    assert result.exit_code == 1
    assert "error: bad access key (check TICKWORK_ACCESS_KEY_ID" in result.stderr


def test_job_list_table_and_json(stub: StubServer, cli_env: dict[str, str]) -> None:
    page = {"items": [JOB], "total": 1, "page": 1, "page_size": 20}
    stub.on("GET", "/api/v1/jobs", 200, page)
    table = runner.invoke(app, ["job", "list", "--group", "g", "--page-size", "20"], env=cli_env)
    assert table.exit_code == 0, table.output
    assert "cron */2 * * * * ?" in table.stdout
    assert stub.seen[0].query == [("group_id", "g"), ("page_size", "20")]
    as_json = runner.invoke(app, ["job", "list", "--json"], env=cli_env)
    assert json.loads(as_json.stdout) == page


def test_job_run_passes_params_and_prints_the_instance_id(
    stub: StubServer, cli_env: dict[str, str]
) -> None:
    stub.on("POST", "/api/v1/jobs/7/run", 201, {"id": 41, "status": "waiting"})
    result = runner.invoke(
        app, ["job", "run", "7", "--params", "day=1", "--idempotency-key", "k"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "41\n"
    assert stub.seen[0].body == {"instance_parameters": "day=1", "idempotency_key": "k"}


def test_job_delete_asks_first(stub: StubServer, cli_env: dict[str, str]) -> None:
    stub.on("DELETE", "/api/v1/jobs/7", 204, None)
    refused = runner.invoke(app, ["job", "delete", "7"], input="n\n", env=cli_env)
    assert refused.exit_code == 1
    assert stub.seen == []
    done = runner.invoke(app, ["job", "delete", "7", "--yes"], env=cli_env)
    assert done.exit_code == 0
    assert done.stdout == "job 7 deleted\n"
    assert [(s.method, s.path) for s in stub.seen] == [("DELETE", "/api/v1/jobs/7")]


def test_instance_list_sends_filters(stub: StubServer, cli_env: dict[str, str]) -> None:
    stub.on("GET", "/api/v1/instances", 200, {"items": [], "total": 0, "page": 1, "page_size": 20})
    result = runner.invoke(
        app,
        [
            "instance",
            "list",
            "--job",
            "7",
            "--status",
            "failed",
            "--status",
            "killed",
            "--trigger-type",
            "scheduled",
            "--to",
            "2026-11-21T08:00:00+08:00",
        ],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert stub.seen[0].query == [
        ("job_id", "7"),
        ("status", "failed"),
        ("status", "killed"),
        ("trigger_type", "scheduled"),
        ("to", "2026-11-21T00:00:00.000Z"),
    ]


def test_instance_rerun_prints_the_id(stub: StubServer, cli_env: dict[str, str]) -> None:
    stub.on("POST", "/api/v1/instances/41/rerun", 200, {"id": 41, "trigger_type": "manual_rerun"})
    result = runner.invoke(app, ["instance", "rerun", "41"], env=cli_env)
    assert result.exit_code == 0
    assert result.stdout == "41\n"


class RunningInstance:
    """An instance that runs for a few polls, writing a line each time, then ends."""

    def __init__(self, polls: int, final: str) -> None:
        self.polls = polls
        self.final = final
        self.lines: list[str] = []

    def instance(self, _seen: Seen) -> tuple[int, object]:
        self.polls -= 1
        self.lines.append(f"line {len(self.lines) + 1}")
        status = "running" if self.polls > 0 else self.final
        return 200, {"id": 41, "status": status, "attempt": 0, "result": "done"}

    def logs(self, seen: Seen) -> tuple[int, object]:
        query = dict(seen.query)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 2))
        chunk = self.lines[offset : offset + limit]
        items = [
            {"seq": offset + i, "time": "", "attempt": 0, "line": line}
            for i, line in enumerate(chunk)
        ]
        return 200, {
            "items": items,
            "total": len(self.lines),
            "offset": offset,
            "next_offset": offset + len(chunk),
        }


@pytest.mark.parametrize(("final", "code"), [("success", 0), ("failed", 1), ("killed", 1)])
def test_logs_follow_prints_each_line_once_and_exits_by_status(
    stub: StubServer,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    final: str,
    code: int,
) -> None:
    monkeypatch.setattr(instances, "FOLLOW_INTERVAL_S", 0.01)
    run = RunningInstance(polls=4, final=final)
    stub.route("GET", "/api/v1/instances/41", run.instance)
    stub.route("GET", "/api/v1/instances/41/logs", run.logs)
    result = runner.invoke(app, ["instance", "logs", "41", "--follow", "--limit", "2"], env=cli_env)
    assert result.exit_code == code, result.output
    assert result.stdout.splitlines() == ["line 1", "line 2", "line 3", "line 4"]
    assert "instance 41: running" in result.stderr
    assert f"instance 41 finished: {final}" in result.stderr


def test_logs_without_follow_prints_one_page(stub: StubServer, cli_env: dict[str, str]) -> None:
    page = {
        "items": [{"seq": 0, "time": "", "attempt": 0, "line": "hello\n"}],
        "total": 1,
        "offset": 0,
        "next_offset": 1,
    }
    stub.on("GET", "/api/v1/instances/41/logs", 200, page)
    result = runner.invoke(app, ["instance", "logs", "41", "--keyword", "hel"], env=cli_env)
    assert result.exit_code == 0
    assert result.stdout == "hello\n"
    assert stub.seen[0].query == [("keyword", "hel")]


def test_logs_with_timestamps_start_each_line_with_its_time(
    stub: StubServer, cli_env: dict[str, str]
) -> None:
    page = {
        "items": [{"seq": 3, "time": "2026-11-21T04:52:42.004Z", "attempt": 0, "line": "hi"}],
        "total": 1,
        "offset": 0,
        "next_offset": 1,
    }
    stub.on("GET", "/api/v1/instances/41/logs", 200, page)
    result = runner.invoke(app, ["instance", "logs", "41", "-t"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-11-21T04:52:42.004Z  hi\n"


def test_group_create_shows_the_app_key(stub: StubServer, cli_env: dict[str, str]) -> None:
    group = {"namespace": "default", "group_id": "g1", "app_key": "K3y", "app_name": ""}
    stub.on("POST", "/api/v1/namespaces/default/groups", 201, group)
    result = runner.invoke(app, ["group", "create", "g1"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "K3y" in result.stdout
    assert stub.seen[0].body == {"group_id": "g1"}


def test_messages_are_printed_verbatim(stub: StubServer, cli_env: dict[str, str]) -> None:
    error = {"code": "InvalidParameter", "message": "name: '[/b] :x:' is not allowed"}
    stub.on("GET", "/api/v1/jobs/3", 400, {"error": error})
    result = runner.invoke(app, ["job", "get", "3"], env=cli_env)
    assert result.exit_code == 1
    assert result.stderr == "error: name: '[/b] :x:' is not allowed\n"
