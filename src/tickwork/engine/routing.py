"""Which worker may run what: the designation rules, once for every API.

The in-process worker is the only worker for now; worker agents (a later issue) plug into the
same rules."""

from __future__ import annotations

from tickwork.domain.models import Designation
from tickwork.worker.abc import Worker

DESIGNATE_WORKERS = 1
DESIGNATE_LABELS = 2


def worker_labels(worker: Worker) -> tuple[str, ...]:
    """The labels a worker carries (the in-process worker carries none)."""
    return tuple(getattr(worker, "labels", ()) or ())


def designation_allows(
    designation: Designation | None, address: str, labels: tuple[str, ...] = ()
) -> bool:
    """May the worker at ``address`` carrying ``labels`` run a job held to ``designation``?
    (Not counting Transferable.)"""
    if designation is None:
        return True
    if designation.kind == DESIGNATE_WORKERS:
        return address in designation.workers
    return any(label in designation.labels for label in labels)


def refusal(designation: Designation) -> str:
    """Why a run found no designated worker (the instance's result)."""
    if designation.kind == DESIGNATE_WORKERS:
        held = "workers " + ", ".join(designation.workers)
    else:
        held = "labels " + ", ".join(designation.labels)
    return f"no designated worker is available: the job is held to {held} and is not transferable"
