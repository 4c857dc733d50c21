"""The official Alibaba Cloud clients, pointed at a tickwork server."""

from __future__ import annotations

from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.client import AcsClient
from server_support import ServerProcess

SX_KEY = ("sx-admin-key", "sx-admin-secret-0123456789")


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
