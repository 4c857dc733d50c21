"""The master of a distributed run: it splits one instance into tasks, hands them to the
workers of the job's app group in pages, retries them and gathers their outcomes.

``TaskMaster`` holds what every mode shares: the task table, dispatch (least busy worker
first, at most ``PageSize`` tasks per message, at most ``QueueSize`` and
``DispatcherSize`` x ``PageSize`` tasks outstanding per worker), retries of a failed task
(``TaskMaxAttempt`` after ``TaskAttemptInterval``), moving a lost worker's tasks elsewhere,
waiting for a worker when none is live, kill, and the instance's progress. The modes
(``engine/modes.py``) say which tasks exist and what the instance's outcome is.

It lives on the server's event loop and never waits: tasks go out through ``TaskDispatch``
(the engine's routing worker) and reports come back through ``task_finished``/``mapped``.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.models import Job
from tickwork.engine.timers import Cancellable, LoopTimers, Timers
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey, TaskPhase, TaskSpec

log = logging.getLogger(__name__)

__all__ = ["MasterHooks", "Task", "TaskDispatch", "TaskMaster"]

PROGRESS_WORKERS = 50
"""The progress counts tasks per worker for at most this many workers (the busiest)."""
PROGRESS_INTERVAL_S = 0.5
"""The instance's progress is written at most this often while tasks run."""
FAILURE_LOG_LIMIT = 100
"""At most this many failed tasks get a log line of their own."""


class TaskDispatch(Protocol):
    """Where a master's tasks go (the engine's ``RoutingWorker``)."""

    wait_s: float

    def task_targets(self, request: RunRequest) -> list[str]: ...

    def refusal_of(self, request: RunRequest) -> str | None: ...

    def send_tasks(self, address: str, requests: list[RunRequest]) -> bool: ...

    def kill_tasks(
        self, address: str, namespace: str, group_id: str, iid: int, reason: str
    ) -> None: ...

    def worker_joined(self, listener: Callable[[Any], None]) -> Callable[[], None]: ...

    def missed(self) -> None: ...


@dataclass(slots=True, frozen=True)
class MasterHooks:
    """What a master tells the engine about its instance."""

    done: Callable[[RunOutcome, int], None]  # the outcome of the whole run
    log: Callable[[str], None]  # an engine line in the instance's log
    progress: Callable[[str], None]  # the instance's progress text
    workers: Callable[[str], None]  # which workers ran it
    task_ended: Callable[[InstanceStatus], None] = lambda status: None  # for metrics
    task_retried: Callable[[], None] = lambda: None  # for metrics


@dataclass(slots=True, eq=False)
class Task:
    task_id: int
    phase: TaskPhase
    name: str = ""
    body: str = ""
    label: str = ""
    sharding: tuple[int, int, str] | None = None  # (sharding_id, sharding_num, parameter)
    pin: str = ""  # runs on this worker only (a part of a broadcast)
    consumers: int = 0
    attempt: int = 0  # which dispatch is (or will be) out
    failures: int = 0  # own failures so far (TaskMaxAttempt counts these)
    status: InstanceStatus = InstanceStatus.WAITING
    worker: str = ""
    result: str = ""
    timer: Cancellable | None = None

    @property
    def final(self) -> bool:
        return self.status.is_final


@dataclass(slots=True)
class _Tally:
    succeeded: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Counts:
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    by_worker: dict[str, _Tally] = field(default_factory=dict)


class TaskMaster(ABC):
    """One distributed run (one attempt of one instance)."""

    retried_phases: frozenset[TaskPhase] = frozenset({TaskPhase.PART, TaskPhase.SUB})

    def __init__(
        self,
        request: RunRequest,
        job: Job,
        dispatch: TaskDispatch,
        hooks: MasterHooks,
        timers: Timers | None = None,
    ) -> None:
        self._timers = timers or LoopTimers()  # injected: unit tests drive a fake clock
        self.request = request
        self.job = job
        self.dispatch = dispatch
        self.hooks = hooks
        self.tasks: dict[int, Task] = {}
        self.pending: deque[Task] = deque()
        self.outstanding: dict[str, dict[int, Task]] = {}
        self.counts = _Counts()  # of the counted tasks (parts, subtasks)
        self.killing: str | None = None
        self.closed = False
        self.phase = ""  # what the mode is at, shown in the progress
        self.started_at = self._timers.now_ms()
        self._workers_seen: set[str] = set()
        self._failures_logged = 0
        self._wait_timer: Cancellable | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._then: Callable[[], None] | None = None
        self._progress_timer: Cancellable | None = None

    # -- what modes implement ----------------------------------------------------------------
    @abstractmethod
    def begin(self) -> None:
        """Queue the first tasks."""

    @abstractmethod
    def task_done(self, task: Task) -> None:
        """A task reached its final status: queue what follows, or ``conclude``."""

    def task_lost(self, task: Task, outcome: RunOutcome) -> None:
        """A task's worker went away: by default it runs again at once elsewhere."""
        self.log(f"{task.label or task.phase.value} was lost ({outcome.result}); sent again")
        self.requeue(task, front=True)

    def mapped(self, key: TaskKey, task_name: str, bodies: list[str]) -> None:
        """Subtasks mapped by a task (map modes only)."""
        self.log(f"ignored {len(bodies)} subtask(s) mapped in a {self.mode} run")

    @property
    def mode(self) -> str:
        return self.job.execute_mode.value

    # -- the run -----------------------------------------------------------------------------
    def start(self) -> None:
        self.begin()
        self.pump()

    def add(self, task: Task, *, counted: bool = False) -> Task:
        self.tasks[task.task_id] = task
        if counted:
            self.counts.total += 1
        self.pending.append(task)
        return task

    def requeue(self, task: Task, *, front: bool = False) -> None:
        task.attempt += 1
        task.status = InstanceStatus.WAITING
        if front:
            self.pending.appendleft(task)
        else:
            self.pending.append(task)

    def pump(self) -> None:
        """Send pending tasks to workers, in pages, within each worker's bound."""
        if self.closed or self.killing is not None or not self.pending:
            return
        targets = self.dispatch.task_targets(self.request)
        if not targets:
            self.await_workers(self.pump)
            return
        self._stop_waiting()
        while self.pending and targets:
            head = self.pending[0]
            if head.pin:
                self.pending.popleft()
                if head.pin in targets:
                    if not self._send(head.pin, [head]):
                        targets.remove(head.pin)
                else:
                    self.pin_gone(head)
                continue
            address = min(targets, key=lambda a: len(self.outstanding.get(a, ())))
            room = self._room(address, head)
            if room <= 0:
                break
            room = min(room, -(-len(self.pending) // len(targets)))  # a fair share each
            page: list[Task] = []
            while self.pending and len(page) < room and not self.pending[0].pin:
                page.append(self.pending.popleft())
            if not self._send(address, page):
                targets.remove(address)
        self.progress_soon()

    def _room(self, address: str, task: Task) -> int:
        job = self.job
        if task.consumers <= 0:
            return max(job.page_size, 1)
        bound = min(job.queue_size, job.dispatcher_size * job.page_size)
        held = len(self.outstanding.get(address, ()))
        free = bound - held
        if free < job.page_size and held >= job.page_size:
            return 0  # refill in whole pages while the worker is still busy
        return min(job.page_size, free)

    def _send(self, address: str, page: list[Task]) -> bool:
        requests = [self._request(task) for task in page]
        if not self.dispatch.send_tasks(address, requests):
            self.pending.extendleft(reversed(page))
            return False
        held = self.outstanding.setdefault(address, {})
        for task in page:
            task.status = InstanceStatus.RUNNING
            task.worker = address
            held[task.task_id] = task
        self._workers_seen.add(address)
        return True

    def _request(self, task: Task) -> RunRequest:
        spec = TaskSpec(
            task_id=task.task_id,
            phase=task.phase,
            name=task.name,
            body=task.body,
            attempt=task.attempt,
            consumers=task.consumers,
            label=task.label,
            **self.gathered(task),
        )
        if task.sharding is None:
            return replace(self.request, task=spec)
        shard_id, shard_num, parameter = task.sharding
        return replace(
            self.request,
            task=spec,
            sharding_id=shard_id,
            sharding_num=shard_num,
            sharding_parameter=parameter,
        )

    def gathered(self, task: Task) -> dict[str, Any]:
        """``results``/``statuses`` of the counted tasks, for REDUCE and POST tasks."""
        if task.phase not in (TaskPhase.REDUCE, TaskPhase.POST):
            return {}
        counted = [t for t in self.tasks.values() if t.phase in self.retried_phases]
        return {
            "results": tuple((t.task_id, t.result) for t in counted),
            "statuses": tuple((t.task_id, int(t.status)) for t in counted),
        }

    def pin_gone(self, task: Task) -> None:
        """The worker a task is pinned to is no longer live."""
        self.record(
            task,
            InstanceStatus.FAILED,
            f"worker {task.pin} is no longer live",
        )
        self.task_done(task)

    # -- waiting for workers -----------------------------------------------------------------
    def await_workers(self, then: Callable[[], None]) -> None:
        """No worker may take the tasks now: call ``then`` when an agent joins; with nothing
        out, give up after the wait bound (or at once when live workers refuse the run)."""
        self._then = then
        if self._unsubscribe is None:
            self._unsubscribe = self.dispatch.worker_joined(self._joined)
        if self._wait_timer is not None or any(self.outstanding.values()):
            return
        refusal = self.dispatch.refusal_of(self.request)
        if refusal is not None:
            self.conclude(RunOutcome(InstanceStatus.FAILED, refusal))
            return
        self.log(f"waiting up to {self.dispatch.wait_s:g} s for a worker of the app group")
        self._wait_timer = self._timers.call_later(self.dispatch.wait_s, self._give_up)

    def _joined(self, agent: Any) -> None:
        then = self._then
        if then is not None and not self.closed:
            self._timers.call_soon(then)

    def _give_up(self) -> None:
        self._wait_timer = None
        if self.closed:
            return
        self.dispatch.missed()
        self.conclude(
            RunOutcome(
                InstanceStatus.FAILED,
                f"no worker available: no live worker of app group {self.request.namespace}/"
                f"{self.request.group_id} came within {self.dispatch.wait_s:g} s",
            )
        )

    def _stop_waiting(self) -> None:
        self._then = None
        if self._wait_timer is not None:
            self._wait_timer.cancel()
            self._wait_timer = None

    # -- reports -----------------------------------------------------------------------------
    def task_finished(self, key: TaskKey, outcome: RunOutcome, at: int) -> None:
        task = self.tasks.get(key[0])
        if task is None or task.attempt != key[1] or task.status != InstanceStatus.RUNNING:
            return  # a report of an earlier dispatch, or of a task given up on
        self.outstanding.get(task.worker, {}).pop(task.task_id, None)
        if self.killing is not None:
            self.record(task, InstanceStatus.KILLED, self.killing)
            if not any(self.outstanding.values()):
                self.conclude(RunOutcome(InstanceStatus.KILLED, self.killing))
            return
        if outcome.lost:
            task.status = InstanceStatus.WAITING
            self.task_lost(task, outcome)
        elif (
            outcome.status != InstanceStatus.SUCCESS
            and task.phase in self.retried_phases
            and task.failures < self.job.task_max_attempt
        ):
            self._retry(task, outcome)
        else:
            status = outcome.status if outcome.status.is_final else InstanceStatus.FAILED
            self.record(task, status, outcome.result)
            self.task_done(task)
        self.pump()

    def _retry(self, task: Task, outcome: RunOutcome) -> None:
        self.hooks.task_retried()
        task.failures += 1
        delay = float(self.job.task_attempt_interval)
        self.log(
            f"{task.label or task.phase.value} failed on {task.worker} ({outcome.result[:200]}); "
            f"retry {task.failures} of {self.job.task_max_attempt} in {delay:g} s"
        )
        task.status = InstanceStatus.WAITING

        def again() -> None:
            task.timer = None
            if not self.closed and self.killing is None:
                self.requeue(task)
                self.pump()

        if delay <= 0:
            self.requeue(task)
        else:
            task.timer = self._timers.call_later(delay, again)

    def record(self, task: Task, status: InstanceStatus, result: str) -> None:
        """Give ``task`` its final status."""
        task.status = status
        task.result = result
        self.hooks.task_ended(status)
        if task.phase not in self.retried_phases:
            return
        tally = self.counts.by_worker.setdefault(task.worker or "(none)", _Tally())
        if status == InstanceStatus.SUCCESS:
            self.counts.succeeded += 1
            tally.succeeded += 1
        else:
            self.counts.failed += 1
            tally.failed += 1

    def log_failure(self, task: Task) -> None:
        if self._failures_logged < FAILURE_LOG_LIMIT:
            self.log(
                f"{task.label} {task.status.name.lower()} on {task.worker or '(no worker)'}: "
                f"{task.result[:300]}"
            )
        elif self._failures_logged == FAILURE_LOG_LIMIT:
            self.log("more tasks failed; the progress counts them all")
        self._failures_logged += 1

    def counted(self) -> Iterable[Task]:
        return (t for t in self.tasks.values() if t.phase in self.retried_phases)

    def all_counted_final(self) -> bool:
        return self.counts.succeeded + self.counts.failed >= self.counts.total

    # -- the end -----------------------------------------------------------------------------
    def kill(self, reason: str) -> None:
        """Stop the run: pending tasks are dropped and running ones killed; the outcome
        comes once every worker answered (at once when nothing runs)."""
        if self.closed or self.killing is not None:
            return
        self.killing = reason
        self._cancel_timers()
        self.pending.clear()
        if not self._kill_outstanding(reason):
            self.conclude(RunOutcome(InstanceStatus.KILLED, reason))

    def _kill_outstanding(self, reason: str) -> bool:
        """Tell every worker running tasks of this run to kill them; False if none runs."""
        busy = [address for address, held in self.outstanding.items() if held]
        for address in busy:
            self.dispatch.kill_tasks(
                address,
                self.request.namespace,
                self.request.group_id,
                self.request.instance_id,
                reason,
            )
        return bool(busy)

    def abandon(self, outcome: RunOutcome) -> None:
        """End the run now with ``outcome``, killing what still runs (no answer awaited)."""
        self._kill_outstanding(outcome.result or "the run ended")
        for held in self.outstanding.values():
            for task in held.values():
                task.status = InstanceStatus.KILLED
            held.clear()
        self.pending.clear()
        self.conclude(outcome)

    def conclude(self, outcome: RunOutcome) -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_timers()
        self._write_progress()
        if self._workers_seen:
            self.hooks.workers(", ".join(sorted(self._workers_seen)))
        self.hooks.done(outcome, self._timers.now_ms())

    def _cancel_timers(self) -> None:
        self._stop_waiting()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._progress_timer is not None:
            self._progress_timer.cancel()
            self._progress_timer = None
        for task in self.tasks.values():
            if task.timer is not None:
                task.timer.cancel()
                task.timer = None

    # -- what users see ----------------------------------------------------------------------
    def log(self, text: str) -> None:
        self.hooks.log(text)

    def progress_soon(self) -> None:
        if self._progress_timer is None and not self.closed:
            self._progress_timer = self._timers.call_later(PROGRESS_INTERVAL_S, self._progress_due)

    def _progress_due(self) -> None:
        self._progress_timer = None
        if not self.closed:
            self._write_progress()

    def _write_progress(self) -> None:
        counts = self.counts
        running = sum(len(held) for held in self.outstanding.values())
        progress: dict[str, Any] = {
            "mode": self.mode,
            "phase": self.phase,
            "total": counts.total,
            "done": counts.succeeded + counts.failed,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "running": running,
            "waiting": len(self.pending),
        }
        busiest = sorted(
            counts.by_worker.items(), key=lambda item: -(item[1].succeeded + item[1].failed)
        )[:PROGRESS_WORKERS]
        progress["workers"] = {
            address: {"succeeded": t.succeeded, "failed": t.failed}
            for address, t in sorted(busiest)
        }
        if len(counts.by_worker) > PROGRESS_WORKERS:
            progress["workers_total"] = len(counts.by_worker)
        self.hooks.progress(json.dumps(progress, separators=(",", ":")))
