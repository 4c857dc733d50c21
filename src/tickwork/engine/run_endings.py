"""How an attempt ends: its outcome read (a stop or a timeout decides over what the worker
said), then one retry path (a failed attempt waits AttemptInterval; a lost one, its worker
gone, goes again at once as a system retry) or the run's final status written, the worker's
preparation discarded, the log's tail flushed and the listeners told."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tickwork.domain.enums import InstanceStatus, TriggerType
from tickwork.domain.log_cap import LogCut
from tickwork.domain.models import Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.run_logs import RunLogs
from tickwork.engine.run_state import Run, RunState, StopReason
from tickwork.engine.timers import Cancellable, Timers
from tickwork.engine.writer import BatchWriter
from tickwork.worker.abc import Preparing, RunOutcome, TaskKey, Worker

__all__ = ["RESULT_LIMIT", "FinalListener", "RunEndings"]

log = logging.getLogger(__name__)

RESULT_LIMIT = 1000
FREE_RESENDS = 3
"""An attempt lost before it started (its worker never confirmed the start) goes again as a
new attempt without using up one of the job's retries, this many times a run at most (a
worker that keeps falling silent must not keep a run going for ever)."""

# (job, instance, end instant) of an instance that reached a final status
FinalListener = Callable[[Job, Instance, int], None]
# starts the next attempt of a run whose retry is due (``RunLaunch.launch``)
Relaunch = Callable[[Run], None]


class RunEndings:
    def __init__(
        self,
        worker: Worker,
        writer: BatchWriter,
        metrics: EngineMetrics,
        timers: Timers,
        logs: RunLogs,
        preparing: Preparing | None,
        ended: Callable[[Run], None],
    ) -> None:
        self._worker = worker
        self._writer = writer
        self._metrics = metrics
        self._timers = timers
        self._logs = logs
        self._preparing = preparing
        self._ended = ended  # the manager lets go of a run whose final status was written
        self.listeners: list[FinalListener] = []

    def _move(self, run: Run, to: RunState, timer: Cancellable | None = None) -> None:
        """``Run.move``, counting the runs going on (``running``) as one leaves them."""
        if run.state.launched and not to.launched:
            self._metrics.running.dec()
        run.move(to, timer)

    # -- outcomes ----------------------------------------------------------------------------
    def task_finished(self, run: Run, task: TaskKey, outcome: RunOutcome, at: int) -> None:
        """One task of a distributed run ended: its master decides what follows."""
        if run.master is None:
            return
        if outcome.dropped_lines > 0:  # its worker cut the task's log lines
            run.log_cut = run.log_cut or LogCut(self._logs.limits)
            run.log_cut.add_dropped(outcome.dropped_lines, outcome.dropped_bytes)
        run.master.task_finished(task, outcome, at)

    def attempt_ended(self, run: Run, outcome: RunOutcome, at: int, relaunch: Relaunch) -> None:
        """The running attempt's outcome is in (from its worker, or its master)."""
        self._end_log(run, outcome)
        status, result = outcome.status, outcome.result
        stop = run.stop
        if stop is not None and stop.reason is StopReason.STOP:
            status, result = InstanceStatus.KILLED, stop.message
            if outcome.lost:  # the kill was pending: never confirmed by the worker
                result = (
                    f"{stop.message}; its worker was lost before it confirmed the kill "
                    f"({outcome.result[:300]}; a worker agent ends its runs within its lease)"
                )
        elif stop is not None:  # the timeout killed it
            status, result = InstanceStatus.FAILED, stop.message
        elif status not in (InstanceStatus.SUCCESS, InstanceStatus.FAILED, InstanceStatus.KILLED):
            status = InstanceStatus.FAILED
        self._metrics.finished.labels(status=status.name.lower()).inc()
        # an attempt that never started is sent again without using up one of the retries
        resend = outcome.unstarted and stop is None and run.resends < FREE_RESENDS
        if status == InstanceStatus.FAILED and (
            resend or run.attempt - run.resends < run.job.max_attempt
        ):
            run.resends += resend
            self.retry(run, result, at, relaunch, lost=outcome.lost and stop is None)
            return
        self.finish(run, status, result, at)

    # -- the one retry path ------------------------------------------------------------------
    def retry(self, run: Run, result: str, at: int, relaunch: Relaunch, *, lost: bool) -> None:
        """A failed attempt with attempts left runs again: after AttemptInterval, or at once
        as a system retry (stored as trigger type 5) when its worker went away mid-run."""
        job = run.job
        self._metrics.retries.inc()
        ordinal = f"attempt {run.attempt + 1} of {job.max_attempt + run.resends + 1}"
        if lost:
            delay = 0.0
            self.engine_log(
                run,
                f"{ordinal} was lost ({result[:200]}); retrying now on another worker "
                "(system retry)",
            )
        else:
            delay = float(job.attempt_interval)
            self.engine_log(
                run, f"{ordinal} failed ({result[:200]}); retrying in {job.attempt_interval} s"
            )
        self._writer.update(
            InstanceUpdate(
                instance_id=run.instance.id,
                status=InstanceStatus.WAITING,
                end_time=at,
                result=result[:RESULT_LIMIT],
                trigger_type=TriggerType.SYSTEM_RETRY if lost else None,
            )
        )
        self.schedule_retry(run, delay, relaunch, lost=lost)

    def schedule_retry(
        self, run: Run, delay_s: float, relaunch: Relaunch, *, lost: bool = False
    ) -> None:
        """Wait ``delay_s`` in WAITING_RETRY, then start the next attempt."""

        def retry_due() -> None:
            run.timer = None
            run.next_attempt(lost=lost)
            relaunch(run)

        self._move(run, RunState.WAITING_RETRY)
        run.own_timer(self._timers.call_later(max(delay_s, 0.0), retry_due))

    # -- the end -----------------------------------------------------------------------------
    def finish(
        self,
        run: Run,
        status: InstanceStatus,
        result: str,
        at: int,
        *,
        start: int | None = None,
        notify: bool = True,
    ) -> None:
        """The run ends with a final status (written, and told to the listeners)."""
        instance = run.instance
        self._move(run, RunState.ENDED)
        if run.master is not None:  # ended from outside (e.g. stopped before it began)
            master, run.master = run.master, None
            master.abandon(RunOutcome(status, result))
        self.discard_prepared(run)  # made ready but never started (a no-op once submitted)
        if run.log_cut is not None:
            self._end_log(run)
        result = result[:RESULT_LIMIT]
        self._writer.update(
            InstanceUpdate(
                instance_id=instance.id,
                status=status,
                start_time=start,
                end_time=at,
                attempt=run.attempt,
                result=result,
            )
        )
        instance.status = status
        instance.end_time = at
        instance.result = result
        self._ended(run)
        if notify:
            for listener in self.listeners:
                try:
                    listener(run.job, instance, at)
                except Exception:
                    log.exception("a final-status listener failed for instance %s", instance.id)

    def discard_prepared(self, run: Run) -> None:
        if run.worker_prepared and self._preparing is not None:
            run.worker_prepared = False
            self._preparing.discard(run.instance.id)

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

    def engine_log(self, run: Run, text: str) -> None:
        self._writer.log(
            LogLine(
                instance_id=run.instance.id,
                time=self._timers.now_ms(),
                line=f"[tickwork] {text}",
                attempt=run.attempt,
            )
        )
