"""A call made by the official client (alibabacloud-schedulerx220190430), captured on its way
out and replayed byte for byte after the server restarted, is refused: the server keeps the
nonces it accepted in its database. Both signatures: ACS3-HMAC-SHA256 (V3, in headers, the
client's default) and V1 HMAC-SHA1 (in the query, ``signature_algorithm='v2'``)."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models
from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from alibabacloud_tea_openapi.models import Config
from darabonba.core import DaraCore
from darabonba.request import DaraRequest
from server_support import ServerProcess, base_env, free_port
from sx_support import SX_KEY

ENV = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])


@dataclass(frozen=True)
class Captured:
    """One HTTP request exactly as the client sent it."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes

    def replay(self, server: ServerProcess) -> httpx.Response:
        return httpx.request(
            self.method,
            server.url + self.target,
            headers=self.headers,
            content=self.body,
            timeout=30,
        )


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Captured]:
    """Every request the official client sends from now on (its transport, DaraCore.do_action,
    is wrapped: the request goes out unchanged)."""
    sent: list[Captured] = []
    send = DaraCore.do_action

    def recording(request: DaraRequest, runtime_option: Any = None) -> Any:
        url = urlsplit(DaraCore.compose_url(request))
        body = request.body or b""
        sent.append(
            Captured(
                method=request.method.upper(),
                target=f"{url.path or '/'}?{url.query}" if url.query else url.path or "/",
                headers={k: str(v) for k, v in request.headers.items()},
                body=body.encode() if isinstance(body, str) else bytes(body),
            )
        )
        return send(request, runtime_option)

    monkeypatch.setattr(DaraCore, "do_action", recording)
    return sent


def client(server: ServerProcess, **config: Any) -> SchedulerxClient:
    return SchedulerxClient(
        Config(
            access_key_id=SX_KEY[0],
            access_key_secret=SX_KEY[1],
            endpoint=f"127.0.0.1:{server.port}",
            protocol="http",
            region_id="cn-hangzhou",
            read_timeout=60000,
            connect_timeout=10000,
            **config,
        )
    )


def test_a_captured_call_is_refused_after_the_server_restarts(
    tmp_path: Path, captured: list[Captured]
) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home, free_port(), ENV)
    try:
        v3 = client(server)
        v1 = client(server, signature_algorithm="v2")
        namespaces = models.ListNamespacesRequest(region_id="cn-hangzhou")
        for sdk in (v3, v1):
            response = sdk.list_namespaces(namespaces)
            assert response.status_code == 200 and response.body.success
        assert len(captured) == 2
        v3_call, v1_call = captured
        assert v3_call.headers["Authorization"].startswith("ACS3-HMAC-SHA256 ")
        assert "Signature=" in v1_call.target and "Authorization" not in v1_call.headers
        # replayed at once, to the same server: refused from its memory
        for call in captured:
            assert call.replay(server).json()["Code"] == "SignatureNonceUsed"
    finally:
        server.stop(signal.SIGINT)

    restarted = ServerProcess(home, free_port(), ENV)
    try:
        for call in (v3_call, v1_call):
            response = call.replay(restarted)
            answer = response.json()
            assert response.status_code == 400, answer
            assert (answer["Code"], answer["Success"]) == ("SignatureNonceUsed", False)
            assert "nonce" in answer["Message"].lower()
        # the clients themselves go on working: each call has a new nonce
        for sdk in (client(restarted), client(restarted, signature_algorithm="v2")):
            response = sdk.list_namespaces(namespaces)
            assert response.status_code == 200 and response.body.success
    finally:
        restarted.stop(signal.SIGINT)
