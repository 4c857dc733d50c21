"""Actions by name. Each action module registers its handlers with ``@action("Name")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tickwork.api.schedulerx.params import Params
from tickwork.service.rights import Caller
from tickwork.service.services import Services


@dataclass(slots=True, frozen=True)
class Call:
    """One verified call of an action: the services decide what ``caller`` may do."""

    action: str
    params: Params
    caller: Caller
    services: Services
    request_id: str


# A handler returns the fields of the answer beside RequestId/Code/Success/Message,
# usually {"Data": {...}} (some actions, e.g. DescribeRegions, answer other fields).
Handler = Callable[[Call], Awaitable[dict[str, Any]]]

ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in ACTIONS:
            raise RuntimeError(f"action {name} is registered twice")
        ACTIONS[name] = handler
        return handler

    return register
