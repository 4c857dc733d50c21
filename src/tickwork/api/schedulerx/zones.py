"""The time zone of a SchedulerX region.

SchedulerX runs a job that names no Timezone in the time of its region (the cn-* regions are
UTC+8) and shows its times there. **Decisions** (docs/schedulerx.md, "Time zones"): the zone
comes from the call's ``RegionId``: every ``cn-`` region is Asia/Shanghai (Hong Kong
included: the same offset, neither has daylight saving time), each other public region the
zone of its city; a call without a RegionId, or with one not listed here (``public``, a
region opened later), Asia/Shanghai, where SchedulerX began. The server setting
``schedulerx_timezone`` (``TICKWORK_SCHEDULERX_TIMEZONE``, ``--schedulerx-timezone``), when
set, overrides the region for every call.

This is translation of the product's region, not a scheduling rule: the services only ever
see a job with its zone filled in.
"""

from __future__ import annotations

from tickwork.api.schedulerx.registry import Call

CHINA_ZONE = "Asia/Shanghai"  # every cn-* region, and the fallback

# The public Alibaba Cloud regions outside the Chinese mainland, by the city they are in.
REGION_ZONES: dict[str, str] = {
    "ap-northeast-1": "Asia/Tokyo",
    "ap-northeast-2": "Asia/Seoul",
    "ap-southeast-1": "Asia/Singapore",
    "ap-southeast-2": "Australia/Sydney",
    "ap-southeast-3": "Asia/Kuala_Lumpur",
    "ap-southeast-5": "Asia/Jakarta",
    "ap-southeast-6": "Asia/Manila",
    "ap-southeast-7": "Asia/Bangkok",
    "ap-south-1": "Asia/Kolkata",
    "us-east-1": "America/New_York",
    "us-west-1": "America/Los_Angeles",
    "na-south-1": "America/Mexico_City",
    "eu-central-1": "Europe/Berlin",
    "eu-west-1": "Europe/London",
    "me-east-1": "Asia/Dubai",
    "me-central-1": "Asia/Riyadh",
}


def region_zone(region_id: str | None, setting: str = "") -> str:
    """The zone of a region: the server setting when it is set, else the region's own."""
    if setting.strip():
        return setting.strip()
    region = (region_id or "").strip().lower()
    if region.startswith("cn-"):
        return CHINA_ZONE
    return REGION_ZONES.get(region, CHINA_ZONE)


def call_zone(call: Call) -> str:
    """The zone of the call's region (the zone of a job it creates without a Timezone, and
    of the times it shows where there is no job)."""
    setting = call.services.settings.schedulerx_timezone
    return region_zone(call.params.str("RegionId"), setting)


__all__ = ["CHINA_ZONE", "REGION_ZONES", "call_zone", "region_zone"]
