"""Workers in SchedulerX's words (GetWorkerList, ReadSchedulerxDesignateInfo/Detail): a
worker is ``ip:port`` (``WorkAddr``, a designation's ``Key``) and ``id@ip:port`` in
``WorkerAddress``; its machine's figures are ``Metrics`` and whether they make it busy is
``Busy`` (``domain/worker_metrics.py`` decides). Translation only."""

from __future__ import annotations

from typing import Any

from tickwork import __version__
from tickwork.domain.models import WorkerInfo
from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.worker.host import is_ip

__all__ = [
    "AGENT_STARTER",
    "IN_PROCESS_STARTER",
    "bare_address",
    "metrics_out",
    "starter_of",
    "version_of",
    "worker_info_out",
]

# How a worker was started (``Starter``): the server's own worker, or a worker agent.
IN_PROCESS_STARTER = "tickwork-server"
AGENT_STARTER = "tickwork worker"


def bare_address(text: str) -> str:
    """The worker a SchedulerX client names: ``id@ip:port`` as GetWorkerList shows it, or
    ``ip:port`` as instances show it (``WorkAddr``) are the same worker, ``ip:port``."""
    text = text.strip()
    return text.split("@", 1)[1] if "@" in text else text


def _host_port(address: str) -> tuple[str, str]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return (address, "")
    return (host.strip("[]"), port)


def starter_of(worker: WorkerInfo) -> str:
    return IN_PROCESS_STARTER if worker.in_process else AGENT_STARTER


def version_of(worker: WorkerInfo) -> str:
    return __version__ if worker.in_process else worker.version


def worker_info_out(worker: WorkerInfo) -> dict[str, Any]:
    """A GetWorkerList ``WorkerInfos`` item. ``Ip`` is the address's host when that is an
    IP (an agent given another ``--address`` shows the IP it connected from)."""
    host, port = _host_port(worker.address)
    return {
        "WorkerAddress": f"{worker.worker_id}@{worker.address}",
        "Ip": host if is_ip(host) else (worker.ip or host),
        "Port": int(port) if port else 0,
        "Label": ",".join(worker.labels),
        "Starter": starter_of(worker),
        "Version": version_of(worker),
    }


def metrics_out(metrics: WorkerMetrics | None) -> dict[str, Any]:
    """``Metrics`` of a designation detail as the model names them; {} when the worker
    reports none."""
    if metrics is None:
        return {}
    return {
        "CpuLoad1": metrics.cpu_load1,
        "CpuLoad5": metrics.cpu_load5,
        "CpuProcessors": metrics.cpu_processors,
        "Heap1Usage": metrics.heap1_usage,
        "Heap5Usage": metrics.heap5_usage,
        "Heap1Used": metrics.heap1_used,
        "HeapMax": metrics.heap_max,
        "DiskUsage": metrics.disk_usage,
        "DiskUsed": metrics.disk_used,
        "DiskMax": metrics.disk_max,
        "ExecCount": metrics.exec_count,
        # tickwork's workers have no shared thread pool of SchedulerX's kind
        "SharePoolAvailableSize": 0,
        "SharePoolQueueSize": 0,
    }
