"""The in-process worker of the embedded default: runs jobs as asyncio tasks of the server.

``submit`` starts a task at once; at most ``concurrency`` runs execute together, the others wait
their turn. Each run reports ``started`` when it begins executing, then exactly one
``finished``: SUCCESS, FAILED (also when the executor raises: the exception is the result and
its traceback goes to the log) or KILLED (the kill's reason is the result).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import httpx

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter, InvalidState, TickworkError
from tickwork.domain.log_cap import LogLimits
from tickwork.worker.abc import LogRoom, RoomCheck, RunOutcome, RunReporter, RunRequest
from tickwork.worker.executors import ExecutionEnv, RunSink, create_execution
from tickwork.worker.executors.base import clip
from tickwork.worker.executors.process import ProcessExecution
from tickwork.worker.executors.processor import ProcessorExecution, ProcessorRuntime
from tickwork.worker.held_runs import (
    HeldRun,
    LatestAttempts,
    Prepared,
    TaskSlots,
    prepared_for,
    same_task,
)
from tickwork.worker.process_tree import GroupWatcher
from tickwork.worker.slots import Slots

__all__ = ["DEFAULT_KILL_GRACE_S", "InProcessWorker"]

DEFAULT_KILL_GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL when a process tree is killed."""

PREPARED_PROCESSES_MAX = 256
"""At most this many processes held at their gates at once (each is a live shell, about a
megabyte): runs past it start their process when they are due. Prepared processor runs are
only objects, and go up to the worker's concurrency."""

_log = logging.getLogger("tickwork.worker")


def _always() -> bool:
    return True


class InProcessWorker:
    """A ``Worker`` that runs jobs inside the current process and event loop."""

    def __init__(
        self,
        concurrency: int,
        address: str | None = None,
        *,
        kill_grace: float = DEFAULT_KILL_GRACE_S,
        guardian: GroupWatcher | None = None,
        processors: ProcessorRuntime | None = None,
        may_start: Callable[[], bool] = _always,
    ) -> None:
        """``guardian``: told the process group of every run (``worker/guardian.py``), so
        that the runs are killed if this process dies. ``processors``: what its processor
        runs share (their threads, the classes imported); its own when not given.
        ``may_start``: asked when a run gets its slot; False ends it as lost, not started
        (an agent out of touch with its server, ``agent/touch.py``)."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidParameter(
                f"concurrency must be a whole number of at least 1, got {concurrency!r}",
                field="concurrency",
            )
        if kill_grace < 0:
            raise InvalidParameter(
                f"kill_grace must not be negative, got {kill_grace!r}", field="kill_grace"
            )
        self._concurrency = concurrency
        self._address = address or f"inproc@{socket.gethostname()}"
        self._kill_grace = kill_grace
        self._guardian = guardian
        self._may_start = may_start
        # the latest attempt handed over of each instance, oldest first: the fencing token
        # an older attempt's run message is refused by (``superseded``)
        self._attempts = LatestAttempts()
        self._processors = ProcessorRuntime() if processors is None else processors
        self._reporter: RunReporter | None = None
        self._log_room: RoomCheck | None = None  # the reporter's, if it offers LogRoom
        # cut each run's log as the engine will (domain/log_cap.py), to report less: a worker
        # agent sets the server's limits; the server's own worker leaves it to the engine
        self.log_limits: LogLimits | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: Slots | None = None
        self._http: httpx.AsyncClient | None = None
        self._runs: dict[tuple[int, int], HeldRun] = {}  # by RunRequest.run_key
        self._task_slots: dict[int, TaskSlots] = {}  # by instance id
        self._prepared: dict[int, Prepared] = {}
        self._prepared_processes = 0  # of them, processes held at a gate
        self._opened_since_wait = False  # gates opened since the last let_start
        self._killers: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.executed = 0  # runs and tasks taken so far (the heartbeat's ExecCount)

    @property
    def address(self) -> str:
        return self._address

    @property
    def concurrency(self) -> int:
        return self._concurrency

    async def start(self, reporter: RunReporter) -> None:
        if self._reporter is not None:
            raise InvalidState(f"worker {self._address} is already started")
        self._reporter = reporter
        self._log_room = reporter.log_room if isinstance(reporter, LogRoom) else None
        self._loop = asyncio.get_running_loop()
        self._slots = Slots(self._concurrency)
        self._http = httpx.AsyncClient(
            follow_redirects=True,
            limits=httpx.Limits(max_connections=max(100, self._concurrency)),
        )
        self._stopping = False

    def running(self) -> int:
        """Runs accepted and not finished (executing or waiting for a slot)."""
        return len(self._runs)

    def holding(self) -> list[RunRequest]:
        """The requests of the runs accepted and not finished."""
        return [run.request for run in self._runs.values()]

    def submit(self, request: RunRequest) -> None:
        if (
            self._reporter is None
            or self._loop is None
            or self._slots is None
            or self._http is None
        ):
            raise InvalidState(f"worker {self._address} is not started")
        if self._stopping:
            self._reporter.finished(
                request.instance_id,
                request.attempt,
                RunOutcome(InstanceStatus.FAILED, f"worker {self._address} is stopping", lost=True),
                now_ms(),
                *(() if request.task is None else (request.task.key,)),
            )
            return
        self._attempts.note(request)
        key = request.run_key
        current = self._runs.get(key)
        if current is not None:
            if current.request.attempt == request.attempt and same_task(current.request, request):
                _log.warning(
                    "instance %s attempt %s%s is already running; ignored",
                    request.instance_id,
                    request.attempt,
                    "" if request.task is None else f" task {request.task.task_id}",
                )
                return
            self._kill_run(current, f"superseded by attempt {request.attempt}")
        prepared = self._take_prepared(request.instance_id) if request.task is None else None
        if prepared is not None and not prepared_for(prepared, request):
            self._background(prepared.execution.discard())  # prepared for an older version
            prepared = None
        run = HeldRun(request, prepared)
        if prepared is not None and (prepared.started or self._slots.try_take()):
            run.slot_taken = True
            if prepared.execution.open_gate_now():  # the code starts now, not a few hops on
                self._opened_since_wait = True
        self._runs[key] = run
        self.executed += 1
        run.task = self._loop.create_task(
            self._execute(run, self._reporter, self._slots_for(request), self._http),
            name=f"tickwork-run-{request.instance_id}-{request.attempt}",
        )

    def superseded(self, request: RunRequest) -> bool:
        """A later attempt of the instance was handed here: ``request`` is stale (a message
        that waited while the worker was frozen or cut off)."""
        return self._attempts.superseded(request)

    def give_up(self, reason: str, *, running_too: bool) -> int:
        """The agent lost touch with its server: what was made ready is discarded, what
        waits for a slot ends as lost without starting, and with ``running_too`` what runs
        is killed and ends as lost (the server may have given it to another worker). How
        many runs and tasks were given up."""
        for instance_id in list(self._prepared):
            self.discard(instance_id)
        count = 0
        for run in list(self._runs.values()):
            if run.finished or (run.execution is not None and not running_too):
                continue
            run.lost = reason
            if self._kill_run(run, reason):
                count += 1
        return count

    def start_prepared(self, requests: list[RunRequest]) -> None:
        """Open the gates of the runs prepared with these requests, taking their slots, in
        one go once all are checked, their calls queued together (a thread takes a call as
        soon as it is queued, and the GIL it then holds would slow the checks and openings
        of the next ones); the ``submit`` that follows each finds it started. Anything else
        is left to ``submit``."""
        if self._stopping or self._slots is None:
            return
        ready: list[Prepared] = []
        for request in requests:
            prepared = self._prepared.get(request.instance_id)
            if (
                prepared is None
                or prepared.started
                or not prepared_for(prepared, request)
                or request.run_key in self._runs
                or not self._slots.try_take()
            ):
                continue
            prepared.started = True
            ready.append(prepared)
        with self._processors.gates_opened_together():
            for prepared in ready:
                if prepared.execution.open_gate_now():
                    self._opened_since_wait = True

    def _slots_for(self, request: RunRequest) -> Slots:
        """A task with ``consumers`` runs under its instance's own bound on this worker."""
        assert self._slots is not None
        task = request.task
        if task is None or task.consumers <= 0:
            return self._slots
        held = self._task_slots.get(request.instance_id)
        if held is None:
            held = self._task_slots[request.instance_id] = TaskSlots(Slots(task.consumers))
        held.tasks += 1
        return held.slots

    def prepare(self, request: RunRequest) -> None:
        """Start the process of a run due soon, held before the job's code; ``submit`` with
        the same request opens it. Runs that are not processes need no preparing."""
        if (
            self._reporter is None
            or self._loop is None
            or self._http is None
            or self._stopping
            or request.task is not None
            or request.instance_id in self._prepared
            or request.run_key in self._runs
            or len(self._prepared) >= self._concurrency
        ):
            return
        sink = self._sink(self._reporter, request, self._loop)
        env = ExecutionEnv(
            sink=sink,
            http=self._http,
            kill_grace=self._kill_grace,
            processors=self._processors,
            guardian=self._guardian,
        )
        try:
            execution = create_execution(request, env)
        except TickworkError:
            return  # submit reports it
        if isinstance(execution, ProcessExecution):
            if self._prepared_processes >= PREPARED_PROCESSES_MAX:
                return
            self._prepared_processes += 1
        elif not isinstance(execution, ProcessorExecution):
            return
        execution.prepare()
        self._prepared[request.instance_id] = Prepared(request, execution, sink)

    def _sink(
        self, reporter: RunReporter, request: RunRequest, loop: asyncio.AbstractEventLoop
    ) -> RunSink:
        return RunSink(
            reporter,
            request,
            loop,
            room=self._log_room,
            limits=self.log_limits,
            may_start=self._may_start,
        )

    def discard(self, instance_id: int, attempt: int | None = None) -> None:
        """Give up what ``prepare`` made for a run that will not be submitted (of that
        attempt only, when given)."""
        held = self._prepared.get(instance_id)
        if held is not None and attempt is not None and held.request.attempt != attempt:
            return
        prepared = self._take_prepared(instance_id)
        if prepared is not None and self._loop is not None:
            self._background(prepared.execution.discard())

    def _take_prepared(self, instance_id: int) -> Prepared | None:
        prepared = self._prepared.pop(instance_id, None)
        if prepared is not None and isinstance(prepared.execution, ProcessExecution):
            self._prepared_processes -= 1
        return prepared

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            return
        task = self._loop.create_task(work)
        self._killers.add(task)
        task.add_done_callback(self._killers.discard)

    def let_start(self, timeout: float) -> None:
        """Wait (blocking, the GIL released) until the processor calls of the runs just
        submitted have started, so that a burst of due runs starts before the event loop
        goes on with their bookkeeping. Other runs start without the loop's help."""
        if self._opened_since_wait:
            self._opened_since_wait = False
            self._processors.wait_calls_taken(timeout)

    def kill(self, instance_id: int, reason: str, *, attempt: int | None = None) -> bool:
        """Kill every run of the instance here (the whole run, or its tasks); of that
        attempt only when given (the fencing token of the kill)."""
        runs = [
            run
            for key, run in self._runs.items()
            if key[0] == instance_id and (attempt is None or run.request.attempt == attempt)
        ]
        killed = False
        for run in runs:
            killed = self._kill_run(run, reason) or killed
        return killed

    def _kill_run(self, run: HeldRun, reason: str) -> bool:
        if run.finished or self._loop is None:
            return False
        if run.kill_reason is not None:
            return True
        run.kill_reason = reason or "killed"
        if run.sink is not None:  # a processor asking ``is_current`` learns it now
            run.sink.revoked = True
        if run.execution is None:  # still waiting for a slot
            if run.task is not None:
                run.task.cancel()
            return True
        self._background(self._kill_execution(run))
        return True

    async def stop(self, grace: float) -> None:
        self._stopping = True
        for instance_id in list(self._prepared):
            self.discard(instance_id)
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=max(grace, 0))
        for run in list(self._runs.values()):
            self._kill_run(run, f"worker {self._address} stopped")
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self._kill_grace + 10.0)
        stuck = [run.task for run in self._runs.values() if run.task is not None]
        for task in stuck:  # should not happen: give up on them (they report KILLED)
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=1.0)
        if self._killers:
            await asyncio.wait(set(self._killers), timeout=1.0)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._reporter = None
        self._log_room = None

    async def _kill_execution(self, run: HeldRun) -> None:
        execution = run.execution
        if execution is None:
            return
        try:
            await execution.stop()
        except Exception:
            _log.exception("stopping instance %s failed", run.request.instance_id)
        if not execution.ends_itself_on_stop and run.inner is not None:
            run.inner.cancel()

    async def _execute(
        self,
        run: HeldRun,
        reporter: RunReporter,
        slots: Slots,
        http: httpx.AsyncClient,
    ) -> None:
        request = run.request
        if run.prepared is not None:
            sink = run.prepared.sink
        else:
            sink = self._sink(reporter, request, asyncio.get_running_loop())
        run.sink = sink
        outcome = RunOutcome(InstanceStatus.FAILED, "the run ended without an outcome")
        holding = run.slot_taken
        try:
            if not holding:
                await slots.take()
                holding = True
                if not self._may_start():  # the slot came after the agent lost touch
                    run.lost = (
                        f"worker {self._address} is out of touch with its server; not started"
                    )
                    return
            if request.task is None:  # the master knows where it sent a task
                reporter.started(request.instance_id, request.attempt, self._address, now_ms())
            env = ExecutionEnv(
                sink=sink,
                http=http,
                kill_grace=self._kill_grace,
                processors=self._processors,
                guardian=self._guardian,
            )
            outcome = await self._run_execution(run, env)
        except asyncio.CancelledError:
            if run.kill_reason is None:
                outcome = RunOutcome(InstanceStatus.FAILED, "the run was cancelled")
                raise
            outcome = RunOutcome(InstanceStatus.KILLED, clip(run.kill_reason))
        finally:
            if holding:
                slots.give()
            run.finished = True
            if run.lost is not None:
                outcome = RunOutcome(InstanceStatus.FAILED, clip(run.lost), lost=True)
            sink.close()  # the tail of a cut log is reported now, before the outcome
            if sink.dropped_lines:
                outcome = replace(
                    outcome, dropped_lines=sink.dropped_lines, dropped_bytes=sink.dropped_bytes
                )
            key = request.run_key
            if self._runs.get(key) is run:
                del self._runs[key]
            task = request.task
            held = self._task_slots.get(key[0]) if task is not None and task.consumers else None
            if held is not None:
                held.tasks -= 1
                if held.tasks <= 0:  # the last task of the instance here
                    del self._task_slots[key[0]]
            try:
                if request.task is None:
                    reporter.finished(request.instance_id, request.attempt, outcome, now_ms())
                else:
                    reporter.finished(
                        request.instance_id, request.attempt, outcome, now_ms(), request.task.key
                    )
            except Exception:
                _log.exception("reporting the outcome of instance %s failed", request.instance_id)

    async def _run_execution(self, run: HeldRun, env: ExecutionEnv) -> RunOutcome:
        try:
            execution = (
                run.prepared.execution
                if run.prepared is not None
                else create_execution(run.request, env)
            )
        except TickworkError as exc:
            return RunOutcome(InstanceStatus.FAILED, clip(exc.message))
        run.execution = execution
        run.inner = inner = asyncio.create_task(execution.run())
        try:
            outcome = await asyncio.shield(inner)
        except asyncio.CancelledError:
            if not inner.cancelled():  # we are cancelled from outside, not the execution
                inner.cancel()
                with contextlib.suppress(BaseException):
                    await inner
                raise
            outcome = RunOutcome(InstanceStatus.KILLED, "")
        except Exception as exc:
            for chunk in traceback.format_exception(exc):
                for line in chunk.rstrip("\n").splitlines():
                    env.sink.log(line)
            outcome = RunOutcome(InstanceStatus.FAILED, clip(f"{type(exc).__name__}: {exc}"))
        if run.kill_reason is not None:
            return RunOutcome(InstanceStatus.KILLED, clip(run.kill_reason))
        return outcome
