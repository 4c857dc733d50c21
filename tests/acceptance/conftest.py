"""Fixtures of the SchedulerX acceptance tests: a real ``tickwork server`` subprocess and the
official Alibaba Cloud clients pointed at it (see sx_support.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from alibabacloud_schedulerx220190430.client import Client as SchedulerxClient
from aliyunsdkcore.client import AcsClient
from server_support import ServerProcess, base_env, drop_made_databases, free_port
from sx_support import SX_KEY, sdk_client, v1_client


@pytest.fixture(scope="module")
def sx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("sx-home")
    env = base_env(TICKWORK_ADMIN_KEY_ID=SX_KEY[0], TICKWORK_ADMIN_KEY_SECRET=SX_KEY[1])
    server = ServerProcess(home, free_port(), env)
    yield server
    server.stop(signal.SIGINT)


@pytest.fixture(scope="module")
def sx(sx_server: ServerProcess) -> SchedulerxClient:
    return sdk_client(sx_server)


@pytest.fixture(scope="module")
def sx_v1(sx_server: ServerProcess) -> AcsClient:
    return v1_client(sx_server)


@pytest.fixture(scope="session", autouse=True)
def _drop_databases() -> Iterator[None]:
    """The PostgreSQL databases the servers got (TW_TEST_BACKEND=postgres) go at the end."""
    yield
    drop_made_databases()
