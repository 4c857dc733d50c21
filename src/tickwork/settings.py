"""The one typed settings object. Every field has a ``TICKWORK_*`` environment twin, and the
CLI flags of ``tickwork server`` override both."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from tickwork.domain.errors import InvalidParameter
from tickwork.timing.zones import parse_timezone


def default_home() -> Path:
    return Path(os.environ.get("TICKWORK_HOME") or Path.home() / ".tickwork")


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9700
    # empty: sqlite file tickwork.db in home
    database_url: str = ""
    home: str = ""  # empty: $TICKWORK_HOME or ~/.tickwork
    no_worker: bool = False
    admin_key_id: str = ""
    admin_key_secret: str = ""
    # engine
    lookahead_ms: int = 3000  # due fires are claimed this far ahead
    # at most this many jobs claimed per round; a round holds the loop ~0.1 ms a job
    claim_batch: int = 500
    misfire_threshold_ms: int = 5000  # a fire later than this is a misfire
    # runs are made ready (process started) this early; 0: never. Fires fall on whole seconds,
    # so half a second keeps preparing away from the instants when runs start.
    prepare_ahead_ms: int = 500
    history_limit: int = 1000  # finished instances kept per job unless the job says otherwise
    retention_interval_s: float = 30.0  # how often history is pruned
    worker_concurrency: int = 2048  # runs at once on the in-process worker
    worker_wait_s: float = 30.0  # a run with no live worker waits this long for one, then fails
    # servers on one database: a server silent this long is dead and what it owned is
    # adopted. Short, so that a dead server's planned fires run elsewhere a second or two late
    # (well within misfire_threshold_ms); a server stalled for half of it holds its fires
    # back (docs/multi-server.md, "Leases")
    lease_s: float = 2.0
    heartbeat_s: float = 0.5  # how often a server renews its lease
    # worker agents (worker/protocol.py, AgentTiming; welcome tells the agents): how often
    # they beat, how long one may be silent before it is given up (it kills its runs by
    # then), and how long its runs then wait for it to reconnect
    agent_heartbeat_s: float = 2.0
    agent_lease_s: float = 10.0
    agent_grace_s: float = 5.0
    shutdown_grace_s: float = 10.0
    log_level: str = "info"
    # what one attempt of a run keeps of its log (docs/jobs.md, "Logs"): its first nine
    # tenths and its last tenth, with a line saying what was dropped between; 0: no limit
    run_log_max_bytes: int = 10 * 1024 * 1024
    run_log_max_lines: int = 100_000
    # requests (docs/native-api.md, "Limits"): a body larger than this is refused (413)
    # before it is read past the limit
    max_body_bytes: int = 1024 * 1024
    # a request's head (line and headers) must arrive within this long of the connection
    # opening or of the previous answer; else the connection is closed (slow clients)
    header_timeout_s: float = 10.0
    # a request's body must arrive within this long of its head; else 408
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0  # an idle keep-alive connection is closed after this long
    # the largest WebSocket message a worker agent may send
    ws_max_bytes: int = 16 * 1024 * 1024
    # the time zone of a job created through the SchedulerX API without a Timezone, and of
    # the times that API shows where there is no job; empty: the zone of the call's RegionId
    # (cn-*: Asia/Shanghai; docs/schedulerx.md, "Time zones"). The native API's default is UTC.
    schedulerx_timezone: str = ""

    def __post_init__(self) -> None:
        try:
            parse_timezone(self.schedulerx_timezone)
        except InvalidParameter as exc:
            raise InvalidParameter(
                f"schedulerx_timezone (TICKWORK_SCHEDULERX_TIMEZONE, --schedulerx-timezone): "
                f"{exc.message}",
                field="schedulerx_timezone",
            ) from None

    @property
    def home_path(self) -> Path:
        return Path(self.home) if self.home else default_home()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_path / 'tickwork.db'}"

    @property
    def credentials_path(self) -> Path:
        return self.home_path / "credentials.json"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``TICKWORK_<FIELD>`` variables, then the non-None overrides."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f"TICKWORK_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
        if kind_name == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
    except ValueError:
        raise InvalidParameter(
            f"TICKWORK_{name.upper()}={raw!r} is not a valid {kind_name}", field=name
        ) from None
    return raw
