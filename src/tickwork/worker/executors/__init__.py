"""Executors, one per job type, behind one ``Execution`` interface."""

from __future__ import annotations

from tickwork.domain.enums import JobType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.job_types import is_processor_job
from tickwork.worker.abc import RunRequest
from tickwork.worker.executors.base import Execution, ExecutionEnv, RunSink
from tickwork.worker.executors.command import CommandExecution
from tickwork.worker.executors.http import HttpAttribute, HttpExecution, parse_http_attribute
from tickwork.worker.executors.processor import ProcessorExecution, validate_class_name
from tickwork.worker.executors.script import PythonScriptExecution, ShellScriptExecution

__all__ = [
    "Execution",
    "ExecutionEnv",
    "HttpAttribute",
    "RunSink",
    "create_execution",
    "parse_http_attribute",
    "validate_class_name",
]


def create_execution(request: RunRequest, env: ExecutionEnv) -> Execution:
    """The execution of ``request``; raises InvalidParameter for a type it cannot run."""
    job_type = request.job_type
    if is_processor_job(job_type, request.content, request.class_name):
        return ProcessorExecution(request, env)
    if job_type == JobType.PYTHON:
        return PythonScriptExecution(request, env)
    if job_type == JobType.SHELL:
        return ShellScriptExecution(request, env)
    if job_type == JobType.HTTP:
        return HttpExecution(request, env)
    if job_type == JobType.COMMAND:
        return CommandExecution(request, env)
    raise InvalidParameter(f"job_type {job_type!r} cannot be run by this worker", field="job_type")
