"""A server that is stopping (SIGTERM: ``Runtime.begin_stop``) refuses new runs with a clear
refusal and a retry hint, in each face's envelope, and creates nothing (issue 21: triggers
accepted after SIGTERM were lost); what does not start a run is still answered."""

from __future__ import annotations

import httpx
from test_request_limits import GROUP, SHELL_JOB, native_refusal, sx, sx_refusal

from tickwork.server import Runtime


async def test_a_stopping_server_refuses_triggers_in_each_faces_envelope(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    job = (await api.post("/api/v1/jobs", json=SHELL_JOB)).json()
    runtime.begin_stop()

    native = await api.post(f"/api/v1/jobs/{job['id']}/run")
    error = native_refusal(native, 503, None)
    assert error["code"] == "ServerStopping"
    assert "stopping" in error["message"] and "another server" in error["message"]
    assert native.headers["retry-after"] == "1"

    answer = await sx(api, "ExecuteJob", **GROUP, JobId=str(job["id"]))
    body = sx_refusal(answer, 503, "stopping")
    assert body["Code"] == "ServiceUnavailable"
    assert answer.headers["retry-after"] == "1"

    listed = await api.get("/api/v1/instances", params={"job_id": job["id"]})
    assert listed.status_code == 200 and listed.json()["items"] == []  # nothing was created
    assert (await api.get(f"/api/v1/jobs/{job['id']}")).status_code == 200  # reads go on
