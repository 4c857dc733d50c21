"""HandOffs.target: which server should run an instance, from the workers here and the
agents the other servers reported at the last lease beat."""

from __future__ import annotations

from typing import cast

from tickwork.domain.enums import JobType, TimeType
from tickwork.domain.models import DESIGNATE_LABELS, Designation, Job, WorkerInfo
from tickwork.engine.hand_offs import HandOffs
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.peers import OtherServers
from tickwork.engine.runs import RunManager
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store
from tickwork.worker.abc import RunRequest


def agent(address: str, *labels: str) -> WorkerInfo:
    return WorkerInfo(
        address=address,
        worker_id=address,
        labels=labels,
        version="",
        running=0,
        concurrency=1,
        in_process=False,
        connected_at=0,
    )


class FakeWorkers:
    def __init__(self, here: dict[str, list[WorkerInfo]]) -> None:
        self.here = here

    def serves(self, namespace: str, group_id: str) -> bool:
        return f"{namespace}/{group_id}" in self.here

    def workers_of(self, namespace: str, group_id: str) -> list[WorkerInfo]:
        return self.here.get(f"{namespace}/{group_id}", [])

    def parked(self) -> list[RunRequest]:
        return []

    def take_parked(self, instance_ids: list[int]) -> list[RunRequest]:
        return []

    def submit(self, request: RunRequest) -> None:
        raise AssertionError("not called when nothing is parked")


def hand_offs(
    here: dict[str, list[WorkerInfo]], elsewhere: dict[str, list[tuple[str, WorkerInfo]]]
) -> HandOffs:
    others = OtherServers(cast(Store, None), "me", heartbeat_s=1.0)
    others.agents_elsewhere = elsewhere
    others.elsewhere = {group: [s for s, _ in found] for group, found in elsewhere.items()}
    unused = cast(Store, None)  # target() reads no store, runs or writer
    return HandOffs(
        unused,
        workers=FakeWorkers(here),
        others=others,
        jobs=JobRegistry(unused),
        runs=cast(RunManager, None),
        writer=cast(BatchWriter, None),
    )


JOB = Job(
    id=1, namespace="ns", group_id="g", name="j", job_type=JobType.SHELL, time_type=TimeType.API
)
LABELLED = Designation(kind=DESIGNATE_LABELS, labels=["gpu"], transferable=False)


def test_a_run_stays_where_a_worker_of_its_group_is() -> None:
    targets = hand_offs({"ns/g": [agent("a:1")]}, {"ns/g": [("other", agent("b:1"))]})
    assert targets.target(JOB) is None


def test_a_run_goes_to_a_server_with_a_worker_of_its_group() -> None:
    targets = hand_offs({}, {"ns/g": [("other", agent("b:1"))]})
    assert targets.target(JOB) == "other"
    assert hand_offs({}, {}).target(JOB) is None  # none anywhere: it waits here


def test_a_designated_run_goes_where_its_designation_allows() -> None:
    here = {"ns/g": [agent("a:1")]}
    elsewhere = {"ns/g": [("plain", agent("b:1")), ("gpus", agent("c:1", "gpu"))]}
    assert hand_offs(here, elsewhere).target(JOB, LABELLED) == "gpus"
    here_too = {"ns/g": [agent("a:1", "gpu")]}
    assert hand_offs(here_too, elsewhere).target(JOB, LABELLED) is None
