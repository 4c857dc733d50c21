"""Signatures of the SchedulerX API against a real server: the official clients pass, and each
failure answers its HTTP status and public code in the SchedulerX envelope.

Raw requests are signed with the SDKs' own helpers (alibabacloud_tea_openapi's
``Utils.get_authorization`` and ``Utils.get_rpcsignature``), never with tickwork's code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alibabacloud_schedulerx220190430 import models
from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.DescribeRegionsRequest import (
    DescribeRegionsRequest as V1DescribeRegions,
)
from darabonba.request import DaraRequest
from server_support import ServerProcess

from conftest import SX_KEY, sdk_client, v1_client

V3 = "ACS3-HMAC-SHA256"
ACTION = "DescribeRegions"


@pytest.fixture(scope="module")
def http(sx_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sx_server.url, timeout=30) as client:
        yield client


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v3_call(
    server: ServerProcess,
    *,
    query: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    key: tuple[str, str] = SX_KEY,
    date: str | None = None,
) -> dict[str, Any]:
    """A V3-signed request as alibabacloud_tea_openapi builds it: httpx.request keyword args."""
    request = DaraRequest()
    request.method = "POST" if form is not None else "GET"
    request.pathname = "/"
    request.query = dict(query or {"RegionId": "cn-hangzhou"})
    request.headers = {
        "host": f"127.0.0.1:{server.port}",
        "x-acs-version": "2019-04-30",
        "x-acs-action": ACTION,
        "user-agent": "tickwork-acceptance",
        "x-acs-date": date or Utils.get_timestamp(),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "accept": "application/json",
    }
    body = b""
    if form is not None:
        body = Utils.to_form(form).encode()
        request.headers["content-type"] = "application/x-www-form-urlencoded"
    payload = Utils.hash(body, V3).hex()
    request.headers["x-acs-content-sha256"] = payload
    request.headers["Authorization"] = Utils.get_authorization(request, V3, payload, key[0], key[1])
    return {
        "method": request.method,
        "url": "/",
        "params": request.query,
        "headers": request.headers,
        "content": body,
    }


def v1_call(
    *, key: tuple[str, str] = SX_KEY, timestamp: str | None = None, **extra: str
) -> dict[str, Any]:
    """A V1 (HMAC-SHA1) GET as alibabacloud_tea_openapi signs it."""
    query = {
        "Action": ACTION,
        "Format": "json",
        "Version": "2019-04-30",
        "RegionId": "cn-hangzhou",
        "Timestamp": timestamp or Utils.get_timestamp(),
        "SignatureNonce": Utils.get_nonce(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": key[0],
        **extra,
    }
    query["Signature"] = Utils.get_rpcsignature(dict(query), "GET", key[1])
    return {"method": "GET", "url": "/", "params": query}


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    assert answer["Code"] == code and answer["Success"] is False, answer
    assert answer["RequestId"] and answer["Message"]
    assert SX_KEY[1] not in answer["Message"]
    return answer


def assert_signature_passed(response: httpx.Response) -> None:
    """Past the signature: the action answers (or, not written yet, is unknown)."""
    answer = response.json()
    if response.status_code == 404:
        assert answer["Code"] == "InvalidAction.NotFound", answer
    else:
        assert response.status_code == 200 and answer["Success"] is True, answer


# -- the official clients pass ----------------------------------------------------------------
def test_v3_client_passes_the_signature(sx: SchedulerxClient) -> None:
    try:
        response = sx.describe_regions(models.DescribeRegionsRequest())
    except ClientException as error:  # the action itself is not written yet
        assert (error.status_code, error.code) == (404, "InvalidAction.NotFound"), error
    else:
        assert response.status_code == 200


def test_v1_client_passes_the_signature(sx_server: ServerProcess, sx_v1: AcsClient) -> None:
    request = V1DescribeRegions()
    request.set_endpoint(f"127.0.0.1:{sx_server.port}")
    request.set_protocol_type("http")
    try:
        sx_v1.do_action_with_exception(request)
    except ServerException as error:
        assert (error.get_http_status(), error.get_error_code()) == (
            404,
            "InvalidAction.NotFound",
        ), error


def test_raw_v3_and_v1_calls_pass(sx_server: ServerProcess, http: httpx.Client) -> None:
    assert_signature_passed(http.request(**v3_call(sx_server)))
    form = {"Name": "a b*~/é+&=", "ContactInfo": [{"UserName": "ann"}]}
    assert_signature_passed(http.request(**v3_call(sx_server, form=form)))
    assert_signature_passed(http.request(**v1_call(Keyword="a b*~/é+&=")))


# -- every failure --------------------------------------------------------------------------
def test_v3_wrong_secret(sx_server: ServerProcess, http: httpx.Client) -> None:
    client = sdk_client(sx_server, (SX_KEY[0], "not-the-secret"))
    with pytest.raises(ClientException) as caught:
        client.describe_regions(models.DescribeRegionsRequest())
    assert (caught.value.status_code, caught.value.code) == (400, "SignatureDoesNotMatch")
    answer = assert_refused(
        http.request(**v3_call(sx_server, key=(SX_KEY[0], "not-the-secret"))),
        400,
        "SignatureDoesNotMatch",
    )
    assert "AccessKeySecret" in answer["Message"]
    assert "not-the-secret" not in answer["Message"]


def test_v1_wrong_secret(sx_server: ServerProcess, http: httpx.Client) -> None:
    answer = assert_refused(
        http.request(**v1_call(key=(SX_KEY[0], "not-the-secret"))), 400, "SignatureDoesNotMatch"
    )
    assert "server string to sign is:GET&%2F&" in answer["Message"]
    # aliyunsdkcore recognises its own string to sign in the message and names the secret
    client = v1_client(sx_server, (SX_KEY[0], "not-the-secret"))
    request = V1DescribeRegions()
    request.set_endpoint(f"127.0.0.1:{sx_server.port}")
    request.set_protocol_type("http")
    with pytest.raises(ServerException) as caught:
        client.do_action_with_exception(request)
    assert caught.value.get_http_status() == 400
    assert caught.value.get_error_code() == "InvalidAccessKeySecret"


def test_unknown_access_key(sx_server: ServerProcess, http: httpx.Client) -> None:
    client = sdk_client(sx_server, ("TWUNKNOWNKEY", "whatever"))
    with pytest.raises(ClientException) as caught:
        client.describe_regions(models.DescribeRegionsRequest())
    assert (caught.value.status_code, caught.value.code) == (404, "InvalidAccessKeyId.NotFound")
    answer = assert_refused(
        http.request(**v1_call(key=("TWUNKNOWNKEY", "whatever"))),
        404,
        "InvalidAccessKeyId.NotFound",
    )
    assert "TWUNKNOWNKEY" in answer["Message"]


def test_no_signature(http: httpx.Client) -> None:
    answer = assert_refused(
        http.get("/", params={"Action": ACTION, "RegionId": "cn-hangzhou"}),
        400,
        "MissingParameter",
    )
    assert "Signature" in answer["Message"] and "Authorization" in answer["Message"]
    assert_refused(
        http.get("/", params={"Action": ACTION}, headers={"authorization": "Basic eDp5"}),
        400,
        "UnsupportedSignatureMethod",
    )


def test_timestamp_outside_fifteen_minutes(sx_server: ServerProcess, http: httpx.Client) -> None:
    for offset in (-16 * 60, 16 * 60):
        answer = assert_refused(
            http.request(**v3_call(sx_server, date=iso(time.time() + offset))),
            400,
            "InvalidTimeStamp.Expired",
        )
        assert "x-acs-date" in answer["Message"]
        answer = assert_refused(
            http.request(**v1_call(timestamp=iso(time.time() + offset))),
            400,
            "InvalidTimeStamp.Expired",
        )
        assert "Timestamp" in answer["Message"]


def test_malformed_timestamp(sx_server: ServerProcess, http: httpx.Client) -> None:
    assert_refused(
        http.request(**v3_call(sx_server, date="Sat, 21 Nov 2026 05:00:00 GMT")),
        400,
        "InvalidTimeStamp.Format",
    )
    assert_refused(
        http.request(**v1_call(timestamp="2026-11-21 05:00:00")), 400, "InvalidTimeStamp.Format"
    )


def test_nonce_reused(sx_server: ServerProcess, http: httpx.Client) -> None:
    for call in (v3_call(sx_server), v1_call()):
        assert_signature_passed(http.request(**call))
        answer = assert_refused(http.request(**call), 400, "SignatureNonceUsed")
        assert "nonce" in answer["Message"].lower()


def test_tampered_calls(sx_server: ServerProcess, http: httpx.Client) -> None:
    # a body changed after signing (x-acs-content-sha256 no longer matches)
    call = v3_call(sx_server, form={"JobId": "1"})
    call["content"] = b"JobId=2"
    answer = assert_refused(http.request(**call), 400, "SignatureDoesNotMatch")
    assert "x-acs-content-sha256" in answer["Message"]
    # a query parameter changed after signing, in each form
    call = v3_call(sx_server, query={"JobId": "1"})
    call["params"] = {"JobId": "2"}
    assert_refused(http.request(**call), 400, "SignatureDoesNotMatch")
    call = v1_call(JobId="1")
    call["params"]["JobId"] = "2"
    assert_refused(http.request(**call), 400, "SignatureDoesNotMatch")


def test_unsupported_signature_method(http: httpx.Client) -> None:
    call = v1_call(SignatureMethod="HMAC-SHA256")
    answer = assert_refused(http.request(**call), 400, "UnsupportedSignatureMethod")
    assert "HMAC-SHA1" in answer["Message"]


def test_refusal_in_xml_when_asked(http: httpx.Client) -> None:
    call = v1_call(key=(SX_KEY[0], "not-the-secret"), Format="XML")
    response = http.request(**call)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert "<Success>false</Success>" in response.text
