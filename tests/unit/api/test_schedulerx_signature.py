"""Signature verification of the SchedulerX RPC API, against requests signed by the official
SDKs' own signing code (never by tickwork's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.client import AcsClient
from aliyunsdkschedulerx2.request.v20190430.CreateJobRequest import CreateJobRequest
from aliyunsdkschedulerx2.request.v20190430.GetJobInstanceListRequest import (
    GetJobInstanceListRequest,
)
from darabonba.request import DaraRequest

from tickwork.api.schedulerx.errors import SchedulerxError
from tickwork.api.schedulerx.signature import NonceUser, SignatureVerifier, SignedRequest
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import AccessKey
from tickwork.service.nonces import NonceCache

KEY = AccessKey(key_id="TWKEY1", secret="s3cret-of-key-1", name="one")
OTHER = AccessKey(key_id="TWKEY2", secret="another-secret-2", name="two")
HOST = "127.0.0.1:9700"
V3 = "ACS3-HMAC-SHA256"


async def find(key_id: str) -> AccessKey | None:
    return {KEY.key_id: KEY, OTHER.key_id: OTHER}.get(key_id)


def remembered(cache: NonceCache, clock: Callable[[], float] = time.time) -> NonceUser:
    """Nonces kept in this process's memory: the first check NonceService makes before the
    store's (tests/integration/service/test_nonces.py covers the store)."""

    async def use(key_id: str, nonce: str, until_ms: int) -> bool:
        return cache.use(key_id, nonce, now=clock(), until=until_ms / 1000)

    return use


def verifier(offset_s: float = 0.0, window_s: int = 900) -> SignatureVerifier:
    return SignatureVerifier(
        find,
        use_nonce=remembered(NonceCache()),
        window_s=window_s,
        clock=lambda: time.time() + offset_s,
    )


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- requests signed by alibabacloud_tea_openapi (V3), as Client.do_request builds them ---------
def v3_request(
    *,
    method: str = "GET",
    query: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    key: AccessKey = KEY,
    secret: str | None = None,
    date: str | None = None,
    nonce: str | None = None,
    algorithm: str = V3,
    extra: dict[str, str] | None = None,
) -> SignedRequest:
    request = DaraRequest()
    request.method = method
    request.pathname = "/"
    request.query = dict(query or {})
    request.headers = {
        "host": HOST,
        "x-acs-version": "2019-04-30",
        "x-acs-action": "DescribeRegions",
        "user-agent": "AlibabaCloud (test) TeaDSL/2",
        "x-acs-date": date or Utils.get_timestamp(),
        "x-acs-signature-nonce": nonce or Utils.get_nonce(),
        "accept": "application/json",
        **(extra or {}),
    }
    body = b""
    if form is not None:
        body = Utils.to_form(form).encode("utf-8")
        request.headers["content-type"] = "application/x-www-form-urlencoded"
    payload = Utils.hash(body, "ACS3-HMAC-SHA256").hex()
    request.headers["x-acs-content-sha256"] = payload
    request.headers["Authorization"] = Utils.get_authorization(
        request, algorithm, payload, key.key_id, key.secret if secret is None else secret
    )
    return SignedRequest(
        method=method,
        path="/",
        query=list(request.query.items()),
        headers={k.lower(): str(v) for k, v in request.headers.items()},
        body=body,
    )


def with_headers(request: SignedRequest, **changes: str | None) -> SignedRequest:
    headers = dict(request.headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return SignedRequest(request.method, request.path, request.query, headers, request.body)


# -- requests signed by aliyunsdkcore (V1), as AcsClient builds them before sending -------------
def v1_request(
    make: Callable[[], Any] | None = None, *, key: AccessKey = KEY, secret: str | None = None
) -> SignedRequest:
    client = AcsClient(key.key_id, key.secret if secret is None else secret, "cn-hangzhou")
    sdk_request = make() if make is not None else GetJobInstanceListRequest()
    sdk_request.set_endpoint(HOST)
    sdk_request.set_protocol_type("http")
    built = client._make_http_response(HOST, sdk_request, 10, 10)
    body = built.get_content() or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return SignedRequest(
        method=built.get_method(),
        path="/",
        query=parse_qsl(urlsplit(built.get_url()).query, keep_blank_values=True),
        headers={"host": HOST, **{k.lower(): str(v) for k, v in built.get_headers().items()}},
        body=body,
    )


def create_job() -> CreateJobRequest:
    request = CreateJobRequest()
    request.set_Namespace("ns-1")
    request.set_GroupId("group.default")
    request.set_Name("nightly report * ~/é+&=")
    request.set_Content("echo 'hello world' && date")
    request.set_JobType("shell")
    request.set_TimeType(1)
    request.set_TimeExpression("0 0 2 * * ?")
    return request


def v1_tea_request(
    params: dict[str, str], *, method: str = "GET", secret: str = KEY.secret
) -> SignedRequest:
    """Signature V1 as alibabacloud_tea_openapi computes it (Config.signature_algorithm='v2')."""
    query = {
        "Action": "GetJobInstanceList",
        "Format": "json",
        "Version": "2019-04-30",
        "Timestamp": Utils.get_timestamp(),
        "SignatureNonce": Utils.get_nonce(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": KEY.key_id,
        **params,
    }
    query["Signature"] = Utils.get_rpcsignature(dict(query), method, secret)
    return SignedRequest(method, "/", list(query.items()), {"host": HOST}, b"")


def v1_with(request: SignedRequest, **changes: str) -> SignedRequest:
    query = [(k, changes.get(k, v)) for k, v in request.query]
    return SignedRequest(request.method, request.path, query, request.headers, request.body)


async def refused(request: SignedRequest, v: SignatureVerifier | None = None) -> SchedulerxError:
    with pytest.raises(SchedulerxError) as caught:
        await (v or verifier()).verify(request)
    return caught.value


def assert_no_secret(error: SchedulerxError, *secrets: str) -> None:
    for secret in (KEY.secret, OTHER.secret, *secrets):
        assert secret not in error.message


# -- accepted -------------------------------------------------------------------------------
async def test_v3_get_signed_by_the_sdk_is_accepted() -> None:
    request = v3_request(query={"RegionId": "cn-hangzhou", "Namespace": "ns-1"})
    assert (await verifier().verify(request)).key_id == KEY.key_id


async def test_v3_post_with_a_form_body_is_accepted() -> None:
    request = v3_request(
        method="POST",
        query={"RegionId": "cn-hangzhou"},
        form={
            "Name": "a job * ~/é+&=",
            "ContactInfo": [{"UserName": "ann", "UserPhone": "123"}],
            "Content": "echo 'hi there'",
        },
    )
    assert (await verifier().verify(request)).key_id == KEY.key_id


async def test_v3_query_values_are_canonicalised_as_the_sdk_does() -> None:
    query = {"Keyword": "a b*c~d/e+f&g=h é中", "Empty": "", "ContactInfo.1.UserName": "x"}
    assert (await verifier().verify(v3_request(query=query))).key_id == KEY.key_id


async def test_v3_other_key() -> None:
    request = v3_request(key=OTHER)
    assert (await verifier().verify(request)).key_id == OTHER.key_id


async def test_v1_get_signed_by_aliyunsdkcore_is_accepted() -> None:
    def make() -> GetJobInstanceListRequest:
        request = GetJobInstanceListRequest()
        request.set_JobId(7)
        request.set_Namespace("ns 1*~")
        request.set_GroupId("group.default")
        return request

    request = v1_request(make)
    assert (await verifier().verify(request)).key_id == KEY.key_id


async def test_v1_post_signs_the_form_body_as_aliyunsdkcore_does() -> None:
    request = v1_request(create_job)
    assert request.method == "POST" and b"Name=" in request.body
    assert (await verifier().verify(request)).key_id == KEY.key_id


async def test_v1_signed_by_tea_openapi_is_accepted() -> None:
    request = v1_tea_request({"JobId": "7", "Keyword": "a b*~/é"})
    assert (await verifier().verify(request)).key_id == KEY.key_id


# -- refused --------------------------------------------------------------------------------
async def test_no_signature_at_all() -> None:
    error = await refused(SignedRequest("GET", "/", [("Action", "X")], {"host": HOST}, b""))
    assert (error.status, error.code) == (400, "MissingParameter")
    assert "Authorization" in error.message and "Signature" in error.message


async def test_other_authorization_scheme() -> None:
    request = SignedRequest("GET", "/", [], {"authorization": "Basic dXNlcjpwYXNz"}, b"")
    error = await refused(request)
    assert (error.status, error.code) == (400, "UnsupportedSignatureMethod")
    assert "Basic" in error.message


async def test_unknown_key_id() -> None:
    error = await refused(v3_request(key=AccessKey("NOPE", "whatever")))
    assert (error.status, error.code) == (404, "InvalidAccessKeyId.NotFound")
    assert "NOPE" in error.message
    error = await refused(v1_request(key=AccessKey("NOPE1", "whatever")))
    assert (error.status, error.code) == (404, "InvalidAccessKeyId.NotFound")


async def test_v3_wrong_secret() -> None:
    good = v3_request(query={"RegionId": "cn-hangzhou"})
    bad = v3_request(query={"RegionId": "cn-hangzhou"}, secret="wrong-secret")
    error = await refused(bad)
    assert (error.status, error.code) == (400, "SignatureDoesNotMatch")
    assert "AccessKeySecret" in error.message and "RegionId=cn-hangzhou" in error.message
    assert_no_secret(error, "wrong-secret")
    # the signature the server expected is never shown
    expected = good.headers["authorization"].rsplit("Signature=", 1)[1]
    assert expected not in error.message


async def test_v3_tampered_query() -> None:
    request = v3_request(query={"JobId": "1"})
    tampered = SignedRequest("GET", "/", [("JobId", "2")], request.headers, b"")
    assert (await refused(tampered)).code == "SignatureDoesNotMatch"


async def test_v3_tampered_signed_header() -> None:
    request = with_headers(v3_request(), x_acs_action="DeleteJob")
    assert (await refused(request)).code == "SignatureDoesNotMatch"


async def test_v3_body_not_matching_its_hash() -> None:
    request = v3_request(method="POST", form={"JobId": "1"})
    tampered = SignedRequest("POST", "/", [], request.headers, b"JobId=2")
    error = await refused(tampered)
    assert (error.status, error.code) == (400, "SignatureDoesNotMatch")
    assert "x-acs-content-sha256" in error.message


async def test_v3_unsigned_acs_header() -> None:
    request = with_headers(v3_request(), x_acs_extra="added later")
    error = await refused(request)
    assert (error.status, error.code) == (400, "IncompleteSignature")
    assert "x-acs-extra" in error.message


async def test_v3_incomplete_authorization() -> None:
    auth = f"{V3} Credential={KEY.key_id},Signature=abc"
    error = await refused(with_headers(v3_request(), authorization=auth))
    assert (error.status, error.code) == (400, "IncompleteSignature")
    assert "SignedHeaders" in error.message


async def test_v3_unsupported_algorithm() -> None:
    # the SDK's own SM3 variant: a real algorithm tickwork does not take
    error = await refused(v3_request(algorithm="ACS3-HMAC-SM3"))
    assert (error.status, error.code) == (400, "UnsupportedSignatureMethod")
    assert "ACS3-HMAC-SM3" in error.message


@pytest.mark.parametrize("header", ["x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
async def test_v3_missing_header(header: str) -> None:
    request = v3_request()
    headers = {k: v for k, v in request.headers.items() if k != header}
    error = await refused(SignedRequest("GET", "/", [], headers, b""))
    assert (error.status, error.code) == (400, "MissingParameter")
    assert header in error.message


@pytest.mark.parametrize("date", ["2026-11-21 05:00:00", "yesterday", "2026-13-40T25:00:00Z"])
async def test_v3_malformed_date(date: str) -> None:
    error = await refused(v3_request(date=date))
    assert (error.status, error.code) == (400, "InvalidTimeStamp.Format")
    assert "x-acs-date" in error.message


async def test_v3_fifteen_minute_window() -> None:
    # the SDK stamps the current time; the server's clock is moved instead
    assert await verifier(offset_s=890).verify(v3_request())
    assert await verifier(offset_s=-890).verify(v3_request())
    for offset in (910, -910):
        error = await refused(v3_request(), verifier(offset_s=offset))
        assert (error.status, error.code) == (400, "InvalidTimeStamp.Expired")
        assert "x-acs-date" in error.message and "900" in error.message
    error = await refused(v3_request(), verifier(offset_s=70, window_s=60))
    assert error.code == "InvalidTimeStamp.Expired"


async def test_v3_nonce_reused() -> None:
    v = verifier()
    now = iso(time.time())
    request = v3_request(nonce="n-1", date=now)
    await v.verify(request)
    error = await refused(request, v)
    assert (error.status, error.code) == (400, "SignatureNonceUsed")
    assert "n-1" in error.message and "x-acs-signature-nonce" in error.message
    # signed afresh with the same nonce and timestamp: the same call, refused too
    assert (await refused(v3_request(nonce="n-1", date=now), v)).code == "SignatureNonceUsed"
    # another key has its own nonces; another timestamp makes another call (a replay cannot
    # change the timestamp without breaking the signature)
    assert (await v.verify(v3_request(nonce="n-1", date=now, key=OTHER))).key_id == OTHER.key_id
    later = iso(time.time() + 1)
    assert (await v.verify(v3_request(nonce="n-1", date=later))).key_id == KEY.key_id


async def test_a_refused_call_does_not_use_up_its_nonce() -> None:
    v = verifier()
    assert (await refused(v3_request(nonce="n-2", secret="bad"), v)).code == (
        "SignatureDoesNotMatch"
    )
    assert await v.verify(v3_request(nonce="n-2"))


async def test_nonces_are_kept_until_the_window_has_passed() -> None:
    now = [time.time()]
    kept: list[tuple[str, str, int]] = []

    async def use(key_id: str, nonce: str, until_ms: int) -> bool:
        kept.append((key_id, nonce, until_ms))
        return True

    v = SignatureVerifier(find, use_nonce=use, window_s=900, clock=lambda: now[0])
    await v.verify(v3_request(nonce=" n-3 ", date=iso(now[0])))
    # kept until the call's own timestamp leaves the window; the nonce as sent, trimmed
    assert kept == [(KEY.key_id, "n-3", (int(now[0]) + 901) * 1000)]
    await v.verify(v1_tea_request({"Timestamp": iso(now[0] + 60)}))
    assert kept[1][2] == (int(now[0]) + 60 + 901) * 1000


async def test_a_nonce_the_service_refuses_names_the_field() -> None:
    async def use(key_id: str, nonce: str, until_ms: int) -> bool:
        raise InvalidParameter("a signature nonce must be at most 255 characters", field="nonce")

    v = SignatureVerifier(find, use_nonce=use)
    error = await refused(v3_request(), v)
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert error.message.startswith("x-acs-signature-nonce: ") and "255" in error.message
    error = await refused(v1_tea_request({}), v)
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert error.message.startswith("SignatureNonce: ")


async def test_v1_wrong_secret_shows_the_string_to_sign() -> None:
    error = await refused(v1_request(create_job, secret="wrong-secret"))
    assert (error.status, error.code) == (400, "SignatureDoesNotMatch")
    assert "is:POST&%2F&" in error.message and "AccessKeySecret" in error.message
    assert_no_secret(error, "wrong-secret")
    good = v1_request(create_job)
    assert dict(good.query)["Signature"] not in error.message


async def test_v1_tampered_form_body() -> None:
    request = v1_request(create_job)
    tampered = SignedRequest(
        request.method,
        "/",
        request.query,
        request.headers,
        request.body.replace(b"Namespace=ns-1", b"Namespace=ns-2"),
    )
    assert tampered.body != request.body
    assert (await refused(tampered)).code == "SignatureDoesNotMatch"


async def test_v1_checks_the_form_pairs_the_endpoint_already_parsed() -> None:
    """The endpoint hands over the form it parsed: those pairs are what is checked."""
    request = v1_request(create_job)
    pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
    parsed = replace(request, form=pairs)
    assert (await verifier().verify(parsed)).key_id == KEY.key_id
    changed = [(k, "ns-2" if k == "Namespace" else v) for k, v in pairs]
    assert (await refused(replace(request, form=changed))).code == "SignatureDoesNotMatch"


async def test_v1_tampered_query() -> None:
    request = v1_tea_request({"JobId": "7"})
    assert (await refused(v1_with(request, JobId="8"))).code == "SignatureDoesNotMatch"


async def test_v1_tea_wrong_secret() -> None:
    request = v1_tea_request({"JobId": "7"}, secret="wrong")
    error = await refused(request)
    assert error.code == "SignatureDoesNotMatch" and "GET&%2F&" in error.message


@pytest.mark.parametrize("missing", ["AccessKeyId", "SignatureNonce", "Timestamp"])
async def test_v1_missing_parameter(missing: str) -> None:
    request = v1_tea_request({})
    query = [(k, v) for k, v in request.query if k != missing]
    error = await refused(SignedRequest("GET", "/", query, request.headers, b""))
    assert (error.status, error.code) == (400, "MissingParameter")
    assert missing in error.message


async def test_v1_unsupported_method_and_version() -> None:
    error = await refused(v1_tea_request({"SignatureMethod": "HMAC-SHA256"}))
    assert (error.status, error.code) == (400, "UnsupportedSignatureMethod")
    assert "HMAC-SHA256" in error.message
    error = await refused(v1_tea_request({"SignatureVersion": "2.0"}))
    assert (error.status, error.code) == (400, "UnsupportedSignatureVersion")


async def test_v1_timestamp_format_and_window() -> None:
    error = await refused(v1_tea_request({"Timestamp": "2026/11/21 05:00"}))
    assert (error.status, error.code) == (400, "InvalidTimeStamp.Format")
    assert "Timestamp" in error.message
    stale = v1_tea_request({"Timestamp": iso(time.time() - 1000)})
    assert (await refused(stale)).code == "InvalidTimeStamp.Expired"
    assert (await refused(v1_request(), verifier(offset_s=-1000))).code == (
        "InvalidTimeStamp.Expired"
    )


async def test_v1_nonce_reused() -> None:
    v = verifier()
    request = v1_request(create_job)
    await v.verify(request)
    error = await refused(request, v)
    assert (error.status, error.code) == (400, "SignatureNonceUsed")
    assert "SignatureNonce" in error.message


async def test_v1_string_to_sign_matches_the_public_recipe() -> None:
    """Cross-check: the SDK-signed V1 call verifies with the recipe the public docs give."""
    request = v1_tea_request({"JobId": "7"})
    params = sorted((k, v) for k, v in request.query if k != "Signature")

    def enc(s: str) -> str:
        return quote(s, safe="~")

    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in params)
    to_sign = f"GET&%2F&{enc(canonical)}"
    digest = hmac.new(f"{KEY.secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == dict(request.query)["Signature"]


async def test_v1_mismatch_message_is_the_one_aliyunsdkcore_reads() -> None:
    """aliyunsdkcore compares the text after the first ':' with its own string to sign and then
    reports InvalidAccessKeySecret: the message keeps that form."""
    client = AcsClient(KEY.key_id, "wrong-secret", "cn-hangzhou")
    sdk_request = create_job()
    sdk_request.set_endpoint(HOST)
    sdk_request.set_protocol_type("http")
    built = client._make_http_response(HOST, sdk_request, 10, 10)
    body = built.get_content()
    request = SignedRequest(
        "POST",
        "/",
        parse_qsl(urlsplit(built.get_url()).query, keep_blank_values=True),
        {"host": HOST, **{k.lower(): str(v) for k, v in built.get_headers().items()}},
        body if isinstance(body, bytes) else body.encode(),
    )
    error = await refused(request)
    assert error.code == "SignatureDoesNotMatch"
    assert error.message.split(":")[1] == sdk_request.string_to_sign
