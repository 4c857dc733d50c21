"""Fixtures: a recording reporter and a started in-process worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from worker_support import RecordingReporter

from tickwork.worker.inprocess import InProcessWorker


@pytest.fixture
def reporter() -> RecordingReporter:
    return RecordingReporter()


@pytest.fixture
async def worker(reporter: RecordingReporter) -> AsyncIterator[InProcessWorker]:
    worker = InProcessWorker(concurrency=8, kill_grace=1.0)
    await worker.start(reporter)
    yield worker
    await worker.stop(grace=0)
