"""Runs that are a subprocess (shell and python scripts, commands): capture, result, kill.

stdout and stderr are captured line by line as they come, each line a log line with its own
time; stderr lines are prefixed ``[stderr] ``. The last non-empty stdout line is the result;
a non-zero exit or a death by signal fails the run. When the main process exits, whatever it
left running in its process group is terminated too (a run owns its process group).
"""

from __future__ import annotations

import os
import signal
from abc import abstractmethod
from collections.abc import Mapping, Sequence

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import TickworkError
from tickwork.worker.abc import RunOutcome
from tickwork.worker.executors.base import Execution, clip, failed
from tickwork.worker.process_tree import STDERR, GroupProcess
from tickwork.worker.variables import script_variables, variable_env

__all__ = ["DRAIN_S", "STDERR_PREFIX", "WORKER_PREFIX", "ProcessExecution", "describe_exit"]

STDERR_PREFIX = "[stderr] "
WORKER_PREFIX = "[tickwork] "
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
    _stopping = False
    _last_line = ""

    @abstractmethod
    def argv(self) -> Sequence[str]:
        """The program and its arguments (no shell involved)."""

    def extra_env(self) -> Mapping[str, str]:
        """Variables added on top of the worker's environment and the run's variables."""
        return {}

    def cleanup(self) -> None:
        """Remove what ``argv`` created (called once the process is gone)."""

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(variable_env(script_variables(self.request)))
        env.update(self.request.extra_env)
        env.update(self.extra_env())
        return {_clean(k): _clean(v) for k, v in env.items() if k and "=" not in k}

    async def run(self) -> RunOutcome:
        try:
            try:
                argv = list(self.argv())
            except TickworkError as exc:
                return failed(exc.message)
            if self._stopping:
                return failed("killed before it started")
            try:
                process = await GroupProcess.start(
                    argv, env=self.environment(), on_line=self._on_line
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
            await self._process.terminate(self.env.kill_grace)

    def _on_line(self, fd: int, line: str, at: int) -> None:
        if fd == STDERR:
            self.env.sink.log(STDERR_PREFIX + line, at)
            return
        self.env.sink.log(line, at)
        if line.strip():
            self._last_line = line.strip()

    def _outcome(self, returncode: int) -> RunOutcome:
        if returncode == 0:
            return RunOutcome(InstanceStatus.SUCCESS, clip(self._last_line))
        exit_text = describe_exit(returncode)
        self.env.sink.log(WORKER_PREFIX + exit_text)
        if returncode < 0:
            return failed(exit_text)
        return failed(self._last_line or exit_text)
