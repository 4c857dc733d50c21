"""The figures an agent's heartbeat carries reach the workers' list; an agent that sends
none (an older one) still works and shows none."""

from __future__ import annotations

from tickwork.domain.worker_metrics import WorkerMetrics
from tickwork.engine.agents import Agent, AgentHub
from tickwork.engine.routing_worker import RoutingWorker
from tickwork.worker.absent import AbsentWorker

FIGURES = WorkerMetrics(cpu_load1=0.5, cpu_processors=2, heap_max=100, disk_max=10)


def beat(**extra: object) -> dict[str, object]:
    return {"op": "heartbeat", "running": 0, "concurrency": 1, "draining": False, **extra}


async def test_a_heartbeat_with_figures_reaches_the_workers_list() -> None:
    hub = AgentHub()
    agent = Agent(worker_id="w", namespace="ns", group_id="g", address="10.0.0.5:42", ip="10.0.0.5")
    hub.add(agent)
    hub.handle(agent, beat(metrics=FIGURES.to_wire()))
    (info,) = RoutingWorker(AbsentWorker(), hub).workers_of("ns", "g")
    assert (info.metrics, info.ip, info.address) == (FIGURES, "10.0.0.5", "10.0.0.5:42")


async def test_an_agent_without_figures_still_works() -> None:
    hub = AgentHub()
    agent = Agent(worker_id="w", namespace="ns", group_id="g", address="old:1")
    hub.add(agent)
    hub.handle(agent, beat())  # an older agent's heartbeat
    hub.handle(agent, beat(running=3))
    assert (agent.running, agent.metrics) == (3, None)
    hub.handle(agent, beat(metrics=FIGURES.to_wire()))
    hub.handle(agent, beat(metrics={"cpu_load1": "garbage"}))  # malformed: no figures
    assert agent.metrics is None
    (info,) = RoutingWorker(AbsentWorker(), hub).workers_of("ns", "g")
    assert info.metrics is None
