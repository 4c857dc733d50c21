"""``tickwork cron next``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tickwork.cli.cron import cron_app

runner = CliRunner()


def test_next_fire_times() -> None:
    result = runner.invoke(
        cron_app,
        [
            "next",
            "0 30 2 * * ?",
            "--timezone",
            "America/New_York",
            "--after",
            "2026-03-07T00:00:00Z",
            "--count",
            "3",
        ],
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2026-03-07T07:30:00Z",
        "2026-03-09T06:30:00Z",
        "2026-03-10T06:30:00Z",
    ]


def test_json_and_offsets() -> None:
    result = runner.invoke(
        cron_app,
        ["next", "2 30 12 * * ?", "--tz", "Asia/Shanghai", "--after", "2026-11-21T12:00:00+08:00"]
        + ["--json"],
    )
    assert result.exit_code == 0
    times = json.loads(result.stdout)
    assert times[0] == "2026-11-21T04:30:02Z"
    assert len(times) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["next", "0 0 0 ? * FOO"], "error: invalid day-of-week 'FOO' at position 10"),
        (["next", "0 0 0 * * ?", "--after", "2026-01-01T00:00:00"], "has no offset"),
        (["next", "0 0 0 * * ?", "--after", "yesterday"], "invalid --after"),
        (["next", "0 0 0 * * ?", "--timezone", "Nowhere/City"], "unknown timezone"),
        (["next", "0 0 0 * * ?", "--count", "0"], "invalid --count"),
    ],
)
def test_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    result = runner.invoke(cron_app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _tickwork() -> str | None:
    local = Path(sys.executable).with_name("tickwork")
    return str(local) if local.exists() else shutil.which("tickwork")


def test_as_a_subprocess() -> None:
    command = _tickwork()
    if command is None:
        pytest.skip("the tickwork command is not installed")
    done = subprocess.run(
        [command, "cron", "next", "0 0 12 ? * 6L", "--after", "2026-01-01T00:00:00Z", "-n", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"]
    bad = subprocess.run(
        [command, "cron", "next", "0 0 12 * * *"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr
