"""IAM policies as data: statements that name exact actions on exact ARNs, and roles built from them.

Every role in the stack is made here, with one inline policy, so the tests can read what each role
may do straight from the documents the stack sends to IAM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws


def allow(
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]],
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """One Allow statement; conditions as IAM writes them: {operator: {key: value}}."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if conditions:
        statement["Condition"] = {operator: dict(values) for operator, values in conditions.items()}
    return statement


def deny_everyone(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]],
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """One resource-policy Deny for every principal (the account's administrators too), when the conditions hold."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": sorted(actions),
        "Resource": list(resources),
    }
    if conditions:
        statement["Condition"] = {operator: dict(values) for operator, values in conditions.items()}
    return statement


def document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """A policy document from statements whose ARNs may still be outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_principal(
    service: str, actions: Sequence[str], resource: pulumi.Input[str], conditions: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A resource-policy statement that lets one AWS service act, only on behalf of the given source."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": sorted(actions),
        "Resource": resource,
        "Condition": {operator: dict(values) for operator, values in conditions.items()},
    }


class ServiceRole:
    """An IAM role that one AWS service assumes, with one inline policy.

    `source_account` pins the trust to calls made on behalf of this account (the confused-deputy
    guard that ECS and EventBridge Scheduler document); Lambda's own trust takes no such condition.
    """

    def __init__(
        self,
        name: str,
        service: str,
        statements: Sequence[dict[str, Any]],
        parent: pulumi.Resource,
        source_account: pulumi.Input[str] | None = None,
    ) -> None:
        trust_statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
        if source_account is not None:
            trust_statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
        trust = pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [trust_statement]})
        self.role = aws.iam.Role(name, assume_role_policy=trust, opts=pulumi.ResourceOptions(parent=parent))
        self.policy = aws.iam.RolePolicy(
            name,
            role=self.role.name,
            policy=document(*statements),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn


def log_streams(log_group: aws.cloudwatch.LogGroup) -> pulumi.Output[str]:
    """The ARN of every stream in one log group: where a role may write its logs, and nowhere else."""
    return log_group.arn.apply(lambda arn: f"{arn.removesuffix(':*')}:log-stream:*")


def write_logs(log_group: aws.cloudwatch.LogGroup) -> dict[str, Any]:
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_streams(log_group)])


def s3_may_send(
    queue_arn: pulumi.Input[str], bucket_arn: pulumi.Input[str], account_id: pulumi.Input[str]
) -> pulumi.Output[str]:
    """A queue policy that lets S3 send this bucket's (and this account's) notifications, and nothing else."""
    condition = {"ArnEquals": {"aws:SourceArn": bucket_arn}, "StringEquals": {"aws:SourceAccount": account_id}}
    statement = service_principal("s3.amazonaws.com", ["sqs:SendMessage"], queue_arn, condition)
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})
