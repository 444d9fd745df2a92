"""A function fed by the bucket's notifications through a queue: the wiring precompute, pricing and the
fit trigger share.

S3 notifies the queue of every object created under one prefix; Lambda reads the queue and the
function reports each failed message back, so SQS delivers it again and, after the contract's number
of receives, parks it in the dead-letter queue, whose depth raises an alarm (infra/alarms.py).

Not a component of its own: the resources are children of the service's component, named after it,
as they were before this wiring was shared, so their URNs (and so the deployed queues) stay the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import LambdaPackage
from infra.policy_docs import ServiceRole, allow, s3_may_send, service_principal, write_logs
from infra.service_env import lambda_function

DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: two weeks to look at a failure
EVENTS_SERVICE = "events.amazonaws.com"
EVENT_SOURCE_SQS_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")


def visibility_timeout(timeout_seconds: int, batching_window_seconds: int) -> int:
    """AWS's advice for an SQS event source: six times the function's timeout, plus the batching window,
    so a message is not handed out again while an invocation (or the batch it waits in) still holds it."""
    return 6 * timeout_seconds + batching_window_seconds


@dataclass(frozen=True)
class QueuedFunctionArgs:
    """One service's function and what feeds it: which objects, how many at once, what else it may do."""

    package: LambdaPackage
    code: Path
    memory_mb: int
    timeout_seconds: int
    bucket_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    log_retention_days: int
    # The objects whose creation S3 sends to the queue.
    filter_prefix: str
    filter_suffix: str | None
    max_receives: int
    # Concurrent invocations the event source allows (Lambda's minimum for SQS is 2).
    max_concurrency: int
    # The role's grants besides consuming its own queue and writing its own logs, which every such function gets.
    statements: Sequence[dict[str, Any]]
    # The bucket and odds table named in the function's environment (None: a function that reads neither).
    bucket_name: pulumi.Input[str] | None = None
    table_name: pulumi.Input[str] | None = None
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    batch_size: int = 1
    batching_window_seconds: int = 0
    # EventBridge rules that may send their events to the queue too (the fit trigger's: fit tasks stopped).
    event_rule_arns: Sequence[pulumi.Input[str]] = ()


def _queue_policy(queue_arn: pulumi.Input[str], args: QueuedFunctionArgs) -> pulumi.Output[str]:
    """The bucket may send its notifications; each of `args.event_rule_arns`, and no other rule, its events."""
    from_bucket = s3_may_send(queue_arn, args.bucket_arn, args.account_id)
    if not args.event_rule_arns:
        return from_bucket
    from_rules = pulumi.Output.json_dumps(
        service_principal(
            EVENTS_SERVICE,
            ["sqs:SendMessage"],
            queue_arn,
            {"ArnEquals": {"aws:SourceArn": list(args.event_rule_arns)}},
        )
    )

    def merged(documents: list[str]) -> str:
        policy, statement = json.loads(documents[0]), json.loads(documents[1])
        return json.dumps({**policy, "Statement": [*policy["Statement"], statement]})

    return pulumi.Output.all(from_bucket, from_rules).apply(merged)


class QueuedFunction:
    """Dead-letter queue, queue, redrive permission, queue policy, log group, role, function and event source.

    `notification` is the queue's entry for the bucket's one BucketNotification (S3 keeps one per
    bucket, infra/storage.py makes it), which must depend on `queue_policy`: S3 checks that it may
    send to the queue when the notification is saved.
    """

    def __init__(self, name: str, args: QueuedFunctionArgs, parent: pulumi.Resource) -> None:
        child = pulumi.ResourceOptions(parent=parent)

        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            visibility_timeout_seconds=visibility_timeout(args.timeout_seconds, args.batching_window_seconds),
            sqs_managed_sse_enabled=True,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": args.max_receives}
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq",
            queue_url=self.dead_letter_queue.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}
            ),
            opts=child,
        )
        self.queue_policy = aws.sqs.QueuePolicy(
            name,
            queue_url=self.queue.url,
            policy=_queue_policy(self.queue.arn, args),
            opts=child,
        )
        self.notification: aws.s3.BucketNotificationQueueArgsDict = {
            "queue_arn": self.queue.arn,
            "events": ["s3:ObjectCreated:*"],
            "filter_prefix": args.filter_prefix,
        }
        if args.filter_suffix is not None:
            self.notification["filter_suffix"] = args.filter_suffix

        self.log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.role = ServiceRole(
            name,
            "lambda.amazonaws.com",
            [
                *args.statements,
                allow(EVENT_SOURCE_SQS_ACTIONS, [self.queue.arn]),
                write_logs(self.log_group),
            ],
            parent=parent,
        )
        self.function = lambda_function(
            name,
            args.package,
            args.code,
            args.memory_mb,
            args.timeout_seconds,
            self.role,
            self.log_group,
            args.bucket_name,
            args.table_name,
            parent=parent,
            environment=dict(args.environment),
        )
        # Lambda checks the role's SQS permissions when the mapping is created, hence depends_on.
        self.event_source = aws.lambda_.EventSourceMapping(
            name,
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            batch_size=args.batch_size,
            # Unset (not 0) when there is none, so a function without a window keeps the mapping it had.
            maximum_batching_window_in_seconds=args.batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": args.max_concurrency},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.role.policy]),
        )

    @property
    def outputs(self) -> dict[str, pulumi.Output[str]]:
        """What the service's component registers as its outputs."""
        return {
            "function_name": self.function.name,
            "queue_url": self.queue.url,
            "dead_letter_queue_url": self.dead_letter_queue.url,
            "dead_letter_queue_name": self.dead_letter_queue.name,
        }
