"""UpdateJobScript and ListJobScriptHistory: a script job's content, with its versions."""

from __future__ import annotations

from typing import Any

from tickwork.api.schedulerx.registry import Call, action
from tickwork.api.schedulerx.times import sx_time


@action("UpdateJobScript")
async def update_job_script(call: Call) -> dict[str, Any]:
    p = call.params
    await call.services.jobs.update_script(
        call.caller,
        p.req_int("JobId"),
        p.req("ScriptContent"),
        description=p.str("VersionDescription") or "",
        namespace=p.req("Namespace"),
        group_id=p.req("GroupId"),
    )
    return {}


@action("ListJobScriptHistory")
async def list_job_script_history(call: Call) -> dict[str, Any]:
    p = call.params
    job_id, namespace, group_id = p.req_int("JobId"), p.req("Namespace"), p.req("GroupId")
    versions = await call.services.jobs.script_history(call.caller, job_id, namespace, group_id)
    # times in the job's zone, as every time of a job is shown
    zone = (await call.services.jobs.get(call.caller, job_id, namespace, group_id)).timezone
    return {
        "Data": {
            "JobScriptHistoryInfos": [
                {
                    "ScriptContent": v.content,
                    "VersionesDescription": v.description,
                    "Creator": v.creator,
                    "CreateTime": sx_time(v.created_at, zone),
                }
                for v in versions
            ]
        }
    }
