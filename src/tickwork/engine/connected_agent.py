"""One worker agent connected to this server, as ``AgentHub`` (engine/agents.py) knows it:
who it is, what it declared, and what it holds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.abc import TaskKey
from tickwork.worker.messages import ServerMessage

__all__ = ["Agent"]


@dataclass(slots=True, eq=False)
class Agent:
    """One connected ``tickwork worker``."""

    worker_id: str
    namespace: str
    group_id: str
    address: str
    labels: tuple[str, ...] = ()
    version: str = ""
    concurrency: int = 1
    job_types: frozenset[str] = OWN_TYPE_NAMES  # what it runs, as it declared
    running: int = 0  # as the agent last said
    metrics: WorkerMetrics | None = None  # as its last heartbeat said (None: it says none)
    ip: str = ""  # the address the server saw it connect from
    draining: bool = False  # takes no more runs
    connected_at: int = 0
    last_seen: float = field(default_factory=time.monotonic)  # the hub's clock
    outbox: list[ServerMessage] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    holds: dict[int, int] = field(default_factory=dict)  # instance id -> attempt
    # runs sent whose ``started`` has not come yet: instance id -> when sent (hub's clock)
    unconfirmed: dict[int, float] = field(default_factory=dict)
    ignored: int = 0  # reports on what it does not hold
    # tasks of distributed runs: (instance id, task id) -> (attempt, task attempt)
    tasks: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def send(self, message: ServerMessage) -> None:
        self.outbox.append(message)
        self.wake.set()

    @property
    def load(self) -> float:
        return (len(self.holds) + len(self.tasks) + 0.5) / max(self.concurrency, 1)

    @property
    def identity(self) -> tuple[str, str, str]:
        """Who the agent is: a worker id within its app group (another group's worker
        using the same id is another worker)."""
        return (self.namespace, self.group_id, self.worker_id)

    def speaks_for(
        self, instance_id: int, attempt: int, task: TaskKey | None, *, or_its_tasks: bool = False
    ) -> bool:
        """Whether that attempt (or task attempt) was handed to this agent: a worker
        reports only on what it was given. ``or_its_tasks``: a report naming no task (a log
        line) may also come from a task of that attempt the agent holds."""
        if task is not None:
            return self.tasks.get((instance_id, task[0])) == (attempt, task[1])
        if self.holds.get(instance_id) == attempt:
            return True
        return or_its_tasks and any(
            k[0] == instance_id and v[0] == attempt for k, v in self.tasks.items()
        )
