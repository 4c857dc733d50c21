"""What a run's process inherits: the worker's environment without tickwork's secrets and
settings, then its own variables."""

from __future__ import annotations

import pytest
from worker_support import SUCCESS, RecordingReporter, make_request, run_job

from tickwork.domain.enums import JobType
from tickwork.worker.inprocess import InProcessWorker

SECRETS = {
    "TICKWORK_ADMIN_KEY_ID": "admin",
    "TICKWORK_ADMIN_KEY_SECRET": "admin-secret-0123456789",
    "TICKWORK_DATABASE_URL": "postgresql://tw:db-password@db/tickwork",
    "TICKWORK_APP_KEY": "app-key-0123456789",
    "PGPASSWORD": "db-password",
}


@pytest.fixture
def server_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a server (or agent) that was given its secrets in variables."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEPT_VARIABLE", "kept")


def variables_of(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.mark.usefixtures("server_environment")
@pytest.mark.parametrize("prepared", [False, True], ids=["started-when-due", "prepared"])
async def test_a_script_sees_no_secret_of_the_worker_but_its_own_variables(
    worker: InProcessWorker, reporter: RecordingReporter, prepared: bool
) -> None:
    request = make_request(content="env\n")
    if prepared:
        worker.prepare(request)
    worker.submit(request)
    assert (await reporter.wait_outcome(request.instance_id)).status == SUCCESS
    variables = variables_of(reporter.lines(request.instance_id))
    assert not SECRETS.keys() & variables.keys()
    assert not any(value in line for value in SECRETS.values() for line in variables.values())
    assert variables["KEPT_VARIABLE"] == "kept"
    assert variables["TICKWORK_JOB_INSTANCE_ID"] == str(request.instance_id)


@pytest.mark.usefixtures("server_environment")
async def test_a_command_sees_no_secret_but_the_variables_its_job_gives(
    worker: InProcessWorker, reporter: RecordingReporter
) -> None:
    outcome, lines = await run_job(
        worker,
        reporter,
        job_type=JobType.COMMAND,
        command="/usr/bin/env",
        envs=(("TICKWORK_CHOSEN_BY_THE_JOB", "yes"),),
    )
    assert outcome.status == SUCCESS
    variables = variables_of(lines)
    assert not SECRETS.keys() & variables.keys()
    assert variables["TICKWORK_CHOSEN_BY_THE_JOB"] == "yes"
