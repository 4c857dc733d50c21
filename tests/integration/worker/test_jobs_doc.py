"""The examples of docs/jobs.md run as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from worker_support import SUCCESS, RecordingReporter, make_request

from tickwork.domain.enums import JobType
from tickwork.worker.inprocess import InProcessWorker

DOC = Path(__file__).parents[3] / "docs" / "jobs.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_try_it_example_runs() -> None:
    script = _python_blocks()[-1]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "SUCCESS hello world"
    assert "log: working" in done.stdout


async def test_the_processor_example_runs(
    worker: InProcessWorker,
    reporter: RecordingReporter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = next(block for block in _python_blocks() if "class Cleanup" in block)
    package = tmp_path / "mycompany_doc_example"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text(example)
    monkeypatch.syspath_prepend(str(tmp_path))

    request = make_request(
        job_type=JobType.PROCESSOR,
        class_name="mycompany_doc_example.jobs:Cleanup",
        job_parameters="7",
    )
    worker.submit(request)
    outcome = await reporter.wait_outcome(request.instance_id)

    assert (outcome.status, outcome.result) == (SUCCESS, "cleaned up to 7 days")
    assert reporter.lines(request.instance_id)[0].startswith(
        "INFO removing files older than 7 days (data time 2023-11-14 22:13:20+00:00)"
    )
    assert reporter.recorded.progress[-1][2] == "10/10"
