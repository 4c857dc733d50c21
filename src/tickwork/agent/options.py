"""What a ``tickwork worker`` agent is told: its servers, app group, AppKey, labels, size."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from tickwork import __version__
from tickwork.domain.enums import OWN_JOB_TYPES
from tickwork.domain.errors import InvalidParameter
from tickwork.worker.protocol import CONNECT_PATH

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_DRAIN_TIMEOUT_S",
    "DEFAULT_GROUP",
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVER",
    "AgentOptions",
    "connect_url",
    "default_address",
    "parse_labels",
    "parse_servers",
]

DEFAULT_SERVER = "http://127.0.0.1:9700"
DEFAULT_NAMESPACE = "default"
DEFAULT_GROUP = "default"
DEFAULT_CONCURRENCY = 64
DEFAULT_DRAIN_TIMEOUT_S = 30.0

_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def default_address() -> str:
    """``<hostname>:<pid>``: how instances name this agent unless told otherwise."""
    return f"{socket.gethostname()}:{os.getpid()}"


def parse_servers(text: str) -> tuple[str, ...]:
    """``URL[,URL...]`` to the servers' base URLs (http, https, ws or wss; a bare
    ``host:port`` means http), in order, without duplicates."""
    servers: list[str] = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if "://" not in item:
            item = f"http://{item}"
        parts = urlsplit(item)
        if parts.scheme.lower() not in _SCHEMES:
            raise InvalidParameter(
                f"a server URL must be http://, https://, ws:// or wss://, got {part.strip()!r}",
                field="server",
            )
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise InvalidParameter(
                f"a server URL has a bad port: {part.strip()!r}", field="server"
            ) from None
        if not parts.hostname:
            raise InvalidParameter(f"a server URL needs a host: {part.strip()!r}", field="server")
        if parts.query or parts.fragment:
            raise InvalidParameter(
                f"a server URL takes no query or fragment: {part.strip()!r}", field="server"
            )
        normal = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))
        if normal not in servers:
            servers.append(normal)
    if not servers:
        raise InvalidParameter("at least one server URL is needed", field="server")
    return tuple(servers)


def parse_labels(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Labels from ``--label`` values or ``TICKWORK_LABELS``: each may hold several,
    comma-separated; blanks are dropped, duplicates kept once, order kept."""
    labels: list[str] = []
    for value in values:
        for part in value.split(","):
            label = part.strip()
            if label and label not in labels:
                labels.append(label)
    return tuple(labels)


@dataclass(slots=True, frozen=True)
class AgentOptions:
    servers: tuple[str, ...]
    app_key: str
    namespace: str = DEFAULT_NAMESPACE
    group: str = DEFAULT_GROUP
    labels: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    address: str = field(default_factory=default_address)
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_S
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if not self.servers:
            raise InvalidParameter("at least one server URL is needed", field="server")
        if not self.app_key:
            raise InvalidParameter("the app group's AppKey is needed", field="app_key")
        if not self.namespace:
            raise InvalidParameter("the namespace must not be empty", field="namespace")
        if not self.group:
            raise InvalidParameter("the group must not be empty", field="group")
        if not self.address:
            raise InvalidParameter("the address must not be empty", field="address")
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise InvalidParameter(
                f"concurrency must be a whole number of at least 1, got {self.concurrency!r}",
                field="concurrency",
            )
        if self.drain_timeout < 0:
            raise InvalidParameter(
                f"the drain timeout must not be negative, got {self.drain_timeout!r}",
                field="drain_timeout",
            )
        for label in self.labels:
            if not label or "," in label:
                raise InvalidParameter(
                    f"a label must be non-empty and hold no comma, got {label!r}", field="label"
                )


def connect_url(server: str, options: AgentOptions) -> str:
    """The WebSocket URL of ``server``'s agent gateway, naming this agent in its query."""
    parts = urlsplit(server)
    scheme = _SCHEMES[parts.scheme.lower()]
    query = urlencode(
        {
            "namespace": options.namespace,
            "group": options.group,
            "worker_id": options.worker_id,
            "address": options.address,
            "labels": ",".join(options.labels),
            "version": __version__,
            "concurrency": str(options.concurrency),
            # what this agent's executors run: tickwork's own job types
            "job_types": ",".join(sorted(t.value for t in OWN_JOB_TYPES)),
        }
    )
    path = parts.path.rstrip("/") + CONNECT_PATH
    return urlunsplit((scheme, parts.netloc, path, query, ""))
