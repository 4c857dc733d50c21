"""DescribeRegions: a tickwork server is one region.

It answers its home region, ``cn-hangzhou`` (what the SDKs' examples use), and, when the
caller asked with another RegionId, that one as well: every action accepts any RegionId (it
only gives the time zone of jobs and times, zones.py), so the caller's region is served too.
The endpoint is the server's own address.
"""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.registry import Call, action

HOME_REGION = "cn-hangzhou"


@action("DescribeRegions")
async def describe_regions(call: Call) -> dict[str, Any]:
    settings = call.services.settings
    endpoint = f"{settings.host}:{settings.port}"
    asked = (call.params.str("RegionId") or "").strip()
    regions = [HOME_REGION] + ([asked] if asked and asked != HOME_REGION else [])
    return {
        "Regions": [
            {"RegionId": region, "LocalName": f"tickwork ({region})", "RegionEndpoint": endpoint}
            for region in regions
        ]
    }
