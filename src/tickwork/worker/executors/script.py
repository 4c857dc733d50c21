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
from tickwork.worker.executors.process import GATE_SH, ProcessExecution
from tickwork.worker.variables import script_variables, substitute

PYTHON_GATE = (
    "import sys\n"
    "if not sys.stdin.readline():\n"
    "    sys.exit(0)\n"
    "import runpy\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)
"""A prepared python script: wait for the gate line, then run the file as ``__main__``."""

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

    def gated_argv(self, argv: Sequence[str]) -> list[str]:
        # The shell that waits at the gate sources the script itself: no second exec.
        *interpreter, path = argv
        return [*interpreter, "-c", GATE_SH + '. "$0"', path]


class PythonScriptExecution(ScriptExecution):
    suffix = ".py"

    def interpreter(self) -> list[str]:
        return [sys.executable, "-u"]

    def gated_argv(self, argv: Sequence[str]) -> list[str]:
        # The interpreter starts (the slow part) and waits at the gate, then runs the script.
        *interpreter, path = argv
        return [*interpreter, "-c", PYTHON_GATE, path]

    def extra_env(self) -> Mapping[str, str]:
        return {"PYTHONUNBUFFERED": "1"}
