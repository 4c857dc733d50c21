"""The native REST API over a real HTTP server on loopback."""

from __future__ import annotations

import httpx
from runtime_support import ADMIN_ID, wait_for

SHELL_JOB = {"name": "hello", "job_type": "shell", "content": "echo hello", "time_type": "api"}


async def test_healthz_needs_no_key_and_the_rest_does(api: httpx.AsyncClient) -> None:
    anonymous = httpx.AsyncClient(base_url=str(api.base_url))
    async with anonymous:
        assert (await anonymous.get("/healthz")).json()["status"] == "ok"
        for path in ("/api/v1/jobs", "/metrics", "/api/v1/namespaces", "/openapi.json"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "Unauthenticated"
        wrong = await anonymous.get("/api/v1/jobs", auth=(ADMIN_ID, "guess-8d1f0c"))
        assert wrong.status_code == 401
        assert "guess-8d1f0c" not in wrong.text  # the secret tried is not echoed


async def test_an_unknown_key_and_a_wrong_secret_get_the_same_answer(
    api: httpx.AsyncClient,
) -> None:
    job = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()
    anonymous = httpx.AsyncClient(base_url=str(api.base_url))
    async with anonymous:
        for method, path in (
            ("GET", "/api/v1/jobs"),
            ("POST", f"/api/v1/jobs/{job['id']}/run"),  # the trigger's own fast path
            ("GET", "/api/v1/namespaces/default/groups/default"),
        ):
            answers = [
                await anonymous.request(method, path, auth=auth)
                for auth in ((ADMIN_ID, "wrong-secret-0000"), ("TWNOSUCHKEY0000", "x"))
            ]
            assert [a.status_code for a in answers] == [401, 401], path
            assert answers[0].json() == answers[1].json(), path


async def test_job_crud_and_run(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/jobs", json=SHELL_JOB)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["namespace"] == "default" and job["group_id"] == "default"
    assert job["max_concurrency"] == 1 and job["attempt_interval"] == 30
    assert job["timeout"] == 7200 and job["status"] == "enabled"
    assert job["next_fire_time"] is None

    listed = (await api.get("/api/v1/jobs", params={"name": "hell"})).json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]

    patched = await api.patch(
        f"/api/v1/jobs/{job['id']}", json={"description": "d", "max_attempt": 2}
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "d" and patched.json()["max_attempt"] == 2

    run = await api.post(
        f"/api/v1/jobs/{job['id']}/run",
        json={"instance_parameters": "x", "idempotency_key": "once"},
    )
    assert run.status_code == 201
    again = await api.post(f"/api/v1/jobs/{job['id']}/run", json={"idempotency_key": "once"})
    assert again.status_code == 200 and again.json()["id"] == run.json()["id"]
    instance_id = run.json()["id"]

    async def finished() -> dict[str, object] | None:
        body = (await api.get(f"/api/v1/instances/{instance_id}")).json()
        return body if body["status"] == "success" else None

    body = await wait_for(finished)
    assert body["result"] == "hello" and body["status_code"] == 4
    assert body["trigger_type"] == "api" and body["trigger_type_code"] == 3
    assert body["executor"] == ADMIN_ID

    logs = (await api.get(f"/api/v1/instances/{instance_id}/logs")).json()
    assert [line["line"] for line in logs["items"]] == ["hello"]
    assert logs["next_offset"] == 1
    filtered = (
        await api.get(f"/api/v1/instances/{instance_id}/logs", params={"keyword": "nothing"})
    ).json()
    assert filtered["items"] == []

    listed_instances = (
        await api.get(
            "/api/v1/instances",
            params={"job_id": job["id"], "status": "success", "trigger_type": "api"},
        )
    ).json()
    assert listed_instances["total"] == 1

    assert (await api.post(f"/api/v1/jobs/{job['id']}/disable")).json()["status"] == "disabled"
    refused = await api.post(f"/api/v1/jobs/{job['id']}/run", json={"check_job_status": True})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "JobDisabled"

    assert (await api.delete(f"/api/v1/jobs/{job['id']}")).status_code == 204
    gone = await api.get(f"/api/v1/jobs/{job['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "JobNotFound"
    assert (await api.get(f"/api/v1/instances/{instance_id}")).status_code == 404


async def test_a_trigger_reads_its_parameters_as_the_declared_route_would(
    api: httpx.AsyncClient,
) -> None:
    """The trigger's handler reads its key, path and body by hand (``_RunJobRoute``): each
    bad part is refused in the native envelope, naming the field, and starts nothing."""
    job = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()
    run = f"/api/v1/jobs/{job['id']}/run"
    json_type = {"content-type": "application/json"}
    refused = {
        "extra field": (await api.post(run, json={"bogus": 1}), 422, "bogus"),
        "wrong type": (await api.post(run, json={"check_job_status": []}), 422, "check_job_status"),
        "not JSON": (await api.post(run, content=b"{bad", headers=json_type), 422, "body"),
        "not an object": (await api.post(run, content=b"[]", headers=json_type), 422, "body"),
        "form body": (
            await api.post(run, content=b"a=1", headers={"content-type": "text/plain"}),
            422,
            "body",
        ),
        "job id": (await api.post("/api/v1/jobs/abc/run"), 422, "job_id"),
        "no such job": (await api.post("/api/v1/jobs/999999/run"), 404, "job_id"),
    }
    for case, (response, status, field) in refused.items():
        assert response.status_code == status, (case, response.text)
        assert response.json()["error"]["field"] == field, (case, response.text)
    anonymous = await api.post(run, json={}, auth=("nobody", "wrong-secret-1"))
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "Unauthenticated"
    listed = (await api.get("/api/v1/instances", params={"job_id": job["id"]})).json()
    assert listed["total"] == 0

    for accepted in (None, b"null", b"{}"):
        started = await api.post(run, content=accepted, headers=json_type if accepted else {})
        assert started.status_code == 201, started.text
        assert started.json()["job_id"] == job["id"] and started.json()["executor"] == ADMIN_ID
    spec = (await api.get("/openapi.json")).json()["paths"]["/api/v1/jobs/{job_id}/run"]
    assert "RunIn" in str(spec["post"]["requestBody"])


async def test_bad_input_names_the_field(api: httpx.AsyncClient) -> None:
    bad_cron = await api.post(
        "/api/v1/jobs", json={**SHELL_JOB, "time_type": "cron", "time_expression": "0 0 25 * * ?"}
    )
    assert bad_cron.status_code == 400
    error = bad_cron.json()["error"]
    assert error["code"] == "InvalidTimeExpression" and error["field"] == "time_expression"
    assert "position" in error["message"]

    missing = await api.post("/api/v1/jobs", json={"job_type": "shell", "time_type": "api"})
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "name"

    wrong_type = await api.post("/api/v1/jobs", json={**SHELL_JOB, "job_type": "cobol"})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["field"] == "job_type"

    bad_zone = await api.post("/api/v1/jobs", json={**SHELL_JOB, "timezone": "Mars/Base"})
    assert bad_zone.status_code == 400 and bad_zone.json()["error"]["field"] == "timezone"

    no_group = await api.post("/api/v1/jobs", json={**SHELL_JOB, "group_id": "nope"})
    assert no_group.status_code == 404 and no_group.json()["error"]["code"] == "GroupNotFound"

    naive = await api.post("/api/v1/jobs", json={**SHELL_JOB, "start_time": "2030-01-01T00:00"})
    assert naive.status_code == 400 and naive.json()["error"]["field"] == "start_time"

    bad_status = await api.get("/api/v1/instances", params={"status": "great"})
    assert bad_status.status_code == 400 and bad_status.json()["error"]["field"] == "status"

    not_json = await api.post(
        "/api/v1/jobs", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "Traceback" not in not_json.text

    # nothing half-written: no job exists after all these refusals
    assert (await api.get("/api/v1/jobs")).json()["total"] == 0


async def test_namespaces_groups_and_calendars(api: httpx.AsyncClient) -> None:
    ns = await api.post("/api/v1/namespaces", json={"name": "team a", "id": "team-a"})
    assert ns.status_code == 201
    dup = await api.post("/api/v1/namespaces", json={"name": "again", "id": "team-a"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "AlreadyExists"
    group = await api.post("/api/v1/namespaces/team-a/groups", json={"group_id": "g1"})
    assert group.status_code == 201 and len(group.json()["app_key"]) >= 16
    cal = await api.put(
        "/api/v1/namespaces/team-a/calendars/workdays/2030",
        json={"months": [{"month": 1, "days": [2, 3]}]},
    )
    assert cal.status_code == 200, cal.text
    bad_day = await api.put(
        "/api/v1/namespaces/team-a/calendars/workdays/2030",
        json={"months": [{"month": 2, "days": [30]}]},
    )
    assert bad_day.status_code == 400 and bad_day.json()["error"]["field"] == "months"
    job = await api.post(
        "/api/v1/jobs",
        json={
            **SHELL_JOB,
            "namespace": "team-a",
            "group_id": "g1",
            "time_type": "cron",
            "time_expression": "0 0 9 * * ?",
            "calendar": "workdays",
            "timezone": "GMT+8",
        },
    )
    assert job.status_code == 201, job.text
    assert job.json()["next_fire_time"] == "2030-01-02T01:00:00.000Z"
    no_cal = await api.post(
        "/api/v1/jobs",
        json={
            **SHELL_JOB,
            "namespace": "team-a",
            "group_id": "g1",
            "time_type": "cron",
            "time_expression": "0 0 9 * * ?",
            "calendar": "holidays",
        },
    )
    assert no_cal.status_code == 400 and no_cal.json()["error"]["field"] == "calendar"
    in_use = await api.delete("/api/v1/namespaces/team-a/groups/g1")
    assert in_use.status_code == 409


async def test_metrics_expose_fires_and_instances(api: httpx.AsyncClient) -> None:
    job = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()
    await api.post(f"/api/v1/jobs/{job['id']}/run")

    async def counted() -> str | None:
        text = (await api.get("/metrics")).text
        return text if 'tickwork_instances{status="success"} 1.0' in text else None

    text = await wait_for(counted)
    for name in (
        "tickwork_fires_total",
        "tickwork_fire_lateness_seconds_bucket",
        "tickwork_fires_rejected_total",
        "tickwork_fires_skipped_total",
        "tickwork_fires_late_total",
    ):
        assert name in text


async def test_openapi_is_served(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert "/api/v1/jobs" in spec["paths"]
    assert "/api/v1/instances/{instance_id}/logs" in spec["paths"]


async def test_access_keys_and_their_rights(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/access-keys", json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["is_admin"] is False and len(key["secret"]) >= 30
    listed = (await api.get("/api/v1/access-keys")).json()["items"]
    assert key["key_id"] in [k["key_id"] for k in listed]
    assert all("secret" not in k for k in listed)  # a secret is shown once, at creation

    job = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()
    scoped = httpx.AsyncClient(base_url=str(api.base_url), auth=(key["key_id"], key["secret"]))
    async with scoped:
        # a key without rights authenticates, and sees nothing
        assert (await scoped.get("/api/v1/jobs")).json()["items"] == []
        hidden = await scoped.get(f"/api/v1/jobs/{job['id']}")
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "JobNotFound"
        refused = await scoped.post("/api/v1/access-keys", json={})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "Forbidden"

        grant = await api.post(
            f"/api/v1/access-keys/{key['key_id']}/permissions",
            json={"namespace": "default", "group_id": "default", "right": "read"},
        )
        assert grant.status_code == 201 and grant.json()["group_id"] == "default"
        assert grant.json()["right"] == "read"
        assert [j["id"] for j in (await scoped.get("/api/v1/jobs")).json()["items"]] == [job["id"]]
        # read is not run: the key sees the job but may not start it
        run = await scoped.post(f"/api/v1/jobs/{job['id']}/run")
        assert run.status_code == 403 and "'run'" in run.json()["error"]["message"]

    no_ns = await api.post(
        f"/api/v1/access-keys/{key['key_id']}/permissions",
        json={"namespace": "nowhere", "right": "read"},
    )
    assert no_ns.status_code == 404
    rights = (await api.get(f"/api/v1/access-keys/{key['key_id']}/permissions")).json()
    assert [(p["namespace"], p["group_id"]) for p in rights["items"]] == [("default", "default")]
    revoked = await api.delete(
        f"/api/v1/access-keys/{key['key_id']}/permissions",
        params={"namespace": "default", "group_id": "default"},
    )
    assert revoked.status_code == 204
    assert (await api.delete(f"/api/v1/access-keys/{key['key_id']}")).status_code == 204
    assert (await api.delete(f"/api/v1/access-keys/{key['key_id']}")).status_code == 404


async def test_calendars_of_the_default_namespace_are_shared(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/namespaces", json={"name": "b", "id": "team-b"})
    await api.post("/api/v1/namespaces/team-b/groups", json={"group_id": "g"})
    shared = await api.put(
        "/api/v1/namespaces/default/calendars/holidays/2031",
        json={"months": [{"month": 3, "days": [4]}]},
    )
    assert shared.status_code == 200
    job = await api.post(
        "/api/v1/jobs",
        json={
            **SHELL_JOB,
            "namespace": "team-b",
            "group_id": "g",
            "time_type": "cron",
            "time_expression": "0 30 8 * * ?",
            "calendar": "holidays",
        },
    )
    assert job.status_code == 201, job.text
    assert job.json()["next_fire_time"] == "2031-03-04T08:30:00.000Z"
