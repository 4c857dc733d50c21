"""The parameters the product marks required, action by action (the SDK models' "This
parameter is required."; ``RegionId``, required everywhere there, is left out: tickwork
serves every region and ignores it).

The public API gateway refuses a call that lacks one of these before the product sees it
(HTTP 400, ``MissingParameter``); a parameter tickwork needs that the product leaves optional
(``Worker`` with DesignateType 1, the ``JobId`` of a route strategy) is the product's own
refusal, answered inside the envelope. ``errors.status_and_code`` tells them apart with this
table; tests/unit/api/test_schedulerx_errors.py checks it against the installed SDK.
"""

from __future__ import annotations

REQUIRED: dict[str, frozenset[str]] = {
    "BatchDeleteJobs": frozenset({"GroupId", "JobIdList", "Namespace"}),
    "BatchDeleteRouteStrategy": frozenset({"GroupId", "Namespace"}),
    "BatchDisableJobs": frozenset({"JobIdList", "Namespace"}),
    "BatchEnableJobs": frozenset({"JobIdList", "Namespace"}),
    "CreateAppGroup": frozenset({"AppName", "GroupId", "Namespace"}),
    "CreateJob": frozenset({"ExecuteMode", "GroupId", "JobType", "Name", "Namespace", "TimeType"}),
    "CreateNamespace": frozenset({"Name"}),
    "CreateRouteStrategy": frozenset({"GroupId", "Name", "Namespace"}),
    "CreateSchedulerxCalendar": frozenset({"CalendarName", "MonthDaysContent", "Year"}),
    "CreateSchedulerxNotificationPolicy": frozenset({"ChannelTimeRange", "PolicyName"}),
    "CreateWorkflow": frozenset({"GroupId", "Name", "Namespace", "TimeType"}),
    "DeleteAppGroup": frozenset({"GroupId", "Namespace"}),
    "DeleteJob": frozenset({"GroupId", "JobId", "Namespace"}),
    "DeleteNamespace": frozenset({"Namespace"}),
    "DeleteRouteStrategy": frozenset({"GroupId", "Namespace"}),
    "DeleteSchedulerxCalendar": frozenset({"CalendarName", "Year"}),
    "DeleteSchedulerxNotificationPolicy": frozenset({"PolicyName"}),
    "DeleteWorkflow": frozenset({"Namespace", "WorkflowId"}),
    "DescribeRegions": frozenset(),
    "DesignateWorkers": frozenset(
        {"DesignateType", "GroupId", "JobId", "Namespace", "Transferable"}
    ),
    "DisableJob": frozenset({"JobId", "Namespace"}),
    "DisableWorkflow": frozenset({"Namespace", "WorkflowId"}),
    "EnableJob": frozenset({"JobId", "Namespace"}),
    "EnableWorkflow": frozenset({"Namespace", "WorkflowId"}),
    "ExecuteJob": frozenset({"GroupId", "JobId", "Namespace"}),
    "ExecuteWorkflow": frozenset({"GroupId", "Namespace", "WorkflowId"}),
    "GetAppGroup": frozenset({"GroupId", "Namespace"}),
    "GetJobInfo": frozenset({"GroupId", "JobId", "Namespace"}),
    "GetJobInstance": frozenset({"GroupId", "JobId", "JobInstanceId", "Namespace"}),
    "GetJobInstanceList": frozenset({"GroupId", "Namespace"}),
    "GetLog": frozenset({"GroupId", "Namespace"}),
    "GetOverview": frozenset({"MetricType", "Operate", "StartTime"}),
    "GetWorkFlow": frozenset({"GroupId", "Namespace", "WorkflowId"}),
    "GetWorkerList": frozenset({"GroupId", "Namespace"}),
    "GetWorkflowInstance": frozenset({"GroupId", "Namespace", "WfInstanceId", "WorkflowId"}),
    "GrantPermission": frozenset({"GroupId", "Namespace", "UserId", "UserName"}),
    "ListGroups": frozenset({"Namespace"}),
    "ListJobScriptHistory": frozenset({"GroupId", "JobId", "Namespace"}),
    "ListJobs": frozenset({"GroupId", "Namespace"}),
    "ListNamespaces": frozenset(),
    "ListWorkFlows": frozenset({"GroupId", "Namespace"}),
    "ListWorkflowInstance": frozenset({"GroupId", "Namespace", "WorkflowId"}),
    "ManageSchedulerxCalendar": frozenset({"CalendarName", "MonthDaysContent", "Year"}),
    "ManageSchedulerxJobSync": frozenset(
        {"JobIdList", "OriginalGroupId", "OriginalNamespace", "TargetGroupId", "TargetNamespace"}
    ),
    "ManageSchedulerxNotificationPolicy": frozenset({"PolicyName"}),
    "ReadSchedulerxCalendar": frozenset(),
    "ReadSchedulerxDesignateDetail": frozenset({"GroupId", "JobId", "Namespace"}),
    "ReadSchedulerxDesignateInfo": frozenset({"GroupId", "JobId", "Namespace"}),
    "ReadSchedulerxNotificationPolicy": frozenset(),
    "RerunJob": frozenset({"DataTime", "EndDate", "GroupId", "JobId", "Namespace", "StartDate"}),
    "RetryJobInstance": frozenset({"GroupId", "JobId", "JobInstanceId", "Namespace"}),
    "RevokePermission": frozenset({"GroupId", "Namespace", "UserId"}),
    "SetJobInstanceSuccess": frozenset({"GroupId", "JobId", "JobInstanceId", "Namespace"}),
    "SetWfInstanceSuccess": frozenset({"GroupId", "Namespace", "WfInstanceId", "WorkflowId"}),
    "StopInstance": frozenset({"GroupId", "InstanceId", "JobId", "Namespace"}),
    "UpdateAppGroup": frozenset({"GroupId", "Namespace"}),
    "UpdateJob": frozenset({"GroupId", "JobId", "Namespace"}),
    "UpdateJobScript": frozenset({"GroupId", "JobId", "Namespace"}),
    "UpdateNamespace": frozenset({"Namespace"}),
    "UpdateWorkflow": frozenset({"GroupId", "Namespace", "WorkflowId"}),
    "UpdateWorkflowDag": frozenset({"DagJson", "GroupId", "Namespace", "WorkflowId"}),
}


def required_by_product(action: str, parameter: str | None) -> bool:
    """Whether the product marks ``parameter`` required for ``action`` (an action it does not
    know has nothing required: the gateway refuses the action itself first)."""
    return parameter is not None and parameter in REQUIRED.get(action, frozenset())
