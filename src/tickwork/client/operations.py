"""Every endpoint of the native API (docs/native-api.md), written once for both clients.

``Operations`` builds each request (method, path, query, body) and hands it to two abstract
methods; ``AsyncClient`` and ``Client`` (``clients.py``) implement them over httpx's async and
sync clients, so that no operation is written twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from tickwork.client.encoding import (
    JSON,
    Instant,
    Params,
    format_instant,
    json_body,
    path_segment,
    query_params,
)

__all__ = ["Operations"]

R = TypeVar("R")  # what a JSON call returns: JSON, or an awaitable of it
T = TypeVar("T")  # what a text call returns


class Operations(ABC, Generic[R, T]):
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
        body = json_body(id=id, name=name, description=description)
        return self._json("POST", "/api/v1/namespaces", body=body)

    def get_namespace(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{path_segment(namespace)}")

    def update_namespace(self, namespace: str, changes: Mapping[str, Any]) -> R:
        path = f"/api/v1/namespaces/{path_segment(namespace)}"
        return self._json("PATCH", path, body=dict(changes))

    def delete_namespace(self, namespace: str) -> R:
        return self._json("DELETE", f"/api/v1/namespaces/{path_segment(namespace)}")

    # app groups
    def list_groups(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{path_segment(namespace)}/groups")

    def create_group(
        self,
        namespace: str,
        group_id: str,
        *,
        app_name: str | None = None,
        description: str | None = None,
        run_on_server: bool | None = None,
    ) -> R:
        body = json_body(
            group_id=group_id,
            app_name=app_name,
            description=description,
            run_on_server=run_on_server,
        )
        return self._json("POST", f"/api/v1/namespaces/{path_segment(namespace)}/groups", body=body)

    def get_group(self, namespace: str, group_id: str) -> R:
        return self._json("GET", _group_path(namespace, group_id))

    def update_group(self, namespace: str, group_id: str, changes: Mapping[str, Any]) -> R:
        return self._json("PATCH", _group_path(namespace, group_id), body=dict(changes))

    def delete_group(self, namespace: str, group_id: str) -> R:
        return self._json("DELETE", _group_path(namespace, group_id))

    # calendars
    def list_calendars(self, namespace: str) -> R:
        return self._json("GET", f"/api/v1/namespaces/{path_segment(namespace)}/calendars")

    def put_calendar(
        self,
        namespace: str,
        name: str,
        year: int,
        months: Sequence[Mapping[str, Any]],
        *,
        description: str | None = None,
    ) -> R:
        body = json_body(months=[dict(m) for m in months], description=description)
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
        params = query_params(
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
        body = json_body(
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
        params = query_params(
            job_id=job_id,
            status=[status] if isinstance(status, str) else status,
            trigger_type=[trigger_type] if isinstance(trigger_type, str) else trigger_type,
            namespace=namespace,
            group_id=group_id,
            page=page,
            page_size=page_size,
        )
        params += query_params(
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
        params = query_params(offset=offset, limit=limit, keyword=keyword, reverse=reverse)
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
        return self._json("DELETE", f"/api/v1/access-keys/{path_segment(key_id)}")

    def list_permissions(self, key_id: str) -> R:
        return self._json("GET", f"/api/v1/access-keys/{path_segment(key_id)}/permissions")

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
        return self._json(
            "POST", f"/api/v1/access-keys/{path_segment(key_id)}/permissions", body=body
        )

    def revoke(self, key_id: str, namespace: str, group_id: str = "") -> R:
        params = query_params(namespace=namespace, group_id=group_id)
        return self._json(
            "DELETE", f"/api/v1/access-keys/{path_segment(key_id)}/permissions", params=params
        )


def _group_path(namespace: str, group_id: str) -> str:
    return f"/api/v1/namespaces/{path_segment(namespace)}/groups/{path_segment(group_id)}"


def _calendar_path(namespace: str, name: str, year: int) -> str:
    calendars = f"/api/v1/namespaces/{path_segment(namespace)}/calendars"
    return f"{calendars}/{path_segment(name)}/{int(year)}"
