"""Fixtures of the SchedulerX acceptance tests: a real ``tickwork server`` subprocess and the
official Alibaba Cloud clients pointed at it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.client import AcsClient
from server_support import ServerProcess, base_env, free_port

SX_KEY = ("sx-admin-key", "sx-admin-secret-0123456789")


@pytest.fixture(scope="module")
def sx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("sx-home")
    env = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])
    server = ServerProcess(home, free_port(), env)
    yield server
    server.stop(signal.SIGINT)


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


@pytest.fixture(scope="module")
def sx(sx_server: ServerProcess) -> SchedulerxClient:
    return sdk_client(sx_server)


def v1_client(server: ServerProcess, key: tuple[str, str] = SX_KEY) -> AcsClient:
    """The older V1 (HMAC-SHA1) client of aliyun-python-sdk-schedulerx2."""
    client = AcsClient(key[0], key[1], "cn-hangzhou", timeout=60)
    return client


@pytest.fixture(scope="module")
def sx_v1(sx_server: ServerProcess) -> AcsClient:
    return v1_client(sx_server)
