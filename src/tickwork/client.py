"""Python client of tickwork's native REST API (docs/native-api.md).

``AsyncClient`` and ``Client`` share one implementation of every operation (``_Operations``);
they differ only in the transport that sends a request (httpx's async or sync client). Every
operation returns the JSON the server sent, as plain dicts; an error envelope raises
``ApiError``.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import quote

import httpx

from tickwork.domain.errors import InvalidParameter, TickworkError, Unauthenticated

__all__ = [
    "DEFAULT_URL",
    "JSON",
    "ApiError",
    "AsyncClient",
    "Client",
    "ServerUnreachable",
    "format_instant",
    "load_credentials",
]

DEFAULT_URL = "http://127.0.0.1:9700"
DEFAULT_TIMEOUT_S = 30.0

JSON = dict[str, Any]
Params = list[tuple[str, str]]
Instant = str | datetime | int
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ApiError(TickworkError):
    """The server answered with an error."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r})"


class ServerUnreachable(ApiError):
    """No tickwork server answers at the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "Unreachable", f"cannot reach tickwork at {url}: {reason}")
        self.url = url


# --- credentials ---------------------------------------------------------------------------


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


# --- wire helpers --------------------------------------------------------------------------


def format_instant(value: Instant, field: str) -> str:
    """An instant as the API's ISO-8601 UTC form; a naive datetime is refused."""
    if isinstance(value, bool):
        raise InvalidParameter(f"{field}: expected an instant, got {value!r}", field=field)
    if isinstance(value, int):
        moment = _EPOCH + timedelta(milliseconds=value)
    elif isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidParameter(
                f"{field}: {value!r} is not an ISO-8601 date and time", field=field
            ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidParameter(
            f"{field}: {value!s} has no time zone; add Z or an offset such as +08:00", field=field
        )
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def _query(**values: str | int | bool | Sequence[str] | None) -> Params:
    """Query pairs without the None values; a sequence repeats its key."""
    pairs: Params = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(item)) for item in value)
    return pairs


def _body(**values: Any) -> JSON:
    return {key: value for key, value in values.items() if value is not None}


def _decode(response: httpx.Response) -> JSON:
    """The JSON of a success, or ``ApiError`` from the error envelope."""
    if response.status_code >= 400:
        raise _error_from(response)
    if response.status_code == 204 or not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            "InvalidResponse",
            f"the server sent no JSON: {_excerpt(response)}",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(response.status_code, "InvalidResponse", "the server sent no JSON object")
    return data


def _text(response: httpx.Response) -> str:
    if response.status_code >= 400:
        raise _error_from(response)
    return response.text


def _error_from(response: httpx.Response) -> ApiError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        field = error.get("field")
        return ApiError(
            status,
            str(error.get("code") or f"HTTP{status}"),
            str(error.get("message") or response.reason_phrase),
            field if isinstance(field, str) else None,
        )
    if isinstance(data, dict) and "detail" in data:  # a framework error outside the envelope
        return ApiError(status, f"HTTP{status}", f"{response.reason_phrase}: {data['detail']}")
    return ApiError(status, f"HTTP{status}", f"{response.reason_phrase}: {_excerpt(response)}")


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip()
    return text[:200] + ("..." if len(text) > 200 else "") if text else "(empty body)"


def _transport_error(url: str, exc: httpx.TransportError) -> ApiError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ServerUnreachable(url, reason)
    return ApiError(0, "TransportError", f"request to tickwork at {url} failed: {reason}")


# --- operations ----------------------------------------------------------------------------

R = TypeVar("R")  # what a JSON call returns: JSON, or an awaitable of it
T = TypeVar("T")  # what a text call returns


class _Operations(ABC, Generic[R, T]):
    """Every endpoint of the native API, once; subclasses send the requests."""

    @abstractmethod
    def _json(
        self, method: str, path: str, *, params: Params | None = None, body: JSON | None = None
    ) -> R: ...

    @abstractmethod
    def _plain(self, path: str) -> T: ...

    # service
    def health(self) -> R:
        return self._json("GET", "/healthz")

    def metrics(self) -> T:
        return self._plain("/metrics")

    # namespaces
    def list_namespaces(self) -> R:
        return self._json("GET", "/api/v1/namespaces")

    def create_namespace(
        self, name: str, *, id: str | None = None, description: str | None = None
    ) -> R:
        body = _body(id=id, name=name, description=description)
        return self._json("POST", "/api/v1/namespaces", body=body)

    def get_namespace(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{_segment(namespace)}")

    def update_namespace(self, namespace: str, changes: Mapping[str, Any]) -> R:
        path = f"/api/v1/namespaces/{_segment(namespace)}"
        return self._json("PATCH", path, body=dict(changes))

    def delete_namespace(self, namespace: str) -> R:
        return self._json("DELETE", f"/api/v1/namespaces/{_segment(namespace)}")

    # app groups
    def list_groups(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{_segment(namespace)}/groups")

    def create_group(
        self,
        namespace: str,
        group_id: str,
        *,
        app_name: str | None = None,
        description: str | None = None,
        run_on_server: bool | None = None,
    ) -> R:
        body = _body(
            group_id=group_id,
            app_name=app_name,
            description=description,
            run_on_server=run_on_server,
        )
        return self._json("POST", f"/api/v1/namespaces/{_segment(namespace)}/groups", body=body)

    def get_group(self, namespace: str, group_id: str) -> R:
        return self._json("GET", _group_path(namespace, group_id))

    def update_group(self, namespace: str, group_id: str, changes: Mapping[str, Any]) -> R:
        return self._json("PATCH", _group_path(namespace, group_id), body=dict(changes))

    def delete_group(self, namespace: str, group_id: str) -> R:
        return self._json("DELETE", _group_path(namespace, group_id))

    # calendars
    def list_calendars(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{_segment(namespace)}/calendars")

    def put_calendar(
        self,
        namespace: str,
        name: str,
        year: int,
        months: Sequence[Mapping[str, Any]],
        *,
        description: str | None = None,
    ) -> R:
        body = _body(months=[dict(m) for m in months], description=description)
        return self._json("PUT", _calendar_path(namespace, name, year), body=body)

    def get_calendar(self, namespace: str, name: str, year: int) -> R:
        return self._json("GET", _calendar_path(namespace, name, year))

    def delete_calendar(self, namespace: str, name: str, year: int) -> R:
        return self._json("DELETE", _calendar_path(namespace, name, year))

    # jobs
    def create_job(self, job: Mapping[str, Any]) -> R:
        return self._json("POST", "/api/v1/jobs", body=dict(job))

    def list_jobs(
        self,
        *,
        namespace: str | None = None,
        group_id: str | None = None,
        name: str | None = None,
        status: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> R:
        params = _query(
            namespace=namespace,
            group_id=group_id,
            name=name,
            status=status,
            page=page,
            page_size=page_size,
        )
        return self._json("GET", "/api/v1/jobs", params=params)

    def get_job(self, job_id: int) -> R:
        return self._json("GET", f"/api/v1/jobs/{int(job_id)}")

    def update_job(self, job_id: int, changes: Mapping[str, Any]) -> R:
        return self._json("PATCH", f"/api/v1/jobs/{int(job_id)}", body=dict(changes))

    def delete_job(self, job_id: int) -> R:
        return self._json("DELETE", f"/api/v1/jobs/{int(job_id)}")

    def enable_job(self, job_id: int) -> R:
        return self._json("POST", f"/api/v1/jobs/{int(job_id)}/enable")

    def disable_job(self, job_id: int) -> R:
        return self._json("POST", f"/api/v1/jobs/{int(job_id)}/disable")

    def run_job(
        self,
        job_id: int,
        *,
        instance_parameters: str | None = None,
        idempotency_key: str | None = None,
        check_job_status: bool | None = None,
    ) -> R:
        body = _body(
            instance_parameters=instance_parameters,
            idempotency_key=idempotency_key,
            check_job_status=check_job_status,
        )
        return self._json("POST", f"/api/v1/jobs/{int(job_id)}/run", body=body)

    # instances
    def list_instances(
        self,
        *,
        job_id: int | None = None,
        status: Sequence[str] | None = None,
        trigger_type: Sequence[str] | None = None,
        from_time: Instant | None = None,
        to_time: Instant | None = None,
        namespace: str | None = None,
        group_id: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> R:
        params = _query(
            job_id=job_id,
            status=[status] if isinstance(status, str) else status,
            trigger_type=[trigger_type] if isinstance(trigger_type, str) else trigger_type,
            namespace=namespace,
            group_id=group_id,
            page=page,
            page_size=page_size,
        )
        params += _query(
            **{
                "from": None if from_time is None else format_instant(from_time, "from"),
                "to": None if to_time is None else format_instant(to_time, "to"),
            }
        )
        return self._json("GET", "/api/v1/instances", params=params)

    def get_instance(self, instance_id: int) -> R:
        return self._json("GET", f"/api/v1/instances/{int(instance_id)}")

    def instance_logs(
        self,
        instance_id: int,
        *,
        offset: int | None = None,
        limit: int | None = None,
        keyword: str | None = None,
        reverse: bool | None = None,
    ) -> R:
        params = _query(offset=offset, limit=limit, keyword=keyword, reverse=reverse)
        return self._json("GET", f"/api/v1/instances/{int(instance_id)}/logs", params=params)

    def stop_instance(self, instance_id: int) -> R:
        return self._json("POST", f"/api/v1/instances/{int(instance_id)}/stop")

    def rerun_instance(self, instance_id: int) -> R:
        return self._json("POST", f"/api/v1/instances/{int(instance_id)}/rerun")

    def set_instance_success(self, instance_id: int) -> R:
        return self._json("POST", f"/api/v1/instances/{int(instance_id)}/set-success")

    # access keys
    def create_access_key(self, name: str = "", is_admin: bool = False) -> R:
        return self._json("POST", "/api/v1/access-keys", body={"name": name, "is_admin": is_admin})

    def list_access_keys(self) -> R:
        return self._json("GET", "/api/v1/access-keys")

    def delete_access_key(self, key_id: str) -> R:
        return self._json("DELETE", f"/api/v1/access-keys/{_segment(key_id)}")

    def list_permissions(self, key_id: str) -> R:
        return self._json("GET", f"/api/v1/access-keys/{_segment(key_id)}/permissions")

    def grant(
        self,
        key_id: str,
        namespace: str,
        group_id: str = "",
        grant_option: bool = False,
        *,
        right: str,
    ) -> R:
        """``right``: read, run, edit or manage."""
        body = {
            "namespace": namespace,
            "group_id": group_id,
            "right": right,
            "grant_option": grant_option,
        }
        return self._json("POST", f"/api/v1/access-keys/{_segment(key_id)}/permissions", body=body)

    def revoke(self, key_id: str, namespace: str, group_id: str = "") -> R:
        params = _query(namespace=namespace, group_id=group_id)
        return self._json(
            "DELETE", f"/api/v1/access-keys/{_segment(key_id)}/permissions", params=params
        )


def _group_path(namespace: str, group_id: str) -> str:
    return f"/api/v1/namespaces/{_segment(namespace)}/groups/{_segment(group_id)}"


def _calendar_path(namespace: str, name: str, year: int) -> str:
    return f"/api/v1/namespaces/{_segment(namespace)}/calendars/{_segment(name)}/{int(year)}"


# --- transports ----------------------------------------------------------------------------


def _http_options(url: str, key_id: str, secret: str, timeout: float) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise InvalidParameter(f"url: {url!r} must start with http:// or https://", field="url")
    return {
        "base_url": url.rstrip("/"),
        "auth": httpx.BasicAuth(key_id, secret),
        "timeout": timeout,
        "headers": {"Accept": "application/json"},
    }


class AsyncClient(_Operations[Coroutine[Any, Any, JSON], Coroutine[Any, Any, str]]):
    """Async client: ``await client.get_job(1)``; use ``async with`` or ``aclose()``."""

    def __init__(
        self, url: str, key_id: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(**_http_options(url, key_id, secret, timeout))

    async def _json(
        self, method: str, path: str, *, params: Params | None = None, body: JSON | None = None
    ) -> JSON:
        return _decode(await self._send(method, path, params, body))

    async def _plain(self, path: str) -> str:
        return _text(await self._send("GET", path, None, None))

    async def _send(
        self, method: str, path: str, params: Params | None, body: JSON | None
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, params=tuple(params) if params else None, json=body
            )
        except httpx.TransportError as exc:
            raise _transport_error(self.url, exc) from None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Client(_Operations[JSON, str]):
    """Blocking client with the same operations as ``AsyncClient``."""

    def __init__(
        self, url: str, key_id: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(**_http_options(url, key_id, secret, timeout))

    def _json(
        self, method: str, path: str, *, params: Params | None = None, body: JSON | None = None
    ) -> JSON:
        return _decode(self._send(method, path, params, body))

    def _plain(self, path: str) -> str:
        return _text(self._send("GET", path, None, None))

    def _send(
        self, method: str, path: str, params: Params | None, body: JSON | None
    ) -> httpx.Response:
        try:
            return self._http.request(
                method, path, params=tuple(params) if params else None, json=body
            )
        except httpx.TransportError as exc:
            raise _transport_error(self.url, exc) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
