"""Where a client finds its server and access key: ``TICKWORK_*`` variables, else the
``credentials.json`` that ``tickwork server`` writes into the tickwork home."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from tickwork.domain.errors import InvalidParameter, Unauthenticated

__all__ = ["DEFAULT_URL", "load_credentials"]

DEFAULT_URL = "http://127.0.0.1:9700"


def load_credentials(
    settings_home: str | Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, str, str]:
    """``(url, key_id, secret)`` from ``TICKWORK_*`` variables, else ``credentials.json``.

    ``settings_home`` is the tickwork home (``$TICKWORK_HOME`` or ``~/.tickwork`` when None).
    """
    source = os.environ if env is None else env
    key_id = source.get("TICKWORK_ACCESS_KEY_ID", "")
    secret = source.get("TICKWORK_ACCESS_KEY_SECRET", "")
    url = source.get("TICKWORK_URL", "")
    if key_id or secret:
        if not key_id:
            raise Unauthenticated(
                "TICKWORK_ACCESS_KEY_SECRET is set but TICKWORK_ACCESS_KEY_ID is not"
            )
        if not secret:
            raise Unauthenticated(
                "TICKWORK_ACCESS_KEY_ID is set but TICKWORK_ACCESS_KEY_SECRET is not"
            )
        return (url or DEFAULT_URL, key_id, secret)
    home = Path(settings_home) if settings_home else _home_from(source)
    path = home / "credentials.json"
    if not path.is_file():
        raise Unauthenticated(
            f"no tickwork credentials: set TICKWORK_ACCESS_KEY_ID and TICKWORK_ACCESS_KEY_SECRET, "
            f"or start `tickwork server` once to write {path}"
        )
    stored = _read_credentials_file(path)
    return (
        url or stored.get("url") or DEFAULT_URL,
        stored["access_key_id"],
        stored["access_key_secret"],
    )


def _home_from(source: Mapping[str, str]) -> Path:
    """``$TICKWORK_HOME`` of ``source``, else ``~/.tickwork`` (as ``settings.default_home``)."""
    home = source.get("TICKWORK_HOME")
    return Path(home) if home else Path.home() / ".tickwork"


def _read_credentials_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidParameter(
            f"{path}: cannot read credentials: {exc}", field="credentials"
        ) from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"{path}: credentials must be a JSON object", field="credentials")
    for name in ("access_key_id", "access_key_secret"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise InvalidParameter(f"{path}: {name} is missing or empty", field=name)
    if "url" in data and not isinstance(data["url"], str):
        raise InvalidParameter(f"{path}: url must be a string", field="url")
    return {k: v for k, v in data.items() if isinstance(v, str)}
