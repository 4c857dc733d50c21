"""Who sent an RPC call: the two signatures of the Alibaba Cloud RPC API, checked against
tickwork's access keys.

- **ACS3-HMAC-SHA256** (V3, what ``alibabacloud-schedulerx220190430`` sends): an
  ``Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<h1;h2>,Signature=<hex>``
  header over a canonical request (method, path, sorted query, signed headers, SHA-256 of the
  body), with ``x-acs-date``, ``x-acs-signature-nonce`` and ``x-acs-content-sha256``.
- **Signature V1, HMAC-SHA1** (what ``aliyun-python-sdk-schedulerx2`` sends): ``AccessKeyId``,
  ``SignatureMethod``, ``SignatureVersion``, ``SignatureNonce``, ``Timestamp`` and
  ``Signature`` among the parameters; every parameter but ``Signature``, from the query and
  from a form body, takes part in the string to sign, as the SDKs compute it.

Both are held to a time window (15 minutes by default) and a nonce may be used once in it:
once the signature is verified, ``NonceService`` (service/nonces.py) records the nonce in the
store, shared by every server and kept across restarts. Failures are
:class:`SchedulerxError` with the public codes; no message carries the secret or the expected
signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from tickwork.api.schedulerx.errors import SchedulerxError
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import AccessKey

__all__ = ["NonceUser", "SignatureVerifier", "SignedRequest"]

V3_ALGORITHM = "ACS3-HMAC-SHA256"
V1_METHOD = "HMAC-SHA1"
V1_VERSION = "1.0"
FORM = "application/x-www-form-urlencoded"

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_V3_HEADERS = ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")


@dataclass(slots=True, frozen=True)
class SignedRequest:
    """What a signature covers, as the server received it."""

    method: str  # "GET" / "POST"
    path: str  # "/"
    query: list[tuple[str, str]]  # decoded query pairs as received (order kept)
    headers: Mapping[str, str]  # lower-case names
    body: bytes  # raw body
    # the body's form pairs when the caller already parsed them (else they are parsed here)
    form: list[tuple[str, str]] | None = None


NonceUser = Callable[[str, str, int], Awaitable[bool]]
"""``(key id, nonce, until epoch ms) -> new?``: ``NonceService.use_nonce``."""


class SignatureVerifier:
    def __init__(
        self,
        find_key: Callable[[str], Awaitable[AccessKey | None]],
        *,
        use_nonce: NonceUser,
        window_s: int = 900,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._find_key = find_key
        self._nonces = use_nonce
        self._window_s = window_s
        self._clock = clock

    async def verify(self, request: SignedRequest) -> AccessKey:
        """The caller's access key, if the call is correctly signed, in time, and new."""
        authorization = request.headers.get("authorization", "").strip()
        if authorization.upper().startswith("ACS3-"):
            return await self._verify_v3(request, authorization)
        params = _v1_params(request)
        if any(name == "Signature" for name, _ in params):
            return await self._verify_v1(request, params)
        if authorization:
            scheme = authorization.split(None, 1)[0]
            raise SchedulerxError(
                400,
                "UnsupportedSignatureMethod",
                f"the Authorization scheme {scheme!r} is not supported here: sign the call with "
                f"{V3_ALGORITHM} (Authorization header) or with signature V1 {V1_METHOD} "
                "(Signature parameter)",
            )
        raise SchedulerxError(
            400,
            "MissingParameter",
            "the call is not signed: give an Authorization header (ACS3-HMAC-SHA256) or the "
            "Signature parameter (signature V1, HMAC-SHA1) with AccessKeyId, SignatureMethod, "
            "SignatureVersion, SignatureNonce and Timestamp",
        )

    # -- ACS3-HMAC-SHA256 ---------------------------------------------------------------------
    async def _verify_v3(self, request: SignedRequest, authorization: str) -> AccessKey:
        algorithm, _, rest = authorization.partition(" ")
        if algorithm != V3_ALGORITHM:
            raise SchedulerxError(
                400,
                "UnsupportedSignatureMethod",
                f"the signature algorithm {algorithm!r} is not supported: use {V3_ALGORITHM} "
                f"(or signature V1 {V1_METHOD})",
            )
        parts: dict[str, str] = {}
        for item in rest.split(","):
            name, sep, value = item.strip().partition("=")
            if sep:
                parts[name.strip()] = value.strip()
        for name in ("Credential", "SignedHeaders", "Signature"):
            if not parts.get(name):
                raise SchedulerxError(
                    400,
                    "IncompleteSignature",
                    f"the Authorization header lacks {name}: its form is '{V3_ALGORITHM} "
                    "Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>'",
                )
        headers = request.headers
        for name in _V3_HEADERS:
            if not headers.get(name, "").strip():
                raise SchedulerxError(
                    400, "MissingParameter", f"the {name} header is mandatory with {V3_ALGORITHM}"
                )
        signed = sorted({h.strip().lower() for h in parts["SignedHeaders"].split(";") if h})
        must_sign = {"host"} | {h for h in headers if h.startswith("x-acs-")}
        unsigned = sorted(h for h in must_sign if h in headers and h not in signed)
        if unsigned:
            raise SchedulerxError(
                400,
                "IncompleteSignature",
                f"SignedHeaders must include host and every x-acs-* header; missing: "
                f"{';'.join(unsigned)}",
            )
        absent = [h for h in signed if h not in headers]
        if absent:
            raise SchedulerxError(
                400,
                "IncompleteSignature",
                f"SignedHeaders names headers the request does not carry: {';'.join(absent)}",
            )

        timestamp = self._check_time("x-acs-date", headers["x-acs-date"].strip())
        key = await self._key(parts["Credential"])

        payload = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(payload, headers["x-acs-content-sha256"].strip().lower()):
            raise SchedulerxError(
                400,
                "SignatureDoesNotMatch",
                "x-acs-content-sha256 is not the SHA-256 of the body received "
                f"({len(request.body)} bytes, SHA-256 {payload}); sign the body as it is sent",
            )
        canonical_request = "\n".join(
            [
                request.method.upper(),
                quote(request.path or "/", safe="/~"),
                _canonical_query(request.query),
                "".join(f"{h}:{headers[h].strip()}\n" for h in signed),
                ";".join(signed),
                payload,
            ]
        )
        digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
        string_to_sign = f"{V3_ALGORITHM}\n{digest}"
        expected = hmac.new(
            key.secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, parts["Signature"].strip().lower()):
            raise SchedulerxError(
                400,
                "SignatureDoesNotMatch",
                "the signature does not match; check your AccessKeySecret and the string to "
                f"sign. The server's canonical request is: {canonical_request!r}",
            )
        await self._use_nonce(
            key, "x-acs-signature-nonce", headers["x-acs-signature-nonce"], timestamp
        )
        return key

    # -- signature V1 (HMAC-SHA1) -------------------------------------------------------------
    async def _verify_v1(self, request: SignedRequest, params: list[tuple[str, str]]) -> AccessKey:
        values = dict(params)
        for name in ("AccessKeyId", "SignatureMethod", "SignatureNonce", "Timestamp"):
            if not values.get(name):
                raise SchedulerxError(
                    400, "MissingParameter", f"{name} is mandatory with signature V1 (Signature)"
                )
        if values["SignatureMethod"] != V1_METHOD:
            raise SchedulerxError(
                400,
                "UnsupportedSignatureMethod",
                f"SignatureMethod {values['SignatureMethod']!r} is not supported: use "
                f"{V1_METHOD} (or the {V3_ALGORITHM} Authorization header)",
            )
        version = values.get("SignatureVersion", V1_VERSION)
        if version != V1_VERSION:
            raise SchedulerxError(
                400,
                "UnsupportedSignatureVersion",
                f"SignatureVersion {version!r} is not supported: use {V1_VERSION}",
            )
        timestamp = self._check_time("Timestamp", values["Timestamp"])
        key = await self._key(values["AccessKeyId"])

        canonical = "&".join(
            f"{_encode(k)}={_encode(v)}"
            for k, v in sorted(kv for kv in params if kv[0] != "Signature")
        )
        string_to_sign = (
            f"{request.method.upper()}&{_encode(request.path or '/')}&{_encode(canonical)}"
        )
        expected = base64.b64encode(
            hmac.new(
                (key.secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1
            ).digest()
        ).decode("ascii")
        if not hmac.compare_digest(expected.encode(), values["Signature"].strip().encode()):
            # aliyunsdkcore reads the string to sign after the first ':' of this message and,
            # when it equals its own, tells its user the AccessKeySecret is wrong.
            raise SchedulerxError(
                400,
                "SignatureDoesNotMatch",
                "the signature does not match; check your AccessKeySecret and the string to "
                f"sign. server string to sign is:{string_to_sign}",
            )
        await self._use_nonce(key, "SignatureNonce", values["SignatureNonce"], timestamp)
        return key

    # -- shared -------------------------------------------------------------------------------
    def _check_time(self, field: str, text: str) -> float:
        example = "e.g. 2026-11-21T05:00:00Z"
        if not _TIMESTAMP.match(text):
            raise SchedulerxError(
                400,
                "InvalidTimeStamp.Format",
                f"{field} must be an ISO 8601 UTC time yyyy-MM-ddTHH:mm:ssZ ({example}), "
                f"got {text!r}",
            )
        try:
            when = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise SchedulerxError(
                400,
                "InvalidTimeStamp.Format",
                f"{field} {text!r} is not a valid time ({example})",
            ) from None
        now = self._clock()
        if abs(now - when) > self._window_s:
            server = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise SchedulerxError(
                400,
                "InvalidTimeStamp.Expired",
                f"{field} {text} is {abs(now - when):.0f} s away from the server's time "
                f"{server}; it must be within {self._window_s} s (check the client's clock)",
            )
        return when

    async def _key(self, key_id: str) -> AccessKey:
        key = await self._find_key(key_id)
        if key is None:
            raise SchedulerxError(
                404,
                "InvalidAccessKeyId.NotFound",
                f"the access key id {key_id!r} is not known to this server",
            )
        return key

    async def _use_nonce(self, key: AccessKey, field: str, nonce: str, timestamp: float) -> None:
        # A call is kept for as long as its timestamp is acceptable (the clock's granularity
        # aside); after that the timestamp check refuses a replay.
        until_ms = int((timestamp + self._window_s + 1) * 1000)
        try:
            fresh = await self._nonces(key.key_id, nonce.strip(), until_ms)
        except InvalidParameter as exc:
            raise SchedulerxError(400, "InvalidParameter", f"{field}: {exc.message}") from None
        if not fresh:
            raise SchedulerxError(
                400,
                "SignatureNonceUsed",
                f"the {field} {nonce!r} was already used by a call with this timestamp "
                "(a call is accepted once): give each call a new random nonce",
            )


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding (unreserved characters kept), as both signatures use it."""
    if _UNRESERVED.fullmatch(text):  # most names and values: a quarter of quote's cost
        return text
    return quote(text, safe="~", encoding="utf-8")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in pairs))


def _v1_params(request: SignedRequest) -> list[tuple[str, str]]:
    """Every parameter of the call: the query, and a form body of a POST (the SDKs sign both)."""
    params = list(request.query)
    content_type = request.headers.get("content-type", "")
    if request.method.upper() == "POST" and content_type.startswith(FORM) and request.body:
        if request.form is not None:
            params += request.form
        else:
            text = request.body.decode("utf-8", errors="replace")
            params += parse_qsl(text, keep_blank_values=True)
    return params
