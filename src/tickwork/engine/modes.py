"""The distributed execution modes: which tasks a run is made of, and its outcome.

- broadcast: every live worker of the group (when the run starts) runs the job once; a
  processor's ``pre_process`` runs once before, ``post_process`` once after, with every
  worker's result. Success when every worker succeeded.
- sharding: the job's parameters name static shards (``0=a,1=b``); each shard is a task,
  spread over the workers and retried on its own. Success when every shard succeeded.
- parallel, grid, batch (map-reduce): the root task maps subtasks, any subtask may map more;
  once all ended, ``reduce`` gets every result and status. Success when every subtask and the
  reduce succeeded.

A task lost with its worker runs again elsewhere (a broadcast part, pinned to its worker,
fails instead, and the instance's outcome then says it was lost, so that the engine's system
retry applies; so does a lost root task, whose mapping cannot be replayed).
"""

from __future__ import annotations

from abc import abstractmethod

from tickwork.domain.enums import ExecuteMode, InstanceStatus
from tickwork.domain.errors import TickworkError
from tickwork.domain.job_types import ROOT_TASK_NAME, is_processor_job
from tickwork.domain.models import Job
from tickwork.domain.sharding import parse_shards
from tickwork.engine.tasks import MasterHooks, Task, TaskDispatch, TaskMaster
from tickwork.engine.timers import Timers
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey, TaskPhase

__all__ = ["BroadcastMaster", "MapReduceMaster", "ShardingMaster", "create_master"]

MAP_MODES = frozenset({ExecuteMode.PARALLEL, ExecuteMode.GRID, ExecuteMode.BATCH})


def is_processor(job: Job) -> bool:
    return is_processor_job(job.job_type, job.content, job.class_name)


def _summary(what: str, tasks: list[Task]) -> str:
    failed = [t for t in tasks if t.status != InstanceStatus.SUCCESS]
    if not failed:
        return f"{len(tasks)} of {len(tasks)} {what} succeeded"
    shown = "; ".join(f"{t.label}: {t.result[:100]}" for t in failed[:5])
    more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
    return f"{len(failed)} of {len(tasks)} {what} failed: {shown}{more}"


class _PhasedMaster(TaskMaster):
    """PRE (processors) -> parts -> POST (processors) -> outcome."""

    what = "parts"

    def __init__(
        self,
        request: RunRequest,
        job: Job,
        dispatch: TaskDispatch,
        hooks: MasterHooks,
        timers: Timers | None = None,
    ) -> None:
        super().__init__(request, job, dispatch, hooks, timers)
        self.processor = is_processor(job)
        self.phase = "pre"
        self.parts: list[Task] = []
        self.lost_parts = 0

    def begin(self) -> None:
        if self.processor:
            self.add(Task(0, TaskPhase.PRE, label="pre_process"))
        else:
            self.start_parts()

    def start_parts(self) -> None:
        self.phase = "parts"
        self.make_parts()

    @abstractmethod
    def make_parts(self) -> None:
        """Queue the parts (one per worker, or one per shard)."""

    def task_done(self, task: Task) -> None:
        if task.phase == TaskPhase.PRE:
            if task.status != InstanceStatus.SUCCESS:
                self.conclude(
                    RunOutcome(InstanceStatus.FAILED, f"pre_process failed: {task.result}")
                )
                return
            self.start_parts()
            return
        if task.phase == TaskPhase.PART:
            self.part_done(task)
            if self.parts and self.all_counted_final():
                self.parts_over()
            return
        if task.phase == TaskPhase.POST:
            self.finish(task)

    def part_done(self, task: Task) -> None:
        if task.status != InstanceStatus.SUCCESS:
            self.log_failure(task)

    def parts_over(self) -> None:
        if self.processor:
            self.phase = "post"
            self.add(Task(len(self.tasks) + 1, TaskPhase.POST, label="post_process"))
        else:
            self.finish(None)

    def finish(self, post: Task | None) -> None:
        summary = _summary(self.what, self.parts)
        lost = self.lost_parts > 0
        if post is not None and post.status != InstanceStatus.SUCCESS:
            self.conclude(
                RunOutcome(InstanceStatus.FAILED, f"post_process failed: {post.result}", lost=lost)
            )
        elif any(t.status != InstanceStatus.SUCCESS for t in self.parts):
            self.conclude(RunOutcome(InstanceStatus.FAILED, summary, lost=lost))
        else:
            result = post.result if post is not None and post.result else summary
            self.conclude(RunOutcome(InstanceStatus.SUCCESS, result))


class BroadcastMaster(_PhasedMaster):
    what = "workers"

    def make_parts(self) -> None:
        targets = self.dispatch.task_targets(self.request)
        if not targets:
            self.await_workers(self.start_parts)
            return
        for number, address in enumerate(sorted(targets), start=1):
            part = Task(number, TaskPhase.PART, label=address, pin=address)
            self.parts.append(self.add(part, counted=True))
        self.log(f"broadcast to {len(targets)} worker(s): {', '.join(sorted(targets))}")
        self.pump()

    def task_lost(self, task: Task, outcome: RunOutcome) -> None:
        if task.phase != TaskPhase.PART:
            super().task_lost(task, outcome)
            return
        self.lost_parts += 1
        self.record(task, InstanceStatus.FAILED, outcome.result)
        self.task_done(task)

    def pin_gone(self, task: Task) -> None:
        self.task_lost(
            task,
            RunOutcome(InstanceStatus.FAILED, f"worker {task.pin} is no longer live", lost=True),
        )

    def part_done(self, task: Task) -> None:
        self.log(f"worker {task.pin}: {task.status.name.lower()}: {task.result[:500]}")


class ShardingMaster(_PhasedMaster):
    what = "shards"

    def make_parts(self) -> None:
        try:
            shards = parse_shards(self.job.parameters)
        except TickworkError as exc:
            self.conclude(RunOutcome(InstanceStatus.FAILED, exc.message))
            return
        for number, shard in enumerate(shards, start=1):
            part = Task(
                number,
                TaskPhase.PART,
                label=f"shard {shard.id}",
                sharding=(shard.id, len(shards), shard.parameter),
                consumers=self.job.consumer_size,
            )
            self.parts.append(self.add(part, counted=True))
        self.pump()

    def part_done(self, task: Task) -> None:
        self.log(f"{task.label} on {task.worker}: {task.status.name.lower()}: {task.result[:300]}")


class MapReduceMaster(TaskMaster):
    """ROOT -> mapped SUB tasks -> REDUCE -> outcome."""

    def __init__(
        self,
        request: RunRequest,
        job: Job,
        dispatch: TaskDispatch,
        hooks: MasterHooks,
        timers: Timers | None = None,
    ) -> None:
        super().__init__(request, job, dispatch, hooks, timers)
        self.phase = "root"
        self.root = Task(0, TaskPhase.ROOT, name=ROOT_TASK_NAME, label="root")
        self.next_id = 1

    def begin(self) -> None:
        self.add(self.root)

    def mapped(self, key: TaskKey, task_name: str, bodies: list[str]) -> None:
        parent = self.tasks.get(key[0])
        if (
            self.closed
            or self.killing is not None
            or parent is None
            or parent.attempt != key[1]
            or parent.status != InstanceStatus.RUNNING
            or parent.phase not in (TaskPhase.ROOT, TaskPhase.SUB)
        ):
            return
        if self.phase == "root":
            self.phase = "map"
        for body in bodies:
            task_id = self.next_id
            self.next_id += 1
            sub = Task(
                task_id,
                TaskPhase.SUB,
                name=task_name,
                body=str(body),
                label=f"task {task_id}",
                consumers=self.job.consumer_size,
            )
            self.add(sub, counted=True)
        self.pump()

    def task_lost(self, task: Task, outcome: RunOutcome) -> None:
        if task.phase == TaskPhase.ROOT:
            self.abandon(
                RunOutcome(
                    InstanceStatus.FAILED,
                    f"the root task was lost ({outcome.result}); the run starts over",
                    lost=True,
                )
            )
            return
        super().task_lost(task, outcome)

    def task_done(self, task: Task) -> None:
        if task.phase == TaskPhase.ROOT and task.status != InstanceStatus.SUCCESS:
            self.abandon(RunOutcome(InstanceStatus.FAILED, f"the root task failed: {task.result}"))
            return
        if task.phase == TaskPhase.SUB and task.status != InstanceStatus.SUCCESS:
            self.log_failure(task)
        if task.phase == TaskPhase.REDUCE:
            self.finish(task)
            return
        if self.root.final and self.all_counted_final() and self.phase != "reduce":
            self.phase = "reduce"
            elapsed = (self._timers.now_ms() - self.started_at) / 1000
            self.log(
                f"{self.counts.total} subtask(s) done in {elapsed:.1f} s: "
                f"{self.counts.succeeded} succeeded, {self.counts.failed} failed; reducing"
            )
            self.add(Task(self.next_id, TaskPhase.REDUCE, label="reduce"))

    def finish(self, reduce: Task) -> None:
        failed = self.counts.failed
        if reduce.status != InstanceStatus.SUCCESS:
            self.conclude(RunOutcome(InstanceStatus.FAILED, f"reduce failed: {reduce.result}"))
        elif failed:
            self.conclude(
                RunOutcome(
                    InstanceStatus.FAILED,
                    f"{failed} of {self.counts.total} subtask(s) failed; reduce: {reduce.result}",
                )
            )
        else:
            self.conclude(
                RunOutcome(
                    InstanceStatus.SUCCESS,
                    reduce.result or f"{self.counts.total} subtask(s) succeeded",
                )
            )


def create_master(
    request: RunRequest,
    job: Job,
    dispatch: TaskDispatch,
    hooks: MasterHooks,
    timers: Timers | None = None,
) -> TaskMaster:
    mode = job.execute_mode
    if mode == ExecuteMode.BROADCAST:
        return BroadcastMaster(request, job, dispatch, hooks, timers)
    if mode == ExecuteMode.SHARDING:
        return ShardingMaster(request, job, dispatch, hooks, timers)
    if mode in MAP_MODES:
        return MapReduceMaster(request, job, dispatch, hooks, timers)
    raise ValueError(f"execute_mode {mode.value!r} has no master")
