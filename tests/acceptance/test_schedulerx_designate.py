"""DesignateWorkers and friends, and ManageSchedulerxJobSync, through the official client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models as m
from alibabacloud_schedulerx220190430.client import Client
from server_support import ServerProcess
from sx_support import SX_KEY, ok, refused

NS, GROUP, REGION = "default", "default", "cn-hangzhou"


@pytest.fixture(scope="module")
def native(sx_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sx_server.url, auth=SX_KEY, timeout=30) as client:
        yield client


def new_job(native: httpx.Client, name: str, **fields: Any) -> int:
    body = {"name": name, "job_type": "shell", "content": "echo ran", "time_type": "api", **fields}
    created = native.post("/api/v1/jobs", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def run_to_end(native: httpx.Client, job_id: int) -> dict[str, Any]:
    instance = native.post(f"/api/v1/jobs/{job_id}/run").json()
    deadline = time.monotonic() + 30
    while True:
        current: dict[str, Any] = native.get(f"/api/v1/instances/{instance['id']}").json()
        if current["status"] not in ("waiting", "running"):
            return current
        assert time.monotonic() < deadline, current
        time.sleep(0.05)


def designate(sx: Client, job_id: int, kind: int, items: list[str], transferable: bool) -> None:
    field = {"workers": json.dumps(items)} if kind == 1 else {"labels": json.dumps(items)}
    ok(
        sx.designate_workers(
            m.DesignateWorkersRequest(
                namespace=NS,
                group_id=GROUP,
                job_id=job_id,
                designate_type=kind,
                transferable=transferable,
                region_id=REGION,
                **field,
            )
        )
    )


def info(sx: Client, job_id: int) -> Any:
    return ok(
        sx.read_schedulerx_designate_info(
            m.ReadSchedulerxDesignateInfoRequest(
                namespace=NS, group_id=GROUP, job_id=job_id, region_id=REGION
            )
        )
    ).body.data


def test_runs_go_only_to_designated_workers_unless_transferable(
    sx: Client, native: httpx.Client
) -> None:
    job_id = new_job(native, "held")
    here = run_to_end(native, job_id)["worker"]  # the in-process worker's address
    assert here

    designate(sx, job_id, 1, ["elsewhere:7000"], transferable=False)
    refused = run_to_end(native, job_id)
    assert refused["status"] == "failed"
    assert "no designated worker" in refused["result"] and "elsewhere:7000" in refused["result"]
    data = info(sx, job_id)
    assert (data.designate_type, data.transferable) == (1, False)
    vos = {vo.key: (vo.checked, vo.offline) for vo in data.designate_detail_vos}
    assert vos == {here: (False, False), "elsewhere:7000": (True, True)}

    designate(sx, job_id, 1, ["elsewhere:7000"], transferable=True)
    assert run_to_end(native, job_id)["status"] == "success"  # goes to a live worker instead

    designate(sx, job_id, 1, [here], transferable=False)
    assert run_to_end(native, job_id)["status"] == "success"

    designate(sx, job_id, 2, ["gpu"], transferable=False)
    assert run_to_end(native, job_id)["status"] == "failed"  # no live worker carries "gpu"
    detail = sx.read_schedulerx_designate_detail(
        m.ReadSchedulerxDesignateDetailRequest(
            namespace=NS, group_id=GROUP, job_id=job_id, designate_type=2, region_id=REGION
        )
    ).body.data.designate_detail_vos
    assert [(vo.key, vo.checked, vo.offline) for vo in detail] == [("gpu", True, True)]


def test_bad_designations_name_the_parameter(sx: Client, native: httpx.Client) -> None:
    job_id = new_job(native, "badly-held")
    wrong_type = refused(lambda: designate(sx, job_id, 3, ["x"], transferable=True))
    assert wrong_type.code == 400 and "DesignateType" in wrong_type.message
    empty = refused(lambda: designate(sx, job_id, 1, [], transferable=True))
    assert empty.code == 400 and "Workers" in empty.message
    unknown = refused(lambda: info(sx, 987654))
    assert unknown.code == 404 and unknown.message == "job 987654 does not exist"


def test_job_sync_copies_jobs_into_another_group(sx: Client, native: httpx.Client) -> None:
    native.post("/api/v1/namespaces", json={"id": "sync-target", "name": "target"})
    native.post("/api/v1/namespaces/sync-target/groups", json={"group_id": "copies"})
    first = new_job(native, "sync-a", time_type="cron", time_expression="0 0 3 * * ?")
    second = new_job(native, "sync-b", description="b")
    sx.manage_schedulerx_job_sync(
        m.ManageSchedulerxJobSyncRequest(
            original_namespace=NS,
            original_group_id=GROUP,
            target_namespace="sync-target",
            target_group_id="copies",
            job_id_list=[first, second],
            region_id=REGION,
        )
    )
    copied = native.get("/api/v1/jobs", params={"namespace": "sync-target"}).json()["items"]
    assert sorted((j["name"], j["description"]) for j in copied) == [
        ("sync-a", ""),
        ("sync-b", "b"),
    ]
    assert all(j["id"] not in (first, second) for j in copied)
    cron = next(j for j in copied if j["name"] == "sync-a")
    assert cron["time_expression"] == "0 0 3 * * ?" and cron["next_fire_time"]

    missing = refused(
        lambda: sx.manage_schedulerx_job_sync(
            m.ManageSchedulerxJobSyncRequest(
                original_namespace=NS,
                original_group_id=GROUP,
                target_namespace="sync-target",
                target_group_id="copies",
                job_id_list=[first, 987654],
                region_id=REGION,
            )
        )
    )
    assert missing.code == 404
    # all or nothing: the failed call copied none
    again = native.get("/api/v1/jobs", params={"namespace": "sync-target"}).json()["total"]
    assert again == 2
