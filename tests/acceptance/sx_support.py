"""The official Alibaba Cloud clients, pointed at a tickwork server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.client import AcsClient
from server_support import ServerProcess

SX_KEY = ("sx-admin-key", "sx-admin-secret-0123456789")

ResponseT = TypeVar("ResponseT")


def sdk_client(server: ServerProcess, key: tuple[str, str] = SX_KEY) -> SchedulerxClient:
    """The official V3 (ACS3-HMAC-SHA256) client, as a user would point it at tickwork."""
    return SchedulerxClient(
        Config(
            access_key_id=key[0],
            access_key_secret=key[1],
            endpoint=f"127.0.0.1:{server.port}",
            protocol="http",
            region_id="cn-hangzhou",
            read_timeout=60000,
            connect_timeout=10000,
        )
    )


def v1_client(server: ServerProcess, key: tuple[str, str] = SX_KEY) -> AcsClient:
    """The older V1 (HMAC-SHA1) client of aliyun-python-sdk-schedulerx2."""
    client = AcsClient(key[0], key[1], "cn-hangzhou", timeout=60)
    return client


class Refused(Exception):
    """A refusal of the product as the official V3 client hands it over: the call returns
    (HTTP 200) and its body says ``Success: false`` with an integer ``Code`` and the
    ``Message``, as a program written for SchedulerX reads it."""

    def __init__(self, response: Any) -> None:
        body = response.body
        self.status_code: int = response.status_code
        self.code: Any = body.code
        self.message: str = body.message
        self.success: Any = body.success
        super().__init__(f"HTTP {self.status_code}, Code {self.code!r}: {self.message}")


def ok(response: ResponseT) -> ResponseT:
    """``response`` when the product accepted the call; its refusal raises ``Refused``."""
    if response.body.success is not True:  # type: ignore[attr-defined]
        raise Refused(response)
    return response


def refused(call: Callable[[], object]) -> Refused:
    """The product's refusal of ``call`` (which may return the response or raise ``Refused``
    through ``ok``): HTTP 200, Success false, an integer Code other than 200, a message."""
    try:
        response = call()
    except Refused as raised:
        refusal = raised
    else:
        refusal = Refused(response)
    assert refusal.status_code == 200, refusal
    assert refusal.success is False, refusal
    assert isinstance(refusal.code, int) and refusal.code != 200, refusal
    assert refusal.message, refusal
    return refusal
