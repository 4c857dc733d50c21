"""The client against a real HTTP server on loopback that answers as the API documents."""

from __future__ import annotations

import socket

import pytest
from cli_stub import KEY_ID, SECRET, StubServer

from tickwork.client import ApiError, AsyncClient, Client, ServerUnreachable
from tickwork.domain.errors import InvalidParameter

JOB = {"id": 7, "name": "hello", "status": "enabled"}


def client_for(stub: StubServer) -> Client:
    return Client(stub.url, KEY_ID, SECRET)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sends_basic_auth_and_json_body(stub: StubServer) -> None:
    stub.on("POST", "/api/v1/jobs", 201, JOB)
    with client_for(stub) as client:
        assert client.create_job({"name": "hello", "job_type": "shell"}) == JOB
    (seen,) = stub.seen
    assert seen.auth == (KEY_ID, SECRET)
    assert seen.body == {"name": "hello", "job_type": "shell"}


def test_query_drops_unset_values_and_repeats_lists(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/instances", 200, {"items": [], "total": 0, "page": 1, "page_size": 20})
    with client_for(stub) as client:
        client.list_instances(
            job_id=3,
            status=["success", "failed"],
            trigger_type=["api"],
            from_time="2026-11-21T12:00:00+08:00",
            page_size=5,
        )
    assert stub.seen[0].query == [
        ("job_id", "3"),
        ("status", "success"),
        ("status", "failed"),
        ("trigger_type", "api"),
        ("page_size", "5"),
        ("from", "2026-11-21T04:00:00.000Z"),
    ]


def test_paths_of_actions_and_escaped_segments(stub: StubServer) -> None:
    stub.on("POST", "/api/v1/jobs/7/run", 201, {"id": 99})
    stub.on("POST", "/api/v1/instances/99/set-success", 200, {"id": 99, "status": "success"})
    stub.on("GET", "/api/v1/namespaces/a%2Fb/groups/g%201", 200, {"group_id": "g 1"})
    with client_for(stub) as client:
        assert client.run_job(7, instance_parameters="x=1", idempotency_key="k1") == {"id": 99}
        assert client.set_instance_success(99)["status"] == "success"
        assert client.get_group("a/b", "g 1") == {"group_id": "g 1"}
    assert stub.seen[0].body == {"instance_parameters": "x=1", "idempotency_key": "k1"}
    assert stub.seen[1].body is None


def test_no_content_is_an_empty_dict(stub: StubServer) -> None:
    stub.on("DELETE", "/api/v1/jobs/7", 204, None)
    with client_for(stub) as client:
        assert client.delete_job(7) == {}


def test_error_envelope_becomes_api_error(stub: StubServer) -> None:
    envelope = {
        "error": {
            "code": "InvalidTimeExpression",
            "message": "time_expression: bad minute at position 3",
            "field": "time_expression",
        }
    }
    stub.on("POST", "/api/v1/jobs", 400, envelope)
    with client_for(stub) as client, pytest.raises(ApiError) as caught:
        client.create_job({"name": "x"})
    error = caught.value
    assert (error.status, error.code, error.field) == (
        400,
        "InvalidTimeExpression",
        "time_expression",
    )
    assert error.message == "time_expression: bad minute at position 3"


def test_error_without_envelope_keeps_status_and_text(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/jobs/1", 502, "upstream down")
    with client_for(stub) as client, pytest.raises(ApiError) as caught:
        client.get_job(1)
    assert caught.value.status == 502
    assert "upstream down" in caught.value.message


def test_success_that_is_not_json_is_an_error(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/jobs/1", 200, "<html>")
    with client_for(stub) as client, pytest.raises(ApiError, match="no JSON"):
        client.get_job(1)


def test_metrics_is_text(stub: StubServer) -> None:
    stub.on("GET", "/metrics", 200, "tickwork_fires_total 3\n")
    with client_for(stub) as client:
        assert client.metrics() == "tickwork_fires_total 3\n"


def test_unreachable_server_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, "k", "s") as client, pytest.raises(ServerUnreachable) as caught:
        client.health()
    assert caught.value.message.startswith(f"cannot reach tickwork at {url}: ")


def test_url_must_be_http() -> None:
    with pytest.raises(InvalidParameter, match="url: 'localhost:9700' must start with http"):
        Client("localhost:9700", "k", "s")


async def test_async_client_shares_the_operations(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/jobs/7", 200, JOB)
    stub.on(
        "POST",
        "/api/v1/jobs/7/disable",
        409,
        {"error": {"code": "InvalidState", "message": "job 7: busy"}},
    )
    async with AsyncClient(stub.url, KEY_ID, SECRET) as client:
        assert await client.get_job(7) == JOB
        with pytest.raises(ApiError) as caught:
            await client.disable_job(7)
    assert (caught.value.status, caught.value.code) == (409, "InvalidState")
    assert stub.seen[0].auth == (KEY_ID, SECRET)


async def test_async_client_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with AsyncClient(url, "k", "s") as client:
        with pytest.raises(ServerUnreachable, match="cannot reach tickwork at"):
            await client.list_jobs()
