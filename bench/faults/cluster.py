"""Three ``tickwork server`` processes on one fresh PostgreSQL database, each in its own home and
on its own port (as on three hosts), with in-process workers or, with ``agents``, with
``--no-worker`` and ``tickwork worker`` agents. Any of them can be killed, stopped and started
again on the same port; the database is dropped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from harness import KEY, common, create_database, drop_database, pg_query, server_env, start_server

__all__ = ["Agent", "Cluster", "Node"]

GROUP_PATH = "/api/v1/namespaces/default/groups/default"
AGENT_CONCURRENCY = 128


@dataclass
class Node:
    """A server or an agent: its name, its process (None while it is down) and its log."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def log(self) -> IO[bytes]:
        if self._log is None:
            self._log = self.log_path.open("ab")
        return self._log

    def send(self, number: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)

    def wait_exit(self, within_s: float) -> float:
        """Seconds until the process exited (it is killed after ``within_s``)."""
        began = time.monotonic()
        if self.process is not None:
            try:
                self.process.wait(within_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        return time.monotonic() - began

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.process.terminate()
        self.wait_exit(60)
        if self._log is not None:
            self._log.close()


@dataclass
class Server(Node):
    port: int = 0
    home: Path = Path()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Agent(Node):
    servers: tuple[str, ...] = ()  # URLs, in the order the agent tries them


class Cluster:
    """``with Cluster(root, servers=3, agents=0) as cluster:``; everything stops at the end."""

    def __init__(
        self,
        root: Path,
        servers: int = 3,
        agents: int = 0,
        keep_database: bool = False,
        log_level: str = "warning",
    ) -> None:
        self.root = root
        self.log_level = log_level
        self.database = create_database()
        self.keep_database = keep_database
        self.agents_mode = agents > 0
        self.servers = [
            Server(f"s{n}", root / f"s{n}.log", port=common.free_port(), home=root / f"s{n}")
            for n in range(1, servers + 1)
        ]
        urls = [s.url for s in self.servers]
        # agent n prefers server n, then the next ones: each server but the last has one
        self.agents = [
            Agent(f"w{n}", root / f"w{n}.log", servers=tuple(urls[n - 1 :] + urls[: n - 1]))
            for n in range(1, agents + 1)
        ]
        self.app_key = ""

    def __enter__(self) -> Cluster:
        try:
            for server in self.servers:
                server.home.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.start(server)
            for server in self.servers:
                self.wait_ready(server)
            if self.agents:
                self.app_key = self.api(0).get(GROUP_PATH).raise_for_status().json()["app_key"]
                for agent in self.agents:
                    self.start_agent(agent)
                self.wait_agents_known()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for node in [*self.agents, *self.servers]:
            node.close()
        if self.keep_database:
            common.say(f"  kept the database {self.database}")
        else:
            drop_database(self.database)

    # -- servers -----------------------------------------------------------------------------
    def api(self, index: int) -> httpx.Client:
        return httpx.Client(base_url=self.servers[index].url, auth=KEY, timeout=30)

    def start(self, server: Server) -> None:
        settings = server_env(server.home, self.database, TICKWORK_LOG_LEVEL=self.log_level)
        extra = ("--no-worker",) if self.agents_mode else ()
        server.process = start_server(server.port, settings, server.log(), *extra)

    def wait_ready(self, server: Server, within_s: float = 120) -> float:
        """Seconds until the server answers ``/healthz``."""
        began = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=2) as client:
            common.wait_until(lambda: client.get("/healthz").status_code == 200, within_s)
        return time.monotonic() - began

    def busiest(self, exclude: tuple[Server, ...] = ()) -> Server:
        """The live server owning the most waiting instances (planned fires) now."""
        found = pg_query(
            self.database,
            "SELECT s.address, count(*) AS n FROM instances i JOIN servers s ON s.id = i.owner "
            "WHERE i.status = 1 GROUP BY s.address ORDER BY n DESC",
        )
        by_port = {s.port: s for s in self.servers if s.process is not None and s not in exclude}
        for row in found:
            server = by_port.get(int(str(row["address"]).rsplit(":", 1)[1]))
            if server is not None:
                return server
        return next(iter(by_port.values()))

    # -- agents ------------------------------------------------------------------------------
    def start_agent(self, agent: Agent) -> None:
        exe = Path(sys.executable).with_name("tickwork")
        agent.process = subprocess.Popen(
            [str(exe), "worker", "--server", ",".join(agent.servers), "--app-key", self.app_key,
             "--address", f"{agent.name}:1", "--concurrency", str(AGENT_CONCURRENCY)],
            env=dict(os.environ), stdout=agent.log(), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_agents_known(self, within_s: float = 60) -> None:
        """Until every server lists every agent (its own, and the others' from their lease
        rows): only then does a server without agents hand its runs to one with them."""

        def everyone_knows() -> bool:
            for server in self.servers:
                with httpx.Client(base_url=server.url, auth=KEY, timeout=10) as client:
                    items = client.get(f"{GROUP_PATH}/workers").json()["items"]
                if len([w for w in items if not w["in_process"]]) < len(self.agents):
                    return False
            return True

        common.wait_until(everyone_knows, within_s, every=0.5)
