"""The lifecycle of instances once they exist: release at the due instant, MaxConcurrency,
hand-over to the worker, retries, timeouts, stop, and the final outcome.

Everything here runs on the event loop and never waits on the store: state changes go to the
batch writer, so releasing a fire costs no database round trip.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tickwork.clock import loop_time_for, now_ms
from tickwork.domain.enums import ExecuteMode, InstanceStatus, TriggerType
from tickwork.domain.log_cap import LogCut, LogLimits
from tickwork.domain.models import Designation, Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.modes import create_master
from tickwork.engine.routing import effective_designation
from tickwork.engine.run_logs import RunLogs
from tickwork.engine.tasks import MasterHooks, TaskDispatch, TaskMaster
from tickwork.engine.writer import BatchWriter
from tickwork.worker.abc import RunOutcome, RunRequest, TaskKey, Worker

log = logging.getLogger(__name__)

RESULT_LIMIT = 1000
FENCE_RETRY_S = 0.2  # a fire held back while the lease is in doubt is tried again this often

BURST_START_WAIT_S = 0.02
"""How long the loop may wait, after handing a batch of due runs to the worker, for their
code to start before it goes on (their bookkeeping would otherwise compete for the GIL)."""

ENDED_REMEMBERED = 100_000
"""How many ended runs a manager remembers (so that a stale read never restarts one)."""

# (job, instance, end instant) of an instance that reached a final status
FinalListener = Callable[[Job, Instance, int], None]


@dataclass(slots=True, eq=False)
class Run:
    """An instance this engine holds: planned, running, or waiting for a retry."""

    instance: Instance
    job: Job
    attempt: int
    timer: asyncio.TimerHandle | None = None
    due_pending: bool = False  # waits in the batch of its due instant (``RunManager._due``)
    prepared_request: RunRequest | None = None  # what ``_prepare`` gave the worker,
    prepared_job: Job | None = None  # made from this version of the job
    prepare_timer: asyncio.TimerHandle | None = None
    prepared: bool = False  # the worker was asked to make it ready
    timeout_timer: asyncio.TimerHandle | None = None
    launched: bool = False  # handed to the worker, outcome not yet in
    released: bool = False  # past its due instant (counts under MaxConcurrency)
    stop_reason: str | None = None  # "stop" or "timeout" once a kill was asked
    stop_message: str = ""
    misfire: bool = False  # released late on purpose (misfire policy): no lateness sample
    designation: Designation | None = None  # this run's own (ExecuteJob), else the job's
    system_retry: bool = False  # rerun because its worker was lost (stored as trigger type 5;
    # the instance in memory keeps its first trigger type, which decides second_delay chaining)
    master: TaskMaster | None = None  # the current attempt of a distributed run
    log_cut: LogCut | None = None  # what the running attempt's log keeps (from its 1st line)
    # which share of the job's route strategy this attempt takes (drawn again on a retry)
    route_draw: float = field(default_factory=random.random)


class RunManager:
    def __init__(
        self,
        worker: Worker,
        writer: BatchWriter,
        metrics: EngineMetrics,
        job_lookup: Callable[[int], Job | None],
        prepare_ahead_ms: int = 0,
        tasks: TaskDispatch | None = None,
        fence: Callable[[], bool] = lambda: False,
        log_limits: LogLimits | None = None,
    ) -> None:
        self._worker = worker
        self._logs = RunLogs(writer, metrics, log_limits or LogLimits())
        self._fence = fence  # True: this server's lease is in doubt, hold fires back
        self._tasks = tasks  # where distributed runs send their tasks (None: none run)
        self._writer = writer
        self._metrics = metrics
        self._job_lookup = job_lookup
        self._prepare_ahead_ms = prepare_ahead_ms
        self._runs: dict[int, Run] = {}
        self._due: dict[int, list[Run]] = {}  # due instant (ms) -> its scheduled fires
        self._last_batch_at = 0  # when the last batch was released (epoch ms)
        # the last runs ended here, oldest first (an OrderedDict: dropping the oldest entry of
        # a plain dict scans the deleted slots before it, and took 7 % of the loop at scale)
        self._ended: OrderedDict[int, None] = OrderedDict()
        self._active: dict[int, set[int]] = {}  # job id -> released instance ids
        self._listeners: list[FinalListener] = []
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- wiring ------------------------------------------------------------------------------
    def on_final(self, listener: FinalListener) -> None:
        self._listeners.append(listener)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def holds(self, instance_id: int) -> bool:
        return instance_id in self._runs

    def holds_job(self, job_id: int) -> bool:
        """Does it hold any run (planned, running, retrying) of the job?"""
        return any(run.instance.job_id == job_id for run in self._runs.values())

    def ended_here(self, instance_id: int) -> bool:
        """The run ended here lately (its final status may not be stored yet)."""
        return instance_id in self._ended

    def active_count(self, job_id: int) -> int:
        return len(self._active.get(job_id, ()))

    def next_batch_within(self, now: int, span_ms: int) -> int | None:
        """The due instant of the next batch of fires within ``span_ms`` from ``now``, if
        any: work that would hold the loop (planning) waits until it is out."""
        soon = [due for due, runs in self._due.items() if now <= due <= now + span_ms and runs]
        return min(soon) if soon else None

    async def wait_out_fires(self, within_ms: int, after_ms: int) -> None:
        """Work that holds the loop for a while (a planning round, a step of pruning; SQLite
        writes on the loop's thread) calls this first: when a batch of fires is due within
        ``within_ms``, sleep until ``after_ms`` past it, so its release is not held up.
        Otherwise yield once, letting due timers run."""
        now = now_ms()
        due = self.next_batch_within(now, within_ms)
        await asyncio.sleep(0 if due is None else (due + after_ms - now) / 1000.0)

    def fires_busy(self, around_ms: int) -> bool:
        """Are fires due within ``around_ms``, or was a batch released less than half that
        long ago (its runs still starting)?"""
        now = now_ms()
        return (
            now - self._last_batch_at < around_ms // 2
            or self.next_batch_within(now, around_ms) is not None
        )

    def planned_count(self) -> int:
        return sum(1 for run in self._runs.values() if not run.released)

    # -- entry points ------------------------------------------------------------------------
    def arm(self, instance: Instance, job: Job, *, misfire: bool = False) -> None:
        """Release a scheduled fire at its due instant (at once if that has passed). An
        instance already held is left as it is (each entry point is idempotent)."""
        if instance.id in self._runs:
            return
        run = Run(instance=instance, job=job, attempt=instance.attempt, misfire=misfire)
        self._runs[instance.id] = run
        due = instance.schedule_time
        batch = self._due.get(due)
        if batch is None:  # one timer per due instant: its fires are released together
            batch = self._due[due] = []
            self.loop.call_at(loop_time_for(self.loop, due), self._release_due, due)
        batch.append(run)
        run.due_pending = True
        if self._prepare_ahead_ms > 0 and not misfire:
            run.prepare_timer = self.loop.call_at(
                loop_time_for(self.loop, instance.schedule_time - self._prepare_ahead_ms),
                self._prepare,
                run,
            )

    def _prepare(self, run: Run) -> None:
        """Shortly before the due instant: let the worker make the run ready, if it will
        start (enabled, under MaxConcurrency now)."""
        run.prepare_timer = None
        job = self._job_lookup(run.instance.job_id) or run.job
        if (
            job.enabled
            and job.execute_mode == ExecuteMode.STANDALONE
            and self.active_count(job.id) < job.max_concurrency
        ):
            run.job = job
            run.prepared = True
            run.prepared_request, run.prepared_job = self._request(run), job
            self._worker.prepare(run.prepared_request)

    def start_now(
        self, instance: Instance, job: Job, designation: Designation | None = None
    ) -> None:
        """Start an API, rerun or backfill instance now; MaxConcurrency does not hold it back.
        ``designation`` holds this run to some workers (else the job's designation does)."""
        if instance.id in self._runs:
            return
        run = Run(
            instance=instance,
            job=job,
            attempt=instance.attempt,
            designation=designation or instance.designation,
        )
        self._runs[instance.id] = run
        self._take_slot(run)
        self._launch(run)

    def resume_retry(self, instance: Instance, job: Job, delay_s: float) -> None:
        """Retry an instance (attempt + 1) after ``delay_s``, e.g. one lost in a crash. It
        holds no MaxConcurrency slot: a fire due meanwhile must not be rejected because a
        server went away."""
        if instance.id in self._runs:
            return
        run = Run(
            instance=instance, job=job, attempt=instance.attempt, designation=instance.designation
        )
        self._runs[instance.id] = run
        run.released = True
        self._schedule_retry(run, delay_s)

    def stop(self, instance_id: int, by: str) -> bool:
        """Stop an instance this engine holds. False if it holds no such instance."""
        run = self._runs.get(instance_id)
        if run is None:
            return False
        message = f"stopped by {by}"
        if run.launched and run.master is not None:
            run.stop_reason = "stop"
            run.stop_message = message
            run.master.kill(message)
        elif run.launched:
            run.stop_reason = "stop"
            run.stop_message = message
            if not self._worker.kill(instance_id, message):
                self._finish(run, InstanceStatus.KILLED, message, now_ms())
        else:
            self._finish(run, InstanceStatus.KILLED, message, now_ms())
        return True

    async def wait_final(self, instance_id: int, within: float) -> bool:
        """Wait up to ``within`` seconds for a held instance to reach a final status.
        True if it is not held (any more)."""
        if instance_id not in self._runs:
            return True
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._waiters.setdefault(instance_id, []).append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), within)
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(instance_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[instance_id]
        return True

    def withdraw_planned(self, job_id: int) -> list[int]:
        """Forget the fires of a job not yet released (its schedule changed, it was disabled
        or deleted): their timers are cancelled and what the worker prepared is discarded.
        Returns their instance ids; the caller deletes the rows (they never started)."""
        withdrawn = [
            run
            for run in self._runs.values()
            if run.instance.job_id == job_id
            and not run.released
            and run.instance.trigger_type == TriggerType.SCHEDULED
        ]
        for run in withdrawn:
            self._cancel_timers(run)
            if run.prepared:
                self._worker.discard(run.instance.id)
            del self._runs[run.instance.id]
        return [run.instance.id for run in withdrawn]

    def drop_unlaunched(self) -> None:
        """This server lost its lease: the runs it holds but has not handed to a worker are
        someone else's now (adopted): drop them without a word to the store."""
        for run in [r for r in self._runs.values() if not r.launched]:
            self._cancel_timers(run)
            if run.prepared:
                self._worker.discard(run.instance.id)
            del self._runs[run.instance.id]
            self._free_slot(run)

    def drop_handed_off(self, instance_ids: Iterable[int]) -> None:
        """These runs are another server's now (handed over before any worker took them):
        forget them without a word to the store."""
        for instance_id in instance_ids:
            run = self._runs.pop(instance_id, None)
            if run is None:
                continue
            self._cancel_timers(run)
            if run.launched:
                run.launched = False
                self._metrics.running.dec()
            self._free_slot(run)

    def kill_job_runs(self, job_id: int, reason: str) -> None:
        for run in list(self._runs.values()):
            if run.instance.job_id == job_id:
                self.stop(run.instance.id, reason)

    def job_updated(self, job: Job) -> None:
        """Later attempts of held runs use the job's new definition."""
        for run in self._runs.values():
            if run.job.id == job.id:
                run.job = job

    # -- release and launch ------------------------------------------------------------------
    def _release_due(self, due: int) -> None:
        """The due instant of a batch of fires: the worker gets every one admitted first, so
        the code of prepared runs starts before the bookkeeping of any of them."""
        runs = [run for run in self._due.pop(due, ()) if run.due_pending]
        for run in runs:
            run.due_pending = False
        self._last_batch_at = now_ms()
        at = now_ms()
        admitted: list[tuple[Run, RunRequest | None]] = []
        for run in runs:
            if not self._admit(run, at, observe=False):  # observed once the code started
                continue
            standalone = run.job.execute_mode == ExecuteMode.STANDALONE
            admitted.append((run, self._request(run) if standalone else None))
        if admitted:  # first the code of the prepared ones, together; the hand-over after
            self._worker.start_prepared([request for _, request in admitted if request])
            self._worker.let_start(BURST_START_WAIT_S)
        for run, _ in admitted:
            self._observe_release(run, at)
        for run, request in admitted:
            if request is not None:
                run.launched = True
                run.stop_reason = None
                self._worker.submit(request)
        for run, request in admitted:
            self._launch(run, at, submitted=request is not None)

    def _release(self, run: Run) -> None:
        if self._admit(run):
            self._launch(run)

    def _admit(self, run: Run, now: int | None = None, *, observe: bool = True) -> bool:
        """At the due instant (``now``): may the fire start (True: it holds a slot of its
        job now)? Else it ends here, or waits (the lease is in doubt). ``observe``: record an
        admitted release in the metrics now (else the caller does, ``_observe_release``)."""
        run.timer = None
        if run.prepare_timer is not None:  # due before its preparing time came
            run.prepare_timer.cancel()
            run.prepare_timer = None
        if self._fence():  # another server may be adopting it: wait for the lease to settle
            run.timer = self.loop.call_later(FENCE_RETRY_S, self._release, run)
            return False
        instance = run.instance
        job = self._job_lookup(instance.job_id) or run.job
        run.job = job
        now = now_ms() if now is None else now
        if not job.enabled and instance.trigger_type == TriggerType.SCHEDULED:
            self._finish(
                run, InstanceStatus.REMOVED, "job disabled before its fire", now, notify=False
            )
            return False
        active = self.active_count(job.id)
        if active >= job.max_concurrency:
            self._observe_release(run, now)
            self._metrics.rejected.inc()
            self._finish(
                run,
                InstanceStatus.REJECTED,
                f"MaxConcurrency {job.max_concurrency} reached: {active} instance(s) of this "
                "job still running",
                now,
                start=now,
            )
            return False
        if observe:
            self._observe_release(run, now)
        self._take_slot(run)
        return True

    def _observe_release(self, run: Run, now: int) -> None:
        if run.misfire:
            self._metrics.misfired.inc()
        else:
            self._metrics.observe_release(now - run.instance.schedule_time)

    def _take_slot(self, run: Run) -> None:
        run.released = True
        self._active.setdefault(run.instance.job_id, set()).add(run.instance.id)

    def _free_slot(self, run: Run) -> None:
        """The run no longer counts under its job's MaxConcurrency."""
        job_id = run.instance.job_id
        active = self._active.get(job_id)
        if active is not None:
            active.discard(run.instance.id)
            if not active:
                del self._active[job_id]

    def _launch(self, run: Run, at: int | None = None, *, submitted: bool = False) -> None:
        """Hand the run to the worker (unless ``submitted`` already) and record its start."""
        instance, job = run.instance, run.job
        at = now_ms() if at is None else at
        run.launched = True
        run.stop_reason = None
        self._metrics.fires.labels(
            trigger_type=TriggerType(instance.trigger_type).name.lower()
        ).inc()
        self._metrics.running.inc()
        self._writer.update(
            InstanceUpdate(
                instance_id=instance.id,
                status=InstanceStatus.RUNNING,
                start_time=at,
                attempt=run.attempt,
            )
        )
        if job.timeout > 0 and (job.timeout_enable or job.timeout_kill_enable):
            run.timeout_timer = self.loop.call_later(job.timeout, self._on_timeout, run)
        if submitted:
            return
        if job.execute_mode == ExecuteMode.STANDALONE:
            self._worker.submit(self._request(run))
        else:
            self._start_master(run)

    def _start_master(self, run: Run) -> None:
        """A distributed run: its master splits it into tasks for the group's workers."""
        iid, attempt = run.instance.id, run.attempt

        def done(outcome: RunOutcome, at: int) -> None:
            if run.master is not None and run.attempt == attempt:
                run.master = None
                self.finished(iid, attempt, outcome, at)

        hooks = MasterHooks(
            done=done,
            log=lambda text: self._engine_log(run, text),
            progress=lambda text: self.progress(iid, attempt, text),
            workers=lambda text: self._writer.update(
                InstanceUpdate(instance_id=iid, worker=text[:1000])
            ),
            task_ended=lambda status: self._metrics.tasks.labels(status=status.name.lower()).inc(),
            task_retried=self._metrics.task_retries.inc,
        )
        if self._tasks is None:
            self.loop.call_soon(
                done,
                RunOutcome(InstanceStatus.FAILED, "this server cannot run distributed jobs"),
                now_ms(),
            )
            return
        run.master = create_master(self._request(run), run.job, self._tasks, hooks)
        run.master.start()

    def _request(self, run: Run) -> RunRequest:
        prepared = run.prepared_request
        if (
            prepared is not None
            and run.prepared_job is run.job
            and prepared.attempt == run.attempt
            and not run.system_retry
            and prepared.trigger_type == run.instance.trigger_type
        ):
            return prepared  # the same (the job did not change): the worker knows it as is
        instance, job = run.instance, run.job
        return RunRequest(
            instance_id=instance.id,
            job_id=job.id,
            job_name=job.name,
            namespace=job.namespace,
            group_id=job.group_id,
            job_type=job.job_type,
            execute_mode=job.execute_mode,
            time_type=job.time_type,
            trigger_type=TriggerType.SYSTEM_RETRY if run.system_retry else instance.trigger_type,
            schedule_time=instance.schedule_time,
            data_time=instance.data_time
            if instance.data_time is not None
            else instance.schedule_time,
            attempt=run.attempt,
            max_attempt=job.max_attempt,
            content=job.content,
            class_name=job.class_name,
            job_parameters=job.parameters,
            instance_parameters=instance.instance_parameters,
            timeout=job.timeout if job.timeout > 0 else None,
            timezone=job.timezone,
            command=job.command,
            command_args=tuple(job.command_args),
            envs=tuple(job.envs.items()),
            designation=effective_designation(run.designation, job, run.route_draw),
        )

    def _on_timeout(self, run: Run) -> None:
        run.timeout_timer = None
        if not run.launched:
            return
        job = run.job
        self._metrics.timeouts.inc()
        self._engine_log(run, f"the run went past its timeout of {job.timeout} s")
        if job.timeout_kill_enable:
            run.stop_reason = "timeout"
            run.stop_message = f"timed out after {job.timeout} s"
            if run.master is not None:
                run.master.kill(run.stop_message)
            else:
                self._worker.kill(run.instance.id, run.stop_message)

    # -- reports from the worker -------------------------------------------------------------
    def started(
        self, instance_id: int, attempt: int, worker: str, at: int, task: TaskKey | None = None
    ) -> None:
        """The worker says the run began: record which worker runs it (start_time was set
        at launch already)."""
        run = self._runs.get(instance_id)
        if run is not None and run.attempt == attempt and task is None:
            self._writer.update(InstanceUpdate(instance_id=instance_id, worker=worker))

    def log(self, instance_id: int, attempt: int, at: int, line: str) -> None:
        run = self._runs.get(instance_id)
        if run is None or run.attempt != attempt or not run.launched:
            self._logs.stray()
            return
        run.log_cut = self._logs.line(run.log_cut, instance_id, attempt, at, line)

    @property
    def log_limits(self) -> LogLimits:
        """What each attempt's log keeps (a worker agent is told, to send no more)."""
        return self._logs.limits

    def log_room(self) -> asyncio.Future[None] | None:
        """``LogRoom`` (worker/abc.py): the lines reported wait to be written; readers of
        run output that can wait should, until the future is done."""
        return self._writer.log_room()  # asked for every line read: no hop through RunLogs

    def _end_log(self, run: Run, outcome: RunOutcome | None = None) -> None:
        """The attempt ended: its truncation line and tail, counting what the worker said it
        dropped."""
        cut, run.log_cut = run.log_cut, None
        if outcome is None:
            self._logs.end(cut, run.instance.id, run.attempt)
        else:
            self._logs.end(
                cut, run.instance.id, run.attempt, outcome.dropped_lines, outcome.dropped_bytes
            )

    def progress(self, instance_id: int, attempt: int, progress: str) -> None:
        self._writer.update(InstanceUpdate(instance_id=instance_id, progress=progress[:4000]))

    def mapped(
        self, instance_id: int, attempt: int, task: TaskKey, task_name: str, bodies: list[str]
    ) -> None:
        run = self._runs.get(instance_id)
        if run is not None and run.attempt == attempt and run.master is not None:
            run.master.mapped(task, task_name, bodies)

    def finished(
        self,
        instance_id: int,
        attempt: int,
        outcome: RunOutcome,
        at: int,
        task: TaskKey | None = None,
    ) -> None:
        run = self._runs.get(instance_id)
        if task is not None:  # one task of a distributed run: its master decides
            if run is not None and run.attempt == attempt and run.master is not None:
                if outcome.dropped_lines > 0:  # its worker cut the task's log lines
                    run.log_cut = run.log_cut or LogCut(self._logs.limits)
                    run.log_cut.add_dropped(outcome.dropped_lines, outcome.dropped_bytes)
                run.master.task_finished(task, outcome, at)
            return
        if run is None or run.attempt != attempt or not run.launched or run.master is not None:
            log.warning(
                "outcome for instance %s attempt %s that is not running; ignored",
                instance_id,
                attempt,
            )
            return
        run.launched = False
        self._metrics.running.dec()
        self._end_log(run, outcome)
        if run.timeout_timer is not None:
            run.timeout_timer.cancel()
            run.timeout_timer = None
        status, result = outcome.status, outcome.result
        if run.stop_reason == "stop":
            status, result = InstanceStatus.KILLED, run.stop_message
        elif run.stop_reason == "timeout":
            status, result = InstanceStatus.FAILED, run.stop_message
        elif status not in (InstanceStatus.SUCCESS, InstanceStatus.FAILED):
            status = InstanceStatus.FAILED if status != InstanceStatus.KILLED else status
        self._metrics.finished.labels(status=status.name.lower()).inc()
        if status == InstanceStatus.FAILED and run.attempt < run.job.max_attempt:
            if outcome.lost and run.stop_reason is None:
                self.system_retry(run, result, at)
            else:
                self.fail_attempt(run, result, at)
            return
        self._finish(run, status, result, at)

    def fail_attempt(self, run: Run, result: str, at: int) -> None:
        """A failed attempt with attempts left: wait AttemptInterval, then run again."""
        job = run.job
        self._metrics.retries.inc()
        self._engine_log(
            run,
            f"attempt {run.attempt + 1} of {job.max_attempt + 1} failed ({result[:200]}); "
            f"retrying in {job.attempt_interval} s",
        )
        self._writer.update(
            InstanceUpdate(
                instance_id=run.instance.id,
                status=InstanceStatus.WAITING,
                end_time=at,
                result=result[:RESULT_LIMIT],
            )
        )
        self._schedule_retry(run, float(job.attempt_interval))

    def system_retry(self, run: Run, result: str, at: int) -> None:
        """The worker went away mid-run and attempts remain: run again at once, elsewhere,
        as a system retry (trigger type 5)."""
        self._metrics.retries.inc()
        self._engine_log(
            run,
            f"attempt {run.attempt + 1} of {run.job.max_attempt + 1} was lost ({result[:200]}); "
            "retrying now on another worker (system retry)",
        )
        run.system_retry = True
        self._writer.update(
            InstanceUpdate(
                instance_id=run.instance.id,
                status=InstanceStatus.WAITING,
                end_time=at,
                result=result[:RESULT_LIMIT],
                trigger_type=TriggerType.SYSTEM_RETRY,
            )
        )
        self._schedule_retry(run, 0.0)

    def _schedule_retry(self, run: Run, delay_s: float) -> None:
        def retry() -> None:
            run.timer = None
            run.attempt += 1
            run.route_draw = random.random()
            self._launch(run)

        run.timer = self.loop.call_later(max(delay_s, 0.0), retry)

    # -- the end -----------------------------------------------------------------------------
    def _finish(
        self,
        run: Run,
        status: InstanceStatus,
        result: str,
        at: int,
        *,
        start: int | None = None,
        notify: bool = True,
    ) -> None:
        instance = run.instance
        self._cancel_timers(run)
        if run.master is not None:  # ended from outside (e.g. stopped before it began)
            master, run.master = run.master, None
            master.abandon(RunOutcome(status, result))
        if run.prepared:  # made ready but never started (a no-op once it was submitted)
            self._worker.discard(instance.id)
        if run.launched:  # finished without an outcome from the worker (kill of a lost run)
            run.launched = False
            self._metrics.running.dec()
        if run.log_cut is not None:
            self._end_log(run)
        self._runs.pop(instance.id, None)
        self._ended[instance.id] = None
        if len(self._ended) > ENDED_REMEMBERED:
            self._ended.popitem(last=False)
        self._free_slot(run)
        self._writer.update(
            InstanceUpdate(
                instance_id=instance.id,
                status=status,
                start_time=start,
                end_time=at,
                attempt=run.attempt,
                result=result[:RESULT_LIMIT],
            )
        )
        instance.status = status
        instance.end_time = at
        instance.result = result[:RESULT_LIMIT]
        for waiter in self._waiters.pop(instance.id, ()):
            if not waiter.done():
                waiter.set_result(None)
        if notify:
            for listener in self._listeners:
                try:
                    listener(run.job, instance, at)
                except Exception:
                    log.exception("a final-status listener failed for instance %s", instance.id)

    def _engine_log(self, run: Run, text: str) -> None:
        self._writer.log(
            LogLine(
                instance_id=run.instance.id,
                time=now_ms(),
                line=f"[tickwork] {text}",
                attempt=run.attempt,
            )
        )

    # -- shutdown ----------------------------------------------------------------------------
    def cancel_timers(self) -> None:
        """Forget planned fires and pending retries (they stay stored and are recovered)."""
        for run in list(self._runs.values()):
            self._cancel_timers(run)

    @staticmethod
    def _cancel_timers(run: Run) -> None:
        run.due_pending = False
        for name in ("timer", "prepare_timer", "timeout_timer"):
            handle: asyncio.TimerHandle | None = getattr(run, name)
            if handle is not None:
                handle.cancel()
                setattr(run, name, None)
