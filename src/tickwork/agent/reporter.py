"""The ``RunReporter`` of the agent's worker: every report becomes a message to send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from tickwork.agent.outbox import Outbox
from tickwork.domain.enums import InstanceStatus
from tickwork.worker.abc import RunOutcome, TaskKey
from tickwork.worker.messages import Finished, Log, Mapped, Progress, Started

__all__ = ["AgentReporter"]


def _never() -> bool:
    return False


class AgentReporter:
    def __init__(self, outbox: Outbox, stood_still: Callable[[], bool] = _never) -> None:
        """``stood_still``: whether the agent's loop stood still just now and has not yet
        noticed (``ServerTouch.unseen_gap``): a run that failed then was most likely killed
        by the guardian while the agent was frozen, and is reported lost, not failed."""
        self._outbox = outbox
        self._stood_still = stood_still

    def log_room(self) -> asyncio.Future[None] | None:
        """``LogRoom``: many log lines wait to be sent (see ``Outbox.log_room``)."""
        return self._outbox.log_room()

    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None:
        self._outbox.put(Started(instance_id, attempt, at, task))

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None:
        self._outbox.put(Log(instance_id, attempt, at, line))

    def progress(self, instance_id: int, attempt: int, progress: str) -> None:
        self._outbox.put(Progress(instance_id, attempt, progress))

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None:
        if (
            outcome.status is not InstanceStatus.SUCCESS
            and not outcome.lost
            and self._stood_still()
        ):
            # a success is a success however late; a failure seen on waking is the freeze's
            outcome = replace(
                outcome,
                lost=True,
                result=f"ended while its worker stood still (frozen): {outcome.result}"[:1000],
            )
        self._outbox.put(Finished(instance_id, attempt, outcome, at, task))

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None:
        self._outbox.put(Mapped(instance_id, attempt, task, task_name, bodies))
