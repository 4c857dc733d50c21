"""The action modules; importing this package registers every action."""

from tickwork.api.schedulerx.actions import (  # noqa: F401
    access,
    calendars,
    designate,
    groups,
    instances,
    jobs,
    namespaces,
    overview,
    policies,
    regions,
    routes,
    scripts,
    unsupported,  # noqa: F401
)
