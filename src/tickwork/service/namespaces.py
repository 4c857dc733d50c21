"""Namespaces, app groups and calendars.

Rights (service/rights.py): namespaces are made, changed and deleted by admins; a group is
made by a key managing its whole namespace, and changed or deleted by one managing the group;
only an admin lets a group run on the server's own worker. A group's AppKey is shown only to
those who may manage it. Calendars belong to a namespace: read by anyone holding a right in
it (those of ``default`` are shared: every key may read them), written by keys that may edit
the whole namespace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import secrets
import time
import uuid

from tickwork.clock import now_ms
from tickwork.domain.enums import Right
from tickwork.domain.errors import (
    AlreadyExists,
    CalendarNotFound,
    Forbidden,
    GroupNotFound,
    InvalidParameter,
    NamespaceNotFound,
)
from tickwork.domain.models import AppGroup, Calendar, CalendarMonth, Namespace, WorkerInfo
from tickwork.engine.engine import Engine
from tickwork.service.group_settings import GroupSettings, with_settings
from tickwork.service.rights import SYSTEM, Caller, require, require_admin
from tickwork.store.abc import Store

DEFAULT_NAMESPACE = "default"
DEFAULT_GROUP = "default"
ID_LIMIT = 128
CALENDAR_YEARS = (1970, 2199)
APP_KEY_MINIMUM = 8


def _check_id(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidParameter(f"{field} must not be empty", field=field)
    if len(value) > ID_LIMIT or any(c.isspace() or c == "/" for c in value):
        raise InvalidParameter(
            f"{field} {value!r} must be at most {ID_LIMIT} characters without spaces or '/'",
            field=field,
        )
    return value


NAMES_CACHE_S = 2.0
"""How long a namespace or app group read from the store serves calls before it is read
again (a change through another server shows within this; through this one, at once)."""


class NamespaceService:
    def __init__(self, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine
        # namespaces and groups read lately (API calls name them on every call); a change
        # through this server drops them at once, through another within NAMES_CACHE_S
        self._seen_namespaces: dict[str, tuple[Namespace, float]] = {}
        self._seen_groups: dict[tuple[str, str], tuple[AppGroup, float]] = {}

    # -- namespaces --------------------------------------------------------------------------
    async def create_namespace(
        self, caller: Caller, name: str, description: str = "", namespace_id: str | None = None
    ) -> Namespace:
        require_admin(caller, "create namespaces")
        if not name.strip():
            raise InvalidParameter("name must not be empty", field="name")
        ns_id = _check_id(namespace_id, "id") if namespace_id else str(uuid.uuid4())
        return await self._store.create_namespace(
            Namespace(id=ns_id, name=name.strip(), description=description, created_at=now_ms())
        )

    async def get_namespace(self, caller: Caller, namespace_id: str) -> Namespace:
        """The namespace, for a caller holding any right in it."""
        _require_in_namespace(caller, namespace_id)
        return await self._namespace(namespace_id)

    async def _namespace(self, namespace_id: str) -> Namespace:
        now = time.monotonic()
        seen = self._seen_namespaces.get(namespace_id)
        if seen is not None and now - seen[1] < NAMES_CACHE_S:
            return seen[0]
        namespace = await self._store.get_namespace(namespace_id)
        if namespace is None:
            raise NamespaceNotFound(f"namespace {namespace_id!r} does not exist", field="namespace")
        if len(self._seen_namespaces) > 10_000:
            self._seen_namespaces.clear()
        self._seen_namespaces[namespace_id] = (namespace, now)
        return namespace

    def _forget(self, namespace: str, group_id: str | None = None) -> None:
        """A namespace (with its groups) or one group changed: read it again next time."""
        if group_id is not None:
            self._seen_groups.pop((namespace, group_id), None)
            return
        self._seen_namespaces.pop(namespace, None)
        for key in [k for k in self._seen_groups if k[0] == namespace]:
            del self._seen_groups[key]

    async def list_namespaces(self, caller: Caller) -> list[Namespace]:
        """The namespaces the caller holds a right in (every one, for an admin)."""
        return [n for n in await self._store.list_namespaces() if caller.sees_namespace(n.id)]

    async def update_namespace(
        self,
        caller: Caller,
        namespace_id: str,
        name: str | None = None,
        description: str | None = None,
    ) -> Namespace:
        require_admin(caller, "change namespaces")
        self._forget(namespace_id)  # the copy below is changed: not the one calls share
        namespace = await self._namespace(namespace_id)
        if name is not None:
            if not name.strip():
                raise InvalidParameter("name must not be empty", field="name")
            namespace.name = name.strip()
        if description is not None:
            namespace.description = description
        try:
            return await self._store.update_namespace(namespace)
        finally:
            self._forget(namespace_id)

    async def delete_namespace(self, caller: Caller, namespace_id: str) -> None:
        require_admin(caller, "delete namespaces")
        try:
            await self._store.delete_namespace(namespace_id)
        finally:
            self._forget(namespace_id)

    # -- app groups --------------------------------------------------------------------------
    async def create_group(
        self,
        caller: Caller,
        namespace: str,
        group_id: str,
        app_name: str = "",
        description: str = "",
        *,
        app_key: str | None = None,
        run_on_server: bool = False,
        settings: GroupSettings | None = None,
    ) -> AppGroup:
        """``app_key``: the workers' credential the creator chose (generated when None).
        ``run_on_server``: the server's own worker may run its jobs (admins only).
        ``settings``: the SchedulerX settings to keep (``service/group_settings.py``)."""
        require(caller, Right.MANAGE, namespace)
        if run_on_server:
            _require_admin_for_server(caller)
        await self._namespace(namespace)
        if app_key is not None:
            app_key = _check_id(app_key, "app_key")
            if len(app_key) < APP_KEY_MINIMUM:
                raise InvalidParameter(
                    f"app_key must be at least {APP_KEY_MINIMUM} characters: it is the "
                    "credential of the group's workers",
                    field="app_key",
                )
        group = AppGroup(
            namespace=namespace,
            group_id=_check_id(group_id, "group_id"),
            app_key=app_key or secrets.token_urlsafe(24),
            app_name=app_name or group_id,
            description=description,
            created_at=now_ms(),
            run_on_server=run_on_server,
        )
        group = with_settings(group, settings or GroupSettings())
        created = await self._store.create_group(group)
        if run_on_server:
            await self._engine.server_groups.reload()
        return created

    async def get_group(self, caller: Caller, namespace: str, group_id: str) -> AppGroup:
        """The group, for a caller that may read it (its AppKey blank unless the caller may
        manage the group)."""
        require(caller, Right.READ, namespace, group_id)
        return _as_seen_by(caller, await self.stored_group(namespace, group_id))

    async def stored_group(self, namespace: str, group_id: str) -> AppGroup:
        """The group as stored, AppKey included, for the services' own use: no rights are
        checked here (GroupNotFound, or NamespaceNotFound, when it does not exist)."""
        await self._namespace(namespace)
        now = time.monotonic()
        seen = self._seen_groups.get((namespace, group_id))
        if seen is not None and now - seen[1] < NAMES_CACHE_S:
            return seen[0]
        group = await self._store.get_group(namespace, group_id)
        if group is None:
            raise GroupNotFound(
                f"group {group_id!r} does not exist in namespace {namespace!r}", field="group_id"
            )
        if len(self._seen_groups) > 10_000:
            self._seen_groups.clear()
        self._seen_groups[(namespace, group_id)] = (group, now)
        return group

    async def list_groups(self, caller: Caller, namespace: str) -> list[AppGroup]:
        """The groups of the namespace the caller may read (AppKeys as ``get_group``)."""
        _require_in_namespace(caller, namespace)
        await self._namespace(namespace)
        return [
            _as_seen_by(caller, g)
            for g in await self._store.list_groups(namespace)
            if caller.may(Right.READ, namespace, g.group_id)
        ]

    async def verify_app_key(self, namespace: str, group_id: str, app_key: str) -> AppGroup:
        """The group whose workers hold ``app_key`` (compared in constant time): how a
        worker agent authenticates. Forbidden when the key is wrong, and in the same words
        when the group does not exist (an unauthenticated caller learns nothing)."""
        try:
            group = await self.stored_group(namespace, group_id)
        except (NamespaceNotFound, GroupNotFound):
            group = None
        expected = group.app_key if group is not None else _NO_APP_KEY
        if not hmac.compare_digest(expected.encode(), app_key.encode()) or group is None:
            raise Forbidden(f"wrong AppKey for app group {namespace}/{group_id}")
        return group

    async def workers(self, caller: Caller, namespace: str, group_id: str) -> list[WorkerInfo]:
        """The live workers of a group (its agents on every server, and this server's own
        worker when the group may run on it)."""
        require(caller, Right.READ, namespace, group_id)
        await self.stored_group(namespace, group_id)
        return self._engine.workers_of(namespace, group_id)

    async def update_group(
        self,
        caller: Caller,
        namespace: str,
        group_id: str,
        app_name: str | None = None,
        description: str | None = None,
        *,
        run_on_server: bool | None = None,
        settings: GroupSettings | None = None,
    ) -> AppGroup:
        """Change what is given (None: unchanged)."""
        require(caller, Right.MANAGE, namespace, group_id)
        self._forget(namespace, group_id)  # the copy below is changed: not the one calls share
        group = dataclasses.replace(await self.stored_group(namespace, group_id))
        if app_name is not None:
            group.app_name = app_name
        if description is not None:
            group.description = description
        if run_on_server is not None and run_on_server != group.run_on_server:
            _require_admin_for_server(caller)
            group.run_on_server = run_on_server
        if settings is not None:
            group = with_settings(group, settings)
        try:
            updated = await self._store.update_group(group)
        finally:
            self._forget(group.namespace, group.group_id)
        if run_on_server is not None:
            await self._engine.server_groups.reload()
        return _as_seen_by(caller, updated)

    async def delete_group(self, caller: Caller, namespace: str, group_id: str) -> None:
        require(caller, Right.MANAGE, namespace, group_id)
        group = await self.stored_group(namespace, group_id)
        try:
            await self._store.delete_group(namespace, group_id)
        finally:
            self._forget(namespace, group_id)
        if group.run_on_server:
            await self._engine.server_groups.reload()

    async def ensure_defaults(self) -> None:
        """The ``default`` namespace and group, used when a caller names none. Servers
        starting at once on one database may both try: the one that loses finds them made."""
        if await self._store.get_namespace(DEFAULT_NAMESPACE) is None:
            with contextlib.suppress(AlreadyExists):
                await self.create_namespace(
                    SYSTEM, "default", "created on first start", DEFAULT_NAMESPACE
                )
        if await self._store.get_group(DEFAULT_NAMESPACE, DEFAULT_GROUP) is None:
            with contextlib.suppress(AlreadyExists):
                # the embedded default's own group runs on the server with no setup
                await self.create_group(
                    SYSTEM,
                    DEFAULT_NAMESPACE,
                    DEFAULT_GROUP,
                    "default",
                    "created on first start",
                    run_on_server=True,
                )

    # -- calendars ---------------------------------------------------------------------------
    async def put_calendar(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        year: int,
        months: list[CalendarMonth],
        description: str = "",
    ) -> Calendar:
        require(caller, Right.EDIT, namespace)
        await self._namespace(namespace)
        _check_id(name, "name")
        if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
            raise InvalidParameter(f"year {year} is outside 1970..2199", field="year")
        seen: set[int] = set()
        for entry in months:
            if not 1 <= entry.month <= 12:
                raise InvalidParameter(f"month {entry.month} is not in 1..12", field="months")
            if entry.month in seen:
                raise InvalidParameter(f"month {entry.month} is given twice", field="months")
            seen.add(entry.month)
            for day in entry.days:
                if not 1 <= day <= _days_in_month(year, entry.month):
                    raise InvalidParameter(
                        f"day {day} does not exist in {year}-{entry.month:02d}", field="months"
                    )
            entry.days = sorted(set(entry.days))
        calendar = await self._store.put_calendar(
            Calendar(
                namespace=namespace,
                name=name,
                year=year,
                months=sorted(months, key=lambda m: m.month),
                description=description,
            )
        )
        self._engine.calendars_changed()
        return calendar

    async def create_calendar(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        year: int,
        months: list[CalendarMonth],
        description: str = "",
    ) -> Calendar:
        """Like put_calendar, but AlreadyExists when that year of the calendar exists."""
        require(caller, Right.EDIT, namespace)
        await self._namespace(namespace)
        if await self._store.get_calendar(namespace, name, year) is not None:
            raise AlreadyExists(
                f"calendar {name!r} already has year {year} in namespace {namespace!r}",
                field="name",
            )
        return await self.put_calendar(caller, namespace, name, year, months, description)

    async def update_calendar(
        self,
        caller: Caller,
        namespace: str,
        name: str,
        year: int,
        months: list[CalendarMonth],
        *,
        incremental: bool = False,
    ) -> Calendar:
        """Change an existing year of a calendar (CalendarNotFound if it has none): replace
        all its months, or with ``incremental`` only the months given, keeping the others."""
        require(caller, Right.EDIT, namespace)
        await self._namespace(namespace)
        current = await self.get_calendar(caller, namespace, name, year)
        if incremental:
            given = {m.month for m in months}
            months = [m for m in current.months if m.month not in given] + months
        return await self.put_calendar(caller, namespace, name, year, months, current.description)

    async def get_calendar(self, caller: Caller, namespace: str, name: str, year: int) -> Calendar:
        _require_calendar_reader(caller, namespace)
        # a year no calendar can have is not looked up (nor can every database compare it)
        known = CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]
        calendar = await self._store.get_calendar(namespace, name, year) if known else None
        if calendar is None:
            raise CalendarNotFound(
                f"calendar {name!r} has no year {year} in namespace {namespace!r}", field="name"
            )
        return calendar

    async def list_calendars(self, caller: Caller, namespace: str) -> list[Calendar]:
        _require_calendar_reader(caller, namespace)
        await self._namespace(namespace)
        return await self._store.list_calendars(namespace)

    async def delete_calendar(
        self, caller: Caller, namespace: str, name: str, year: int | None
    ) -> None:
        require(caller, Right.EDIT, namespace)
        if year is not None and not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
            raise CalendarNotFound(
                f"calendar {name!r} of year {year} does not exist in namespace {namespace!r}",
                field="name",
            )
        await self._store.delete_calendar(namespace, name, year)
        self._engine.calendars_changed()


def _days_in_month(year: int, month: int) -> int:
    import calendar as _calendar

    return _calendar.monthrange(year, month)[1]


# Compared against when the group does not exist (never an AppKey: it holds a space).
_NO_APP_KEY = "no such group " + secrets.token_urlsafe(24)


def _as_seen_by(caller: Caller, group: AppGroup) -> AppGroup:
    """The group as the caller may see it: its AppKey (the workers' credential, which lets
    a worker take the group's runs) only for those who may manage it."""
    if caller.may(Right.MANAGE, group.namespace, group.group_id):
        return group
    return dataclasses.replace(group, app_key="")


def _require_in_namespace(caller: Caller, namespace: str) -> None:
    if not caller.sees_namespace(namespace):
        raise Forbidden(
            f"access key {caller.key_id!r} has no right in namespace {namespace!r}",
            field="namespace",
        )


def _require_calendar_reader(caller: Caller, namespace: str) -> None:
    # the default namespace's calendars are shared by every namespace: any key reads them
    if namespace != DEFAULT_NAMESPACE:
        _require_in_namespace(caller, namespace)


def _require_admin_for_server(caller: Caller) -> None:
    require_admin(
        caller,
        "let an app group run on the server's own worker (its jobs would run on the server's host)",
    )
