"""The SchedulerX settings of an app group (CreateAppGroup, UpdateAppGroup): checked, then
kept so that GetAppGroup and ListGroups read them back as written. tickwork does not act on
them (docs/schedulerx.md, "App groups")."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from tickwork.domain import bounded_json
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.limits import INT32_MAX
from tickwork.domain.models import AppGroup

__all__ = ["APP_VERSIONS", "SETTINGS_TEXT_MAX", "GroupSettings", "with_settings"]

APP_VERSIONS = (1, 2)  # basic edition, professional edition
SETTINGS_TEXT_MAX = 65_536
"""The longest JSON text or policy name kept (characters): alert settings are small."""


@dataclass(slots=True, frozen=True)
class GroupSettings:
    """Settings given in one call; None leaves the stored value as it is."""

    app_version: int | None = None
    max_jobs: int | None = None
    enable_log: bool | None = None
    monitor_config: str | None = None
    monitor_contacts: str | None = None
    notification_policy: str | None = None


def _check_json(text: str, field: str) -> str:
    """JSON text (an object or a list), kept verbatim; "" clears it."""
    if not text.strip():
        return ""
    _check_length(text, field)
    try:
        value = bounded_json.loads(text, field=field)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(
            f"must be JSON text, got {text[:80]!r} ({exc.msg})", field=field
        ) from None
    if not isinstance(value, dict | list):
        raise InvalidParameter(
            f"must be a JSON object or list, got {type(value).__name__}", field=field
        )
    return text


def _check_length(text: str, field: str) -> None:
    if len(text) > SETTINGS_TEXT_MAX:
        raise InvalidParameter(
            f"must be at most {SETTINGS_TEXT_MAX} characters, got {len(text)}", field=field
        )


def _checked(settings: GroupSettings) -> GroupSettings:
    if settings.app_version is not None and settings.app_version not in APP_VERSIONS:
        raise InvalidParameter(
            f"must be 1 (basic) or 2 (professional), got {settings.app_version}",
            field="app_version",
        )
    if settings.max_jobs is not None and not 1 <= settings.max_jobs <= INT32_MAX:
        raise InvalidParameter(
            f"must be from 1 to {INT32_MAX}, got {settings.max_jobs}", field="max_jobs"
        )
    if settings.notification_policy is not None:
        _check_length(settings.notification_policy, "notification_policy")
    return dataclasses.replace(
        settings,
        monitor_config=None
        if settings.monitor_config is None
        else _check_json(settings.monitor_config, "monitor_config"),
        monitor_contacts=None
        if settings.monitor_contacts is None
        else _check_json(settings.monitor_contacts, "monitor_contacts"),
        notification_policy=None
        if settings.notification_policy is None
        else settings.notification_policy.strip(),
    )


def with_settings(group: AppGroup, settings: GroupSettings) -> AppGroup:
    """``group`` with the settings given (checked; InvalidParameter names the first bad one
    and nothing is changed)."""
    checked = _checked(settings)
    given = {
        f.name: value
        for f in dataclasses.fields(checked)
        if (value := getattr(checked, f.name)) is not None
    }
    return dataclasses.replace(group, **given)
