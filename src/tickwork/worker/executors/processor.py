"""Processor jobs: a Python class named ``package.module:Class`` runs in the worker's process.

Each run gets a new instance; ``pre_process``, ``process`` and ``post_process`` are called in
turn. Plain methods run in a daemon thread (reused, see ``worker/daemon_threads.py``; a
killed, stuck processor cannot hold the worker's shutdown), ``async def`` ones on the loop.

A task of a distributed run (``request.task``) calls only the methods of its phase: PRE
``pre_process``; PART ``process``; ROOT ``pre_process`` and ``process``; SUB ``process`` of one
subtask; REDUCE ``reduce`` (if the class has one) then ``post_process``; POST ``post_process``.
In ROOT and SUB, ``map(task_list, task_name)`` sends the subtasks (as JSON) to the engine.

What the runs of one worker share (those threads, the classes imported) is its
``ProcessorRuntime`` (``processor_runtime.py``), lent through ``ExecutionEnv.processors``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter, TickworkError
from tickwork.domain.job_types import ROOT_TASK_NAME, validate_class_name
from tickwork.processor import JobContext, Processor, ProcessResult
from tickwork.worker.abc import RunOutcome, RunRequest, TaskPhase
from tickwork.worker.executors.base import Execution, RunSink, clip, failed
from tickwork.worker.executors.processor_runtime import GatedCall, ProcessorRuntime

__all__ = [
    "KILL_CALL_TIMEOUT_S",
    "ProcessorExecution",
    "ProcessorRuntime",
    "make_context",
    "validate_class_name",
]

MAP_CHUNK = 5_000
"""Subtasks per ``mapped`` report (a larger map() is sent in several)."""

KILL_CALL_TIMEOUT_S = 5.0
"""How long ``Processor.kill(ctx)`` may take before the run is abandoned anyway."""


def _aware(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


_LINE_FORMAT = logging.Formatter("%(levelname)s %(message)s")


class _RunLogger(logging.Logger):
    """A run's logger: its records become the instance's log lines. It hands them to the
    sink itself rather than through a ``logging.Handler``: a handler per run registers
    with the logging module under its lock and leaves a weak reference that is removed
    from a list of every handler alive (thousands of runs in flight made that 5 % of the
    server's CPU). Handlers the job's code adds get the records too."""

    def __init__(self, name: str, sink: RunSink) -> None:
        super().__init__(name, logging.INFO)
        self._sink = sink

    def callHandlers(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        try:
            text = _LINE_FORMAT.format(record)
        except Exception as exc:  # a bad format string must not kill the run
            text = f"ERROR a log call of the job failed to format: {exc!r} ({record.msg!r})"
        at = int(record.created * 1000)
        for line in text.splitlines() or [""]:
            self._sink.log_threadsafe(line, at)
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


def make_context(request: RunRequest, sink: RunSink) -> JobContext:
    """The processor's view of a run; its logger and progress go to ``sink``."""
    logger = _RunLogger(f"tickwork.job.{request.job_id}.{request.instance_id}", sink)
    task = request.task
    task_fields: dict[str, Any] = {}
    if task is not None:
        task_fields = {
            "task_id": task.task_id if task.phase == TaskPhase.SUB else 0,
            "task_name": task.name or ROOT_TASK_NAME,
            "task": json.loads(task.body) if task.body else None,
            "task_attempt": task.attempt,
            "task_results": dict(task.results),
            "task_statuses": {tid: InstanceStatus(status) for tid, status in task.statuses},
        }
    return JobContext(
        job_id=request.job_id,
        job_instance_id=request.instance_id,
        job_name=request.job_name,
        namespace=request.namespace,
        group_id=request.group_id,
        execute_mode=request.execute_mode,
        trigger_type=request.trigger_type,
        schedule_time=_aware(request.schedule_time),
        data_time=_aware(request.data_time),
        job_parameters=request.job_parameters,
        instance_parameters=request.instance_parameters,
        attempt=request.attempt,
        max_attempt=request.max_attempt,
        sharding_id=request.sharding_id,
        sharding_num=request.sharding_num,
        sharding_parameter=request.sharding_parameter,
        logger=logger,
        progress_callback=sink.progress_threadsafe,
        current_callback=sink.current,
        **task_fields,
    )


def map_dispatcher(sink: RunSink) -> Any:
    """The ``map(task_list, task_name)`` of a ROOT or SUB task: the subtasks go to the engine
    as JSON (an object that is not JSON-serialisable is refused, naming its index)."""

    def dispatch(task_list: Any, task_name: str) -> ProcessResult:
        bodies: list[str] = []
        for index, item in enumerate(task_list):
            try:
                bodies.append(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
            except (TypeError, ValueError) as exc:
                raise InvalidParameter(
                    f"map(): task_list[{index}] cannot be sent as JSON ({exc}); map dicts, "
                    "lists, strings and numbers",
                    field="task_list",
                ) from None
        for start in range(0, len(bodies), MAP_CHUNK):
            sink.mapped_threadsafe(task_name, bodies[start : start + MAP_CHUNK])
        return ProcessResult(True, f"mapped {len(bodies)} subtask(s) as {task_name!r}")

    return dispatch


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class _NotCurrent(Exception):
    """The run stopped being this worker's to do before a thread took its call (a worker
    agent frozen or cut off meanwhile): the call is not made."""


def _fenced(function: Callable[..., Any], sink: RunSink) -> Callable[..., Any]:
    """``function``, made only if the run is still current when a thread takes it: a call
    queued before a freeze must not start on waking (the run may be running elsewhere)."""

    def call(*args: Any) -> Any:
        if not sink.current():
            raise _NotCurrent
        return function(*args)

    return call


class ProcessorExecution(Execution):
    _instance: Any = None
    _context: JobContext | None = None
    _gated: GatedCall | None = None  # the first blocking call, made ready by ``prepare``
    _gated_method = ""

    def prepare(self) -> None:
        """Shortly before a whole run is due: make its instance and context, and hold its
        first blocking call (``pre_process`` if the class has its own, else ``process``) at
        a gate that ``open_gate_now`` or ``run`` opens. A class not imported yet, or one
        whose constructor fails, is left for ``run``."""
        cls = self.env.processors.cached_class(self.request.class_name)
        if cls is None or self.request.task is not None or self._instance is not None:
            return
        try:
            instance = cls()
        except Exception:
            return  # run() makes it again and reports the failure
        self._instance = instance
        self._context = context = make_context(self.request, self.env.sink)
        method = "process" if _inherited_no_op(instance, "pre_process") else "pre_process"
        function = getattr(instance, method, None)
        if callable(function) and not inspect.iscoroutinefunction(function):
            self._gated = self.env.processors.gated(_fenced(function, self.env.sink), context)
            self._gated_method = method

    def open_gate_now(self) -> bool:
        """Start the prepared call now (the job's code starts without waiting for the loop)."""
        if self._gated is None:
            return False
        self._gated.open()
        return True

    async def discard(self) -> None:
        """The prepared run will not happen."""
        gated, self._gated = self._gated, None
        if gated is not None:
            gated.drop()

    async def _first_call(self, method: str, function: Callable[..., Any], arg: Any) -> Any:
        gated = self._gated
        if gated is None or method != self._gated_method:
            return await self._call(function, arg)
        self._gated = None
        gated.open()
        result = await gated.future
        if inspect.isawaitable(result):
            return await result
        return result

    async def run(self) -> RunOutcome:
        try:
            return await self._run()
        finally:
            await self.discard()  # a prepared call never made (the run failed before it)

    async def _run(self) -> RunOutcome:
        name = self.request.class_name
        if self._instance is not None and self._context is not None:  # prepared
            instance, context = self._instance, self._context
        else:
            processors = self.env.processors
            cls = processors.cached_class(name)  # imported before: no thread needed
            if cls is None:
                try:
                    cls = await processors.in_thread(processors.load_class, name)
                except TickworkError as exc:
                    return failed(exc.message)
            context = self._context = make_context(self.request, self.env.sink)
            try:
                self._instance = instance = cls()
            except Exception as exc:
                self._log_traceback(exc)
                return failed(f"cannot create {name}: {type(exc).__name__}: {exc}")
        task = self.request.task
        phase = None if task is None else task.phase
        if phase in (TaskPhase.ROOT, TaskPhase.SUB):
            instance.map_dispatcher = map_dispatcher(self.env.sink)
        self._stage = "pre_process"
        try:
            result = await self._phases(instance, context, phase)
        except _NotCurrent:
            return RunOutcome(
                InstanceStatus.FAILED,
                f"{name}.{self._stage}() not started: no longer this worker's to do",
                lost=True,
            )
        except Exception as exc:
            self._log_traceback(exc)
            return failed(f"{name}.{self._stage}() raised {type(exc).__name__}: {exc}")
        if isinstance(result, RunOutcome):
            return result
        status = InstanceStatus.SUCCESS if result.success else InstanceStatus.FAILED
        return RunOutcome(status, clip(str(result.result)))

    _stage = "process"

    async def _phases(
        self, instance: Any, context: JobContext, phase: TaskPhase | None
    ) -> ProcessResult | RunOutcome:
        """Call the methods of the run's phase (all three for a whole run)."""
        name = self.request.class_name
        if phase in (None, TaskPhase.PRE, TaskPhase.ROOT):
            await self._optional(instance, "pre_process", context)
            if phase == TaskPhase.PRE:
                return ProcessResult(True, "")
        result = ProcessResult(True, "")
        if phase in (None, TaskPhase.PART, TaskPhase.ROOT, TaskPhase.SUB):
            self._stage = "process"
            result = await self._first_call("process", instance.process, context)
            if not isinstance(result, ProcessResult):
                return failed(
                    f"{name}.process() returned {_describe(result)}, expected a ProcessResult"
                )
            if phase is not None:  # a part: post_process comes once, after all of them
                return result
        if phase == TaskPhase.REDUCE and callable(getattr(instance, "reduce", None)):
            self._stage = "reduce"
            result = await self._call(instance.reduce, context)
            if not isinstance(result, ProcessResult):
                return failed(
                    f"{name}.reduce() returned {_describe(result)}, expected a ProcessResult"
                )
        self._stage = "post_process"
        replacement = await self._optional(instance, "post_process", context)
        if isinstance(replacement, ProcessResult):
            return replacement
        if replacement is not None:
            return failed(
                f"{name}.post_process() returned {_describe(replacement)}, "
                "expected a ProcessResult or None"
            )
        return result

    async def _optional(self, instance: Any, method: str, context: JobContext) -> Any:
        self._stage = method
        function = getattr(instance, method, None)
        if not callable(function) or _inherited_no_op(instance, method):
            return None  # nothing to run: no thread hop for it
        return await self._first_call(method, function, context)

    async def stop(self) -> None:
        instance, context = self._instance, self._context
        kill = getattr(instance, "kill", None)
        if context is None or not callable(kill):
            return
        try:
            # unfenced: the kill comes once the run is no longer current
            await asyncio.wait_for(self._call(kill, context, fenced=False), KILL_CALL_TIMEOUT_S)
        except Exception as exc:
            self.env.sink.log(f"[tickwork] kill() of {self.request.class_name} failed: {exc!r}")

    async def _call(self, method: Callable[..., Any], *args: Any, fenced: bool = True) -> Any:
        """Await an ``async def`` method; run a plain one in a thread (only if the run is
        still current when the thread takes it, unless not ``fenced``)."""
        if inspect.iscoroutinefunction(method):
            return await method(*args)
        call = _fenced(method, self.env.sink) if fenced else method
        result = await self.env.processors.in_thread(call, *args)
        if inspect.isawaitable(result):
            return await result
        return result

    def _log_traceback(self, exc: BaseException) -> None:
        for chunk in traceback.format_exception(exc):
            for line in chunk.rstrip("\n").splitlines():
                self.env.sink.log(line)


def _inherited_no_op(instance: Any, method: str) -> bool:
    """Is ``method`` the base Processor's own, which does nothing?"""
    return getattr(type(instance), method, None) is getattr(Processor, method)
