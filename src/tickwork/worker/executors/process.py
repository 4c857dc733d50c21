"""Runs that are a subprocess (shell and python scripts, commands): capture, result, kill.

stdout and stderr are captured line by line as they come, each line a log line with its own
time; stderr lines are prefixed ``[stderr] ``. The last non-empty stdout line is the result;
a non-zero exit or a death by signal fails the run. When the main process exits, whatever it
left running in its process group is terminated too (a run owns its process group). While
the lines read wait to be written, the pipes are not read (``GroupProcess``): a process that
prints faster than that waits on its own output.
"""

from __future__ import annotations

import asyncio
import signal
from abc import abstractmethod
from collections.abc import Mapping, Sequence

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import TickworkError
from tickwork.process_secrets import inherited_environment
from tickwork.worker.abc import RunOutcome
from tickwork.worker.executors.base import Execution, clip, failed
from tickwork.worker.process_tree import STDERR, GroupProcess
from tickwork.worker.variables import script_variables, variable_env

__all__ = [
    "DRAIN_S",
    "GATE_SH",
    "STDERR_PREFIX",
    "WORKER_PREFIX",
    "ProcessExecution",
    "describe_exit",
]

STDERR_PREFIX = "[stderr] "
WORKER_PREFIX = "[tickwork] "
GATE_SH = "read -r _tw_gate || exit 0; unset _tw_gate; "
"""Shell prefix of a prepared process: wait for the gate line (EOF: the worker went away)."""
DRAIN_S = 1.0
"""After the main process exits, how long output is still read while its pipes stay open."""


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by signal SIGKILL``."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    return f"killed by signal {name}"


def _clean(value: str) -> str:
    return value.replace("\x00", "")


class ProcessExecution(Execution):
    """A run whose work is one subprocess (and whatever it starts)."""

    ends_itself_on_stop = True

    _process: GroupProcess | None = None
    _preparing: asyncio.Task[GroupProcess | None] | None = None
    _stopping = False
    _gate_open = False
    _last_line = ""

    @abstractmethod
    def argv(self) -> Sequence[str]:
        """The program and its arguments (no shell involved)."""

    def extra_env(self) -> Mapping[str, str]:
        """Variables added on top of the inherited environment and the run's variables."""
        return {}

    def cleanup(self) -> None:
        """Remove what ``argv`` created (called once the process is gone)."""

    def environment(self) -> dict[str, str]:
        # The worker's environment without tickwork's secrets and settings, then the run's own.
        env = inherited_environment()
        env.update(variable_env(script_variables(self.request)))
        env.update(self.request.extra_env)
        env.update(self.extra_env())
        return {_clean(k): _clean(v) for k, v in env.items() if k and "=" not in k}

    def gated_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` held back until a line arrives on stdin (see ``prepare``)."""
        return ["/bin/sh", "-c", GATE_SH + 'exec "$@"', "tickwork-gate", *argv]

    def prepare(self) -> None:
        """Start the process now, held before the job's code until ``run`` opens its gate:
        the cost of creating the process is paid before the due instant, not after it."""
        if self._preparing is None:
            self._preparing = asyncio.get_running_loop().create_task(self._start_gated())

    async def _start_gated(self) -> GroupProcess | None:
        try:
            argv = self.gated_argv(self.argv())
            return GroupProcess.start(
                argv,
                env=self.environment(),
                on_line=self._on_line,
                gated=True,
                watcher=self.env.guardian,
                room=self.env.sink.room_check,
            )
        except (TickworkError, OSError):
            self.cleanup()  # run() starts it the ordinary way and reports the error
            return None

    def open_gate_now(self) -> bool:
        """Open the gate of the prepared process at once if it is ready (the run's task
        follows and finds it open). False if there is nothing ready to open."""
        task = self._preparing
        if self._stopping or self._gate_open or task is None or not task.done():
            return False
        if task.cancelled() or task.exception() is not None:
            return False
        process = task.result()
        if process is None:
            return False
        process.open_gate()
        self._gate_open = True
        return True

    async def _held_process(self) -> GroupProcess | None:
        if self._preparing is None:
            return None
        try:
            return await self._preparing
        except Exception:
            return None

    async def discard(self) -> None:
        """Give up a prepared process that will not run (its gate is never opened)."""
        process = await self._held_process()
        if process is not None:
            await process.terminate(self.env.kill_grace)
            process.close()
        self.cleanup()

    async def run(self) -> RunOutcome:
        try:
            process = await self._held_process()
            if self._stopping:
                if process is not None:
                    await process.terminate(self.env.kill_grace)
                    process.close()
                return failed("killed before it started")
            if process is not None:
                if not self._gate_open:
                    process.open_gate()
                    self._gate_open = True
            else:
                try:
                    argv = list(self.argv())
                except TickworkError as exc:
                    return failed(exc.message)
                try:
                    process = GroupProcess.start(
                        argv,
                        env=self.environment(),
                        on_line=self._on_line,
                        watcher=self.env.guardian,
                        room=self.env.sink.room_check,
                    )
                except OSError as exc:
                    return failed(f"cannot start {argv[0]}: {exc.strerror or exc}")
            self._process = process
            try:
                if self._stopping:  # killed while it was starting
                    await process.terminate(self.env.kill_grace)
                returncode = await process.wait(DRAIN_S)
                await process.terminate(self.env.kill_grace)  # what it left behind
            finally:
                process.close()
        finally:
            self.cleanup()
        return self._outcome(returncode)

    async def stop(self) -> None:
        self._stopping = True
        if self._process is not None:
            self._process.ignore_room()  # its last lines must not hold up the kill
            await self._process.terminate(self.env.kill_grace)

    def _on_line(self, fd: int, line: str, at: int) -> None:
        if fd == STDERR:
            self.env.sink.log(STDERR_PREFIX + line, at)
            return
        self.env.sink.log(line, at)
        if line and not line.isspace():  # not blank (stripped once, at the end)
            self._last_line = line

    def _outcome(self, returncode: int) -> RunOutcome:
        last_line = self._last_line.strip()
        if returncode == 0:
            return RunOutcome(InstanceStatus.SUCCESS, clip(last_line))
        exit_text = describe_exit(returncode)
        self.env.sink.log(WORKER_PREFIX + exit_text)
        if returncode < 0:
            return failed(exit_text)
        return failed(last_line or exit_text)
