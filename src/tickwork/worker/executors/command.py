"""Command jobs (SAE-style): ``command`` and ``command_args`` run without a shell.

``envs`` are added to the environment (after the run's ``TICKWORK_*`` variables, so they win);
``#{schedulerx.x}`` / ``#{tickwork.x}`` variables are substituted in the arguments. Output,
result and kill follow the script rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tickwork.domain.errors import InvalidParameter
from tickwork.worker.executors.process import ProcessExecution
from tickwork.worker.variables import script_variables, substitute

__all__ = ["CommandExecution"]


class CommandExecution(ProcessExecution):
    def argv(self) -> Sequence[str]:
        command = self.request.command
        if not command.strip():
            raise InvalidParameter("a command job needs a command", field="command")
        variables = script_variables(self.request)
        return [command, *(substitute(arg, variables) for arg in self.request.command_args)]

    def extra_env(self) -> Mapping[str, str]:
        return dict(self.request.envs)
