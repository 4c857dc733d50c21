"""Which worker may run what: the designation rules and the route strategies' split, once
for every API.

Which designation holds a run (the decision, see docs/workers.md): the run's own (ExecuteJob
``DesignateType``), else the share of the job's enabled route strategy that the run's draw
falls in, else the job's designation (DesignateWorkers), else none (any worker)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from tickwork.domain.enums import JobType
from tickwork.domain.job_types import OWN_TYPE_NAMES
from tickwork.domain.models import (
    DESIGNATE_LABELS,
    DESIGNATE_WORKERS,
    Designation,
    Job,
    RouteStrategy,
)
from tickwork.worker.abc import Worker


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


W = TypeVar("W")


def designated(
    designation: Designation | None,
    workers: Sequence[W],
    place: Callable[[W], tuple[str, tuple[str, ...]]],
) -> list[W]:
    """The workers a run held to ``designation`` may go to among ``workers`` (``place``
    gives a worker's address and labels): those it allows; when it allows none, all of them
    if it is transferable, else none."""
    allowed = [w for w in workers if designation_allows(designation, *place(w))]
    if not allowed and designation is not None and designation.transferable:
        return list(workers)
    return allowed


def runs_type(job_types: Collection[str], job_type: JobType) -> bool:
    """May a worker that runs ``job_types`` (names; none: tickwork's own) take a run of
    ``job_type``?"""
    return job_type.value in (job_types or OWN_TYPE_NAMES)


def type_refusal(job_type: JobType, namespace: str, group_id: str, *, waited_s: float = 0) -> str:
    """Why a run found no worker of its type (the instance's result): no live worker of the
    group runs it (or, after ``waited_s``, none came)."""
    t = job_type.value
    which = f"no live worker of app group {namespace}/{group_id}"
    none = f"{which} came within {waited_s:g} s" if waited_s else f"{which} runs {t}"
    own = ", ".join(sorted(OWN_TYPE_NAMES))
    return (
        f"job type {t} needs a worker that runs {t}: {none} (tickwork's own workers run "
        f"{own}; a worker agent that runs {t} says so when it connects)"
    )


def refusal(designation: Designation) -> str:
    """Why a run found no designated worker (the instance's result)."""
    if designation.kind == DESIGNATE_WORKERS:
        held = "workers " + ", ".join(designation.workers)
    else:
        held = "labels " + ", ".join(designation.labels)
    return f"no designated worker is available: the job is held to {held} and is not transferable"


def route_designation(strategy: RouteStrategy | None, draw: float) -> Designation | None:
    """The designation of a run that drew ``draw`` (0 <= draw < 1, e.g. ``random.random()``)
    under a route strategy: the entry whose cumulative share covers the draw (entries in
    their order; a 30/70 split sends draws below 0.3 to the first). Labels give a label
    designation, workers a worker one; both are transferable (when no worker of the share is
    live, the run goes to any worker rather than failing). None without an enabled strategy
    (or, for a strategy whose shares sum below 100, a draw past them)."""
    if strategy is None or not strategy.enabled:
        return None
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"draw must be in [0, 1), got {draw!r}")
    cumulative = 0
    for entry in strategy.entries:
        cumulative += entry.percentage
        # draw < cumulative/100 rather than draw*100 < cumulative: both sides are the nearest
        # doubles of the exact fractions, so draws such as i/1000 split exactly.
        if entry.percentage > 0 and draw < cumulative / 100:
            if entry.target_type == "worker":
                return Designation(kind=DESIGNATE_WORKERS, workers=list(entry.targets))
            return Designation(kind=DESIGNATE_LABELS, labels=list(entry.targets))
    return None


def effective_designation(own: Designation | None, job: Job, draw: float) -> Designation | None:
    """The designation that holds one run: its own (ExecuteJob), else the job's route
    strategy's share for ``draw``, else the job's designation (DesignateWorkers)."""
    if own is not None:
        return own
    return route_designation(job.route_strategy, draw) or job.designation
