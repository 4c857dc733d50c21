"""``tickwork worker``: an agent process that runs the jobs of one app group for a server."""

from tickwork.agent.agent import Agent, AgentRefused
from tickwork.agent.options import AgentOptions, connect_url, parse_labels, parse_servers
from tickwork.agent.outbox import Outbox
from tickwork.agent.reporter import AgentReporter

__all__ = [
    "Agent",
    "AgentOptions",
    "AgentRefused",
    "AgentReporter",
    "Outbox",
    "connect_url",
    "parse_labels",
    "parse_servers",
]
