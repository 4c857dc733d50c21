"""Shell and python script jobs: the job's content, with its variables substituted, run as a file.

Shell scripts run with ``/bin/bash`` (``/bin/sh`` where there is no bash), python scripts with
the worker's own interpreter (``sys.executable -u``). The script file lives in the system's
temporary directory for the duration of the run; the working directory is the worker's.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from abc import abstractmethod
from collections.abc import Mapping, Sequence

from tickwork.domain.errors import InvalidParameter
from tickwork.worker.executors.process import ProcessExecution
from tickwork.worker.variables import script_variables, substitute

__all__ = ["PythonScriptExecution", "ScriptExecution", "ShellScriptExecution", "shell_path"]


def shell_path() -> str:
    return "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"


class ScriptExecution(ProcessExecution):
    suffix = ".txt"
    _path: str | None = None

    @abstractmethod
    def interpreter(self) -> list[str]:
        """The program that runs the script file."""

    def argv(self) -> Sequence[str]:
        content = self.request.content
        if not content.strip():
            raise InvalidParameter(
                f"a {self.request.job_type} job needs a script in its content", field="content"
            )
        script = substitute(content, script_variables(self.request))
        fd, path = tempfile.mkstemp(
            prefix=f"tickwork-{self.request.instance_id}-", suffix=self.suffix
        )
        self._path = path
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(script)
        os.chmod(path, 0o700)
        return [*self.interpreter(), path]

    def cleanup(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None


class ShellScriptExecution(ScriptExecution):
    suffix = ".sh"

    def interpreter(self) -> list[str]:
        return [shell_path()]


class PythonScriptExecution(ScriptExecution):
    suffix = ".py"

    def interpreter(self) -> list[str]:
        return [sys.executable, "-u"]

    def extra_env(self) -> Mapping[str, str]:
        return {"PYTHONUNBUFFERED": "1"}
