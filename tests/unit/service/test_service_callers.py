"""Every action reaches the services with its caller: each public coroutine of a service
takes ``caller: Caller`` first (so a face cannot call one without saying who asks, and the
service checks that caller's rights on what it touches). The few that take none are listed
here with why."""

from __future__ import annotations

import inspect

from tickwork.service.access import AccessService
from tickwork.service.instances import InstanceService
from tickwork.service.jobs import JobService
from tickwork.service.namespaces import NamespaceService
from tickwork.service.permissions import PermissionService
from tickwork.service.policies import PolicyService
from tickwork.service.rights import Caller

SERVICES = (
    AccessService,
    InstanceService,
    JobService,
    NamespaceService,
    PermissionService,
    PolicyService,
)

WITHOUT_CALLER = {
    # who the caller is: authentication itself
    "AccessService.authenticate",
    "AccessService.find",
    "AccessService.caller_of",
    # start-up: the server's own defaults
    "AccessService.ensure_admin_key",
    "NamespaceService.ensure_defaults",
    # a worker agent authenticates with its group's AppKey, not an access key
    "NamespaceService.verify_app_key",
    # for the services themselves (a group's existence before a job is made in it)
    "NamespaceService.stored_group",
}


def public_coroutines() -> list[tuple[str, inspect.Signature]]:
    found = []
    for service in SERVICES:
        for name, member in inspect.getmembers(service, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                found.append((f"{service.__name__}.{name}", inspect.signature(member)))
    return found


def test_every_service_action_takes_its_caller_first() -> None:
    missing = []
    for name, signature in public_coroutines():
        params = list(signature.parameters.values())[1:]  # after self
        takes_caller = bool(params) and params[0].name == "caller"
        if not takes_caller and name not in WITHOUT_CALLER:
            missing.append(name)
        if takes_caller:
            assert params[0].annotation in (Caller, "Caller"), name
    assert missing == []


def test_the_exceptions_still_exist() -> None:
    # a method renamed or removed must leave the list too
    names = {name for name, _ in public_coroutines()}
    assert WITHOUT_CALLER <= names
