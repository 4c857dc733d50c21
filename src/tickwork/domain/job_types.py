"""Rules of job types every layer asks: which types a worker runs when it says nothing, which
jobs are processors, and the name of a map job's root task. Here, below the engine, the
services and the workers, so that none of them reaches into another for them."""

from __future__ import annotations

import re

from tickwork.domain.enums import OWN_JOB_TYPES, JobType
from tickwork.domain.errors import InvalidParameter

__all__ = ["OWN_TYPE_NAMES", "ROOT_TASK_NAME", "is_processor_job", "validate_class_name"]

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


_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*")


def validate_class_name(name: str) -> tuple[str, str]:
    """``package.module:Class`` (or ``package.module.Class``) → (module, class path)."""
    text = name.strip() if isinstance(name, str) else ""
    example = "e.g. 'mypackage.jobs:HelloProcessor'"
    if not text:
        raise InvalidParameter(f"class_name is empty; {example}", field="class_name")
    if ":" in text:
        module, _, qualname = text.partition(":")
    else:
        module, _, qualname = text.rpartition(".")
    if (
        not module
        or not qualname
        or not _DOTTED.fullmatch(module)
        or not _DOTTED.fullmatch(qualname)
    ):
        raise InvalidParameter(
            f"class_name {name!r} is not 'package.module:Class'; {example}", field="class_name"
        )
    return module, qualname
