"""Worker agents that a test can freeze (SIGSTOP) or cut off (a proxy that stops passing
bytes, as a pulled cable does: no FIN, no RST), for tests/acceptance/test_agent_failover.py."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from server_support import TICKWORK, ServerProcess, base_env

from tickwork.worker.process_tree import group_members


class CuttableProxy:
    """A TCP proxy in a thread between an agent and the server. ``cut``: bytes are read and
    dropped both ways and new connections hang (a pulled cable); ``mend``: the connections
    that lived through the cut are closed (their peers gave up on them) and new ones pass."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._lock = threading.Lock()
        self.is_cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self.is_cut = True

    def mend(self) -> None:
        with self._lock:
            self.is_cut = False
            for sock in list(self._peers):
                self._drop(sock)

    def close(self) -> None:
        self._closed = True
        self._thread.join(5)
        for sock in list(self._peers):
            sock.close()
        self._listener.close()

    def _drop(self, sock: socket.socket) -> None:
        if sock in self._peers:
            self._selector.unregister(sock)
            del self._peers[sock]
            sock.close()

    def _serve(self) -> None:
        while not self._closed:
            for key, _ in self._selector.select(0.05):
                with self._lock:
                    if key.data is None:
                        self._accept()
                    else:
                        self._pass(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        self._peers[client] = None
        self._selector.register(client, selectors.EVENT_READ, "peer")
        if self.is_cut:
            return  # it hangs: its handshake never gets an answer
        try:
            upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
        except OSError:  # the server is gone: so is the connection
            self._drop(client)
            return
        upstream.settimeout(None)
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(upstream, selectors.EVENT_READ, "peer")

    def _pass(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        other = self._peers.get(sock)
        if not data:
            self._drop(sock)
            if other is not None and not self.is_cut:  # a close passes, unless cut
                self._drop(other)
            elif other is not None:
                self._peers[other] = None
            return
        if other is not None and not self.is_cut:
            try:
                other.sendall(data)
            except OSError:
                self._drop(other)


class FaultyAgent:
    """A ``tickwork worker`` reaching the server through its own ``CuttableProxy``."""

    def __init__(
        self, server: ServerProcess, app_key: str, address: str, log: Path, pythonpath: Path
    ) -> None:
        self.address = address
        self.log = log
        self.proxy = CuttableProxy(server.port)
        env = base_env(
            PYTHONPATH=os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])
        )
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [TICKWORK, "worker", "--server", self.proxy.url, "--app-key", app_key,
                 "--address", address, "--concurrency", "4"],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def fault(self, kind: str) -> None:
        if kind == "freeze":
            os.kill(self.pid, signal.SIGSTOP)
        else:
            self.proxy.cut()

    def heal(self, kind: str) -> None:
        if kind == "freeze":
            os.kill(self.pid, signal.SIGCONT)
        else:
            self.proxy.mend()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=30)
        self.proxy.close()


def dead_by(pgid: int, within: float) -> float:
    """When the process group ``pgid`` had no live process left (monotonic); fails the test
    if it still has one after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not group_members(pgid):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive after {within} s")


def lines_of(path: Path) -> list[list[str]]:
    """The lines the jobs wrote, each split in words (a torn last line left out)."""
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.endswith(" .")]
