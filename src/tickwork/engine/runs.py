"""The lifecycle of instances once they exist: release at the due instant, MaxConcurrency,
hand-over to the worker, retries, timeouts, stop, and the final outcome. A run's states and
the legal moves between them are in run_state.py; this is what makes it move.

Everything here runs on the event loop and never waits on the store: state changes go to the
batch writer, so releasing a fire costs no database round trip.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.models import Designation, Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.due_fires import DueFires
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.run_endings import FinalListener, RunEndings
from tickwork.engine.run_launch import RunLaunch
from tickwork.engine.run_logs import RunLogs
from tickwork.engine.run_state import Run, RunState, Stop, StopReason
from tickwork.engine.tasks import TaskDispatch
from tickwork.engine.timers import LoopTimers, Timers
from tickwork.engine.writer import BatchWriter
from tickwork.worker.abc import Preparing, RunOutcome, TaskKey, Worker

__all__ = ["FinalListener", "RunManager"]

log = logging.getLogger(__name__)

ENDED_REMEMBERED = 100_000
"""How many ended runs a manager remembers (so that a stale read never restarts one)."""


class RunManager:
    """The runs this engine holds, and every report a worker makes about them."""

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
        timers: Timers | None = None,
        due_fires: DueFires[Run] | None = None,
    ) -> None:
        self._timers = timers or LoopTimers()
        self._worker = worker
        self._writer = writer
        self._metrics = metrics
        self._logs = RunLogs(writer, metrics, log_limits or LogLimits())
        self._runs: dict[int, Run] = {}
        # the last runs ended here, oldest first (an OrderedDict: dropping the oldest entry of
        # a plain dict scans the deleted slots before it, and took 7 % of the loop at scale)
        self._ended: OrderedDict[int, None] = OrderedDict()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        preparing = worker if isinstance(worker, Preparing) else None
        self.endings = RunEndings(
            worker, writer, metrics, self._timers, self._logs, preparing, self._ended_run
        )
        self.launch = RunLaunch(
            worker,
            writer,
            metrics,
            self._timers,
            job_lookup,
            self.endings,
            preparing=preparing,
            prepare_ahead_ms=prepare_ahead_ms,
            tasks=tasks,
            fence=fence,
        )
        # the fires waiting for their instants, which housekeeping asks too (due_fires.py)
        self.due_fires: DueFires[Run] = due_fires or DueFires(self._timers)

    # -- wiring ------------------------------------------------------------------------------
    def on_final(self, listener: FinalListener) -> None:
        self.endings.listeners.append(listener)

    def holds(self, instance_id: int) -> bool:
        return instance_id in self._runs

    def holds_job(self, job_id: int) -> bool:
        """Does it hold any run (planned, running, retrying) of the job?"""
        return any(run.instance.job_id == job_id for run in self._runs.values())

    def ended_here(self, instance_id: int) -> bool:
        """The run ended here lately (its final status may not be stored yet)."""
        return instance_id in self._ended

    def active_count(self, job_id: int) -> int:
        return self.launch.slots.count(job_id)

    def planned_count(self) -> int:
        return sum(1 for run in self._runs.values() if run.state is RunState.PLANNED)

    def state_of(self, instance_id: int) -> RunState | None:
        """The state of a held run (None: not held)."""
        run = self._runs.get(instance_id)
        return None if run is None else run.state

    # -- entry points (each is idempotent: an instance already held is left as it is) --------
    def arm(
        self,
        instance: Instance,
        job: Job,
        *,
        misfire: bool = False,
        slot_wait_until: int | None = None,
    ) -> None:
        """Release a scheduled fire at its due instant (at once if that has passed).
        ``slot_wait_until``: a late fire waits for a MaxConcurrency slot until then."""
        if instance.id in self._runs:
            return
        run = self._hold(
            Run(
                instance=instance,
                job=job,
                attempt=instance.attempt,
                misfire=misfire,
                slot_wait_until=slot_wait_until,
            )
        )
        run.move(RunState.PLANNED)
        self.due_fires.add(instance.schedule_time, run, self.launch.release_batch)
        self.launch.plan_preparing(run)

    def start_now(
        self,
        instance: Instance,
        job: Job,
        designation: Designation | None = None,
        *,
        claimed: bool = False,
    ) -> None:
        """Start an API, rerun or backfill instance now; MaxConcurrency does not hold it back.
        ``designation`` holds this run to some workers (else the job's designation does).
        ``claimed``: the instance was stored with its start claim (READY, inserted so)."""
        if instance.id in self._runs:
            return
        run = self._hold(
            Run(
                instance=instance,
                job=job,
                attempt=instance.attempt,
                designation=designation or instance.designation,
                # a claim stored with the row: written (sequence number 0) already
                claimed_attempt=instance.attempt if claimed else None,
            )
        )
        self.launch.slots.take(run)
        self.launch.launch(run)

    def resume_retry(
        self,
        instance: Instance,
        job: Job,
        delay_s: float,
        *,
        lost: bool = False,
        free: bool = False,
    ) -> None:
        """Retry an instance (attempt + 1) after ``delay_s``, e.g. one lost in a crash
        (``lost``: a system retry; ``free``: it does not use up one of the job's retries).
        It holds no MaxConcurrency slot: a fire due meanwhile must not be rejected because
        a server went away."""
        if instance.id in self._runs:
            return
        run = self._hold(
            Run(
                instance=instance,
                job=job,
                attempt=instance.attempt,
                designation=instance.designation,
                resends=int(free),
            )
        )
        self.endings.schedule_retry(run, delay_s, self.launch.launch, lost=lost)

    def _hold(self, run: Run) -> Run:
        self._runs[run.instance.id] = run
        return run

    def stop(self, instance_id: int, by: str) -> bool:
        """Stop an instance this engine holds. False if it holds no such instance."""
        run = self._runs.get(instance_id)
        if run is None:
            return False
        message = f"stopped by {by}"
        if run.state.launched:
            if run.state is RunState.RUNNING:
                run.move(RunState.STOPPING)
            run.stop = Stop(StopReason.STOP, message)  # over a timeout kill under way, too
            if run.master is not None:
                run.master.kill(message)
            elif not self._worker.kill(instance_id, message):
                self.endings.finish(run, InstanceStatus.KILLED, message, self._timers.now_ms())
        else:
            self.endings.finish(run, InstanceStatus.KILLED, message, self._timers.now_ms())
        return True

    async def wait_final(self, instance_id: int, within: float) -> bool:
        """Wait up to ``within`` seconds for a held instance to reach a final status.
        True if it is not held (any more)."""
        if instance_id not in self._runs:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
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

    def withdraw_planned(self, job_id: int, *, due_too: bool = True) -> list[int]:
        """Forget the fires of a job not yet released (its schedule changed, it was disabled
        or deleted): their timers are cancelled and what the worker prepared is discarded.
        Returns their instance ids; the caller deletes the rows (they never started).
        ``due_too`` False: a fire whose instant has passed (waiting for its start claim, a
        MaxConcurrency slot or the lease) stays, and is released as the job now says (a job
        disabled: recorded REMOVED), so that a due fire never vanishes without a trace."""
        now = self._timers.now_ms()
        withdrawn = [
            run
            for run in self._runs.values()
            if run.instance.job_id == job_id
            and run.state is RunState.PLANNED
            and run.instance.trigger_type == TriggerType.SCHEDULED
            and (due_too or run.instance.schedule_time > now)
        ]
        for run in withdrawn:
            self._drop(run)
        return [run.instance.id for run in withdrawn]

    def drop_unlaunched(self) -> None:
        """This server lost its lease: the runs it holds but has not handed to a worker are
        someone else's now (adopted): drop them without a word to the store."""
        for run in [r for r in self._runs.values() if not r.state.launched]:
            self._drop(run)

    def give_up_unlaunched(self) -> list[Run]:
        """A graceful stop: the runs not handed to a worker (planned fires, retries due) are
        no longer released here (what the worker prepared is discarded); the stopping server
        hands them over. Returns them."""
        given = [r for r in self._runs.values() if not r.state.launched]
        for run in given:
            self._unclaim(run)  # written before the hand-over (it flushes the writer first)
            self._drop(run)
        return given

    def drop_handed_off(self, instance_ids: Iterable[int]) -> None:
        """These runs are another server's now (handed off before any worker took them):
        forget them without a word to the store."""
        for instance_id in instance_ids:
            run = self._runs.get(instance_id)
            if run is not None:
                self._drop(run, discard=False)  # a worker that prepared it was already told

    def _drop(self, run: Run, *, discard: bool = True) -> None:
        if run.state.launched:
            self._metrics.running.dec()
        run.move(RunState.DROPPED)
        if discard:
            self.endings.discard_prepared(run)
        del self._runs[run.instance.id]
        self.launch.slots.free(run)

    def kill_job_runs(self, job_id: int, reason: str) -> None:
        for run in list(self._runs.values()):
            if run.instance.job_id == job_id:
                self.stop(run.instance.id, reason)

    def job_updated(self, job: Job) -> None:
        """Later attempts of held runs use the job's new definition."""
        for run in self._runs.values():
            if run.job.id == job.id:
                run.use_job(job)

    def cancel_timers(self) -> None:
        """Shutdown: forget planned fires and pending retries (they stay stored, their start
        claims taken back, and are recovered); running runs lose their timeouts (the worker
        stops them)."""
        for run in list(self._runs.values()):
            if run.state.launched:
                run.own_timer(None)
            else:
                self._unclaim(run)
                self._drop(run)

    def _unclaim(self, run: Run) -> None:
        """A run that never went to a worker leaves here: its start claim, if written, is
        taken back, so that whoever takes it up next does not count the attempt as lost."""
        update = self.launch.unclaim(run)
        if update is not None:
            self._writer.update(update)

    def _ended_run(self, run: Run) -> None:
        """``RunEndings`` wrote the run's final status: it is no longer held here."""
        instance_id = run.instance.id
        self._runs.pop(instance_id, None)
        self._ended[instance_id] = None
        if len(self._ended) > ENDED_REMEMBERED:
            self._ended.popitem(last=False)
        self.launch.slots.free(run)
        for waiter in self._waiters.pop(instance_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    # -- reports from the worker (``RunReporter``, worker/abc.py) -----------------------------
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
        if run is None or run.attempt != attempt or not run.state.launched:
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

    def progress(self, instance_id: int, attempt: int, progress: str) -> None:
        self._writer.update(InstanceUpdate(instance_id=instance_id, progress=progress[:4000]))

    def late_outcome(
        self, instance_id: int, attempt: int, outcome: RunOutcome, worker: str, at: int
    ) -> None:
        """``LateOutcomes`` (engine/agents.py): an attempt given up on as lost ran to its end
        on ``worker`` all the same. Its status stays what was decided then (the next attempt
        may be running, listeners were told); the instance's log says what really happened,
        so that the record is not "lost" alone. Log lines of that attempt were dropped as
        they came (counted as ``ended``)."""
        text = (
            f"[tickwork] late outcome: attempt {attempt + 1}, counted lost, ended on worker "
            f"{worker} after all: {outcome.status.name.lower()}"
            + (f" ({outcome.result[:300]})" if outcome.result else "")
        )
        log.warning("instance %s: %s", instance_id, text)
        self._writer.log(LogLine(instance_id=instance_id, time=at, line=text, attempt=attempt))

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
                self.endings.task_finished(run, task, outcome, at)
            return
        if (
            run is None
            or run.attempt != attempt
            or not run.state.launched
            or run.master is not None
        ):
            log.warning(
                "outcome for instance %s attempt %s that is not running; ignored",
                instance_id,
                attempt,
            )
            return
        self.endings.attempt_ended(run, outcome, at, self.launch.launch)
