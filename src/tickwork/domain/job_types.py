"""Rules of job types every layer asks: which types a worker runs when it says nothing, which
jobs are processors, and the name of a map job's root task. Here, below the engine, the
services and the workers, so that none of them reaches into another for them."""

from __future__ import annotations

from tickwork.domain.enums import OWN_JOB_TYPES, JobType

__all__ = ["OWN_TYPE_NAMES", "ROOT_TASK_NAME", "is_processor_job"]

OWN_TYPE_NAMES: frozenset[str] = frozenset(t.value for t in OWN_JOB_TYPES)
"""The job types a worker runs when it says nothing: tickwork's own (the in-process worker,
``tickwork worker`` agents, and agents older than the ``job_types`` declaration)."""

ROOT_TASK_NAME = "MAP_TASK_ROOT"
"""The task name of the root task (the one the engine starts; it may map subtasks)."""


def is_processor_job(job_type: JobType, content: str, class_name: str) -> bool:
    """A processor job: type processor, or python with a class name and no script."""
    if job_type == JobType.PROCESSOR:
        return True
    return job_type == JobType.PYTHON and not content.strip() and bool(class_name.strip())
