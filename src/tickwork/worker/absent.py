"""The worker of a server started with ``--no-worker``: there is nobody to run jobs here.

The engine's RoutingWorker sends runs to worker agents and, when none is live, lets them wait
for one (``worker_wait_s``); it never hands a run to this worker (its address is empty). Were
one handed over anyway, it fails at once with a clear result, so nothing waits forever.
"""

from __future__ import annotations

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.worker.abc import RunOutcome, RunReporter, RunRequest

NO_WORKER_RESULT = (
    "no worker available: the server runs with --no-worker and no worker agent can take runs"
)


class AbsentWorker:
    def __init__(self) -> None:
        self._reporter: RunReporter | None = None

    @property
    def address(self) -> str:
        return ""

    async def start(self, reporter: RunReporter) -> None:
        self._reporter = reporter

    async def stop(self, grace: float) -> None:
        return None

    def submit(self, request: RunRequest) -> None:
        if self._reporter is not None:
            self._reporter.finished(
                request.instance_id,
                request.attempt,
                RunOutcome(InstanceStatus.FAILED, NO_WORKER_RESULT),
                now_ms(),
            )

    def kill(self, instance_id: int, reason: str) -> bool:
        return False

    def running(self) -> int:
        return 0
