"""The native API of route strategies (GET/PUT/DELETE .../jobs/{id}/route-strategy) over a
real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

SHELL_JOB = {"name": "split", "job_type": "shell", "content": "echo hi", "time_type": "api"}
SPLIT: dict[str, Any] = {
    "name": "canary",
    "entries": [
        {"percentage": 30, "target": ["blue"], "target_type": "label"},
        {"percentage": 70, "target": ["w1:7000", "w2:7000"], "target_type": "worker"},
    ],
}


def path(job_id: int, namespace: str = "default", group_id: str = "default") -> str:
    return f"/api/v1/namespaces/{namespace}/groups/{group_id}/jobs/{job_id}/route-strategy"


async def test_put_get_replace_and_delete(api: httpx.AsyncClient) -> None:
    job_id = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()["id"]
    none = await api.get(path(job_id))
    assert none.status_code == 404 and none.json()["error"]["code"] == "NotFound"

    put = await api.put(path(job_id), json=SPLIT)
    assert put.status_code == 200, put.text
    expected = {**SPLIT, "type": 3, "status": "enabled"}
    assert put.json() == expected
    assert (await api.get(path(job_id))).json() == expected

    replaced = {
        "name": "all-green",
        "status": "disabled",
        "entries": [{"percentage": 100, "target": ["green"]}],
    }
    assert (await api.put(path(job_id), json=replaced)).status_code == 200
    assert (await api.get(path(job_id))).json() == {
        "name": "all-green",
        "type": 3,
        "status": "disabled",
        "entries": [{"percentage": 100, "target": ["green"], "target_type": "label"}],
    }

    assert (await api.delete(path(job_id))).status_code == 204
    assert (await api.get(path(job_id))).status_code == 404
    assert (await api.delete(path(job_id))).status_code == 204  # nothing left: still fine
    assert (await api.get(f"/api/v1/jobs/{job_id}")).json()["name"] == "split"


async def test_bad_strategies_name_the_field_and_change_nothing(api: httpx.AsyncClient) -> None:
    job_id = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()["id"]
    assert (await api.put(path(job_id), json=SPLIT)).status_code == 200
    entry = {"percentage": 50, "target": ["a"], "target_type": "label"}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({**SPLIT, "entries": [entry]}, "percentage", "sum to 100, got 50"),
        ({**SPLIT, "entries": [{**entry, "percentage": 101}]}, "percentage", "0..100"),
        ({**SPLIT, "entries": [{**entry, "percentage": 100, "target": []}]}, "target", "list"),
        (
            {**SPLIT, "entries": [{**entry, "percentage": 100, "target_type": "ip"}]},
            "target_type",
            "'label' or 'worker'",
        ),
        ({**SPLIT, "type": 1}, "type", "only type is 3"),
        ({**SPLIT, "name": ""}, "name", "must not be empty"),
        ({**SPLIT, "entries": []}, "entries", "at least one entry"),
    ]
    for body, field, words in cases:
        refused = await api.put(path(job_id), json=body)
        assert refused.status_code == 400, (body, refused.text)
        error = refused.json()["error"]
        assert error["field"] == field and words in error["message"], error
    shape = await api.put(path(job_id), json={**SPLIT, "entries": [{**entry, "percentage": 1.5}]})
    assert shape.status_code == 422
    assert (await api.get(path(job_id))).json()["name"] == "canary"  # the old one is kept


async def test_the_job_must_be_in_the_group_named(api: httpx.AsyncClient) -> None:
    job_id = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()["id"]
    await api.post("/api/v1/namespaces/default/groups", json={"group_id": "other"})
    for method in ("GET", "PUT", "DELETE"):
        wrong = await api.request(
            method, path(job_id, group_id="other"), json=SPLIT if method == "PUT" else None
        )
        assert wrong.status_code == 404, (method, wrong.text)
        assert wrong.json()["error"]["code"] == "JobNotFound"
    missing = await api.put(path(job_id + 1000), json=SPLIT)
    assert missing.status_code == 404
    unauthenticated = httpx.AsyncClient(base_url=str(api.base_url))
    async with unauthenticated:
        assert (await unauthenticated.get(path(job_id))).status_code == 401
