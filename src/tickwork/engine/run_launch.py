"""How a run gets going: claimed and prepared ahead of its due instant, released with its
batch, admitted under its job's MaxConcurrency (or ended: disabled, rejected; or held back
while this server's lease is in doubt), then handed to the worker or, for a distributed run,
to its task master; its timeout is armed as it starts.

The start claim (issue 21): before an attempt goes to a worker, the instance is stored READY
with that attempt. A server that dies between handing a run to its worker and writing it
RUNNING leaves READY behind, never WAITING, so whoever recovers the instance knows the attempt
may have started and runs the next one instead (engine/recovery.py): no attempt runs twice.
A planned fire is claimed with its preparation, ``prepare_ahead_ms`` before its instant, so
the claim is written by then and costs the fire no wait; a run started at once (a trigger, a
retry, a late fire) waits for its claim's batch to be written (a few milliseconds)."""

from __future__ import annotations

from collections.abc import Callable

from tickwork.domain.enums import ExecuteMode, InstanceStatus, TriggerType
from tickwork.domain.models import InstanceUpdate, Job
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.modes import create_master
from tickwork.engine.run_endings import RunEndings
from tickwork.engine.run_requests import request_for
from tickwork.engine.run_state import Run, RunState, Stop, StopReason
from tickwork.engine.tasks import MasterHooks, TaskDispatch
from tickwork.engine.timers import Timers
from tickwork.engine.writer import BatchWriter
from tickwork.worker.abc import Preparing, RunOutcome, RunRequest, Worker

__all__ = ["BURST_START_WAIT_S", "FENCE_RETRY_S", "SLOT_RETRY_S", "ConcurrencySlots", "RunLaunch"]

FENCE_RETRY_S = 0.2  # a fire held back while the lease is in doubt is tried again this often
SLOT_RETRY_S = 0.05
"""A late fire waiting for a MaxConcurrency slot (``Run.slot_wait_until``) looks again this
often: the fires of one job adopted together go one after another, each as the one before it
ends (a no-op shell run takes a few milliseconds)."""

BURST_START_WAIT_S = 0.02
"""How long the loop may wait, after handing a batch of due runs to the worker, for their
code to start before it goes on (their bookkeeping would otherwise compete for the GIL)."""


class ConcurrencySlots:
    """Which released runs count under each job's MaxConcurrency."""

    def __init__(self) -> None:
        self._active: dict[int, set[int]] = {}  # job id -> released instance ids

    def count(self, job_id: int) -> int:
        return len(self._active.get(job_id, ()))

    def take(self, run: Run) -> None:
        self._active.setdefault(run.instance.job_id, set()).add(run.instance.id)

    def free(self, run: Run) -> None:
        """The run no longer counts (idempotent)."""
        job_id = run.instance.job_id
        active = self._active.get(job_id)
        if active is not None:
            active.discard(run.instance.id)
            if not active:
                del self._active[job_id]


class RunLaunch:
    def __init__(
        self,
        worker: Worker,
        writer: BatchWriter,
        metrics: EngineMetrics,
        timers: Timers,
        job_lookup: Callable[[int], Job | None],
        endings: RunEndings,
        *,
        preparing: Preparing | None,
        prepare_ahead_ms: int,
        tasks: TaskDispatch | None,
        fence: Callable[[], bool],
    ) -> None:
        self._worker = worker
        self._preparing = preparing  # the worker's preparation, if it has it
        self._writer = writer
        self._metrics = metrics
        self._timers = timers
        self._job_lookup = job_lookup  # the job registry's latest definition of a job
        self._endings = endings
        self._prepare_ahead_ms = prepare_ahead_ms
        self._tasks = tasks  # where distributed runs send their tasks (None: none run)
        self._fence = fence  # True: this server's lease is in doubt, hold fires back
        self.slots = ConcurrencySlots()

    # -- the start claim ----------------------------------------------------------------------
    def claim(self, run: Run) -> None:
        """Queue the claim to start the run's current attempt (stored READY), once. A first
        attempt's claim is written ahead of the writer's queue (no update of its instance is
        queued before it: a planned fire or a trigger was inserted by the store itself); a
        retry's waits its turn behind the updates that ended the attempt before."""
        if run.claimed_attempt == run.attempt:
            return
        claim = InstanceUpdate(run.instance.id, status=InstanceStatus.READY, attempt=run.attempt)
        run.claimed_attempt = run.attempt
        run.claim_first = run.state in (RunState.NEW, RunState.PLANNED)
        if run.claim_first:
            run.claim_seq = self._writer.update_first(claim)
        else:
            run.claim_seq = self._writer.update(claim)

    def _claimed(self, run: Run) -> bool:
        """Is the claim of the run's current attempt in the store?"""
        return run.claimed_attempt == run.attempt and self._writer.written(
            run.claim_seq, first=run.claim_first
        )

    def _once_claimed(self, run: Run, then: Callable[[Run], None]) -> None:
        """Claim the run's attempt and carry on with ``then`` once the claim is written, if
        the run is where it was (not stopped, dropped or handed over meanwhile)."""
        self.claim(run)
        state, attempt = run.state, run.attempt

        def written() -> None:
            if run.state is state and run.attempt == attempt:
                then(run)

        self._writer.when_written(run.claim_seq, written, first=run.claim_first)

    def _release_once_claimed(self, runs: list[Run]) -> None:
        """Fires due whose claims are not written yet: released together once they are."""
        for run in runs:
            self.claim(run)
        last = max(runs, key=lambda run: (run.claim_first, run.claim_seq))
        attempts = [(run, run.attempt) for run in runs]

        def written() -> None:
            self.release_batch(
                [r for r, a in attempts if r.state is RunState.PLANNED and r.attempt == a]
            )

        self._writer.when_written(last.claim_seq, written, first=last.claim_first)

    def unclaim(self, run: Run) -> InstanceUpdate | None:
        """The update that takes back the claim of a run that never went to a worker (it is
        dropped at a stop: stored WAITING again, as before its claim), None if it has none."""
        if run.claimed_attempt is None or run.state.launched:
            return None
        first = run.claimed_attempt == 0
        return InstanceUpdate(
            run.instance.id,
            status=InstanceStatus.WAITING,
            attempt=0 if first else run.claimed_attempt - 1,
            only_if_status=frozenset({InstanceStatus.READY}),
        )

    # -- before the due instant --------------------------------------------------------------
    def plan_preparing(self, run: Run) -> None:
        """A planned fire is claimed, and made ready, shortly before its due instant (not a
        misfire: it is released at once)."""
        if self._prepare_ahead_ms > 0 and not run.misfire:
            due = run.instance.schedule_time - self._prepare_ahead_ms
            run.own_timer(self._timers.call_at(due, self._prepare, run))

    def _prepare(self, run: Run) -> None:
        """Shortly before the due instant: claim the start, and let the worker make the run
        ready, if it will start (enabled, under MaxConcurrency now)."""
        run.timer = None
        if run.state is not RunState.PLANNED:
            return
        self.claim(run)
        if self._preparing is None:
            return
        job = self._job_lookup(run.instance.job_id) or run.job
        if (
            job.enabled
            and job.execute_mode == ExecuteMode.STANDALONE
            and self.slots.count(job.id) < job.max_concurrency
        ):
            run.use_job(job)
            run.worker_prepared = True
            self._preparing.prepare(request_for(run))

    # -- the due instant ---------------------------------------------------------------------
    def release_batch(self, runs: list[Run]) -> None:
        """The due instant of a batch of fires (``DueFires``): the worker gets every one
        admitted first, so the code of prepared runs starts before the bookkeeping of any."""
        claimed = [run for run in runs if self._claimed(run)]
        if len(claimed) < len(runs):  # the others go once their claims are written
            self._release_once_claimed([run for run in runs if not self._claimed(run)])
            runs = claimed
        at = self._timers.now_ms()
        admitted: list[tuple[Run, RunRequest | None]] = []
        for run in runs:
            if not self._admit(run, at, observe=False):  # observed once the code started
                continue
            standalone = run.job.execute_mode == ExecuteMode.STANDALONE
            admitted.append((run, request_for(run) if standalone else None))
        if admitted and self._preparing is not None:
            # first the code of the prepared ones, together; the hand-over after
            self._preparing.start_prepared([request for _, request in admitted if request])
            self._preparing.let_start(BURST_START_WAIT_S)
        for run, _ in admitted:
            self._observe_release(run, at)
        for run, request in admitted:
            if request is not None:
                run.move(RunState.RUNNING)
                self._worker.submit(request)
        for run, request in admitted:
            self.launch(run, at, submitted=request is not None)

    def _release_held_back(self, run: Run) -> None:
        run.timer = None
        if run.state is RunState.PLANNED and self._admit(run):
            self.launch(run)

    def _admit(self, run: Run, now: int | None = None, *, observe: bool = True) -> bool:
        """At the due instant (``now``): may the fire start (True: it holds a slot of its
        job now)? Else it ends here, or waits (the lease is in doubt). ``observe``: record an
        admitted release in the metrics now (else the caller does, ``_observe_release``)."""
        if self._fence():  # another server may be adopting it: wait for the lease to settle
            run.own_timer(self._timers.call_later(FENCE_RETRY_S, self._release_held_back, run))
            return False
        run.own_timer(None)  # due before its preparing time came
        instance = run.instance
        run.use_job(self._job_lookup(instance.job_id) or run.job)
        job = run.job
        now = self._timers.now_ms() if now is None else now
        if not job.enabled and instance.trigger_type == TriggerType.SCHEDULED:
            self._endings.finish(
                run, InstanceStatus.REMOVED, "job disabled before its fire", now, notify=False
            )
            return False
        active = self.slots.count(job.id)
        if active >= job.max_concurrency and self._may_wait_for_slot(run, now):
            run.own_timer(self._timers.call_later(SLOT_RETRY_S, self._release_held_back, run))
            return False
        if active >= job.max_concurrency:
            self._observe_release(run, now)
            self._metrics.rejected.inc()
            self._endings.finish(
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
        self.slots.take(run)
        return True

    @staticmethod
    def _may_wait_for_slot(run: Run, now: int) -> bool:
        return run.slot_wait_until is not None and now < run.slot_wait_until

    def _observe_release(self, run: Run, now: int) -> None:
        if run.misfire:
            self._metrics.misfired.inc()
        else:
            self._metrics.observe_release(now - run.instance.schedule_time)

    # -- the hand-over -----------------------------------------------------------------------
    def launch(self, run: Run, at: int | None = None, *, submitted: bool = False) -> None:
        """Hand the run to the worker (unless ``submitted`` already: then it is RUNNING) and
        record its start; its timeout is armed."""
        if not submitted and not self._claimed(run):
            self._once_claimed(run, self.launch)
            return
        instance, job = run.instance, run.job
        at = self._timers.now_ms() if at is None else at
        if not submitted:
            run.move(RunState.RUNNING)
        run.stop = None
        run.worker_prepared = False  # submitted: what the worker prepared is in use
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
            run.own_timer(self._timers.call_later(job.timeout, self._on_timeout, run))
        if submitted:
            return
        if job.execute_mode == ExecuteMode.STANDALONE:
            self._worker.submit(request_for(run))
        else:
            self._start_master(run)

    def _start_master(self, run: Run) -> None:
        """A distributed run: its master splits it into tasks for the group's workers."""
        iid, attempt = run.instance.id, run.attempt
        endings = self._endings

        def done(outcome: RunOutcome, at: int) -> None:
            if run.master is not None and run.attempt == attempt:
                run.master = None
                if run.state.launched:
                    endings.attempt_ended(run, outcome, at, self.launch)

        def progress(text: str) -> None:
            self._writer.update(InstanceUpdate(instance_id=iid, progress=text[:4000]))

        def workers(text: str) -> None:
            self._writer.update(InstanceUpdate(instance_id=iid, worker=text[:1000]))

        hooks = MasterHooks(
            done=done,
            log=lambda text: endings.engine_log(run, text),
            progress=progress,
            workers=workers,
            task_ended=lambda status: self._metrics.tasks.labels(status=status.name.lower()).inc(),
            task_retried=self._metrics.task_retries.inc,
        )
        if self._tasks is None:  # no master: the attempt fails (soon, not within launch)

            def cannot_run() -> None:
                if run.state.launched and run.attempt == attempt:
                    outcome = RunOutcome(
                        InstanceStatus.FAILED, "this server cannot run distributed jobs"
                    )
                    endings.attempt_ended(run, outcome, self._timers.now_ms(), self.launch)

            self._timers.call_soon(cannot_run)
            return
        run.master = create_master(request_for(run), run.job, self._tasks, hooks, self._timers)
        run.master.start()

    def _on_timeout(self, run: Run) -> None:
        """The attempt went past the job's timeout: logged, and killed when the job says so
        (it then fails, and is retried if attempts are left)."""
        run.timer = None
        if run.state is not RunState.RUNNING:
            return
        job = run.job
        self._metrics.timeouts.inc()
        self._endings.engine_log(run, f"the run went past its timeout of {job.timeout} s")
        if job.timeout_kill_enable:
            message = f"timed out after {job.timeout} s"
            run.move(RunState.STOPPING)
            run.stop = Stop(StopReason.TIMEOUT, message)
            if run.master is not None:
                run.master.kill(message)
            else:
                self._worker.kill(run.instance.id, message)
