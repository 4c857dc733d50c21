"""Actions whose feature comes with a later piece of work: a clear "not supported yet"."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.errors import not_supported_yet
from tickwork.api.schedulerx.registry import Call, action

_LATER = {
    "workflow support": [
        "CreateWorkflow",
        "UpdateWorkflow",
        "UpdateWorkflowDag",
        "GetWorkFlow",
        "ListWorkFlows",
        "EnableWorkflow",
        "DisableWorkflow",
        "DeleteWorkflow",
        "ExecuteWorkflow",
        "GetWorkflowInstance",
        "ListWorkflowInstance",
        "SetWfInstanceSuccess",
    ],
}


def _refuse(name: str, comes_with: str) -> None:
    async def handler(call: Call) -> dict[str, Any]:
        raise not_supported_yet(name, comes_with)

    action(name)(handler)


for _comes_with, _names in _LATER.items():
    for _name in _names:
        _refuse(_name, _comes_with)
