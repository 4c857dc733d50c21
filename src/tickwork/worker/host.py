"""This host's IP address, to name a worker ``ip:port`` as SchedulerX does (``WorkAddr``,
``WorkerAddress``). Sends nothing: connecting a UDP socket only picks the route."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

__all__ = ["is_ip", "listening_ip", "local_ip"]

_ANY = {"", "0.0.0.0", "::", "localhost"}


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def local_ip(toward: str | None = None) -> str:
    """The address this host uses to reach ``toward`` (a host name or IP); without it, the
    address its name resolves to (a non-loopback one if any); ``127.0.0.1`` when nothing is
    known."""
    if toward and toward not in _ANY:
        with contextlib.suppress(OSError, UnicodeError):
            family = socket.AF_INET6 if ":" in toward else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((toward.strip("[]"), 9))  # UDP: no packet is sent
                return str(probe.getsockname()[0])
    with contextlib.suppress(OSError, UnicodeError):
        found = [
            str(info[4][0])
            for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        ]
        outside = [ip for ip in found if not ipaddress.ip_address(ip).is_loopback]
        if outside or found:
            return (outside or found)[0]
    return "127.0.0.1"


def listening_ip(host: str) -> str:
    """The IP of a server told to listen on ``host``: that address when it is one (not the
    wildcard), else this host's."""
    if host not in _ANY and is_ip(host):
        return host.strip("[]")
    return local_ip()
