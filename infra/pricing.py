"""Pricing: a fixtures file in S3 becomes priced/ CSV and JSON from the stored odds, through SQS.

The same shape as precompute: S3 notifies the queue of every object created under the fixtures
prefix (the notification itself is precompute's BucketNotification, S3's one per bucket, which takes
this component's `notification` entry); Lambda reads the queue one message at a time and reports a
failed message back, so SQS retries it and, after the contract's receives, parks it in the
dead-letter queue, whose depth raises an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import PRICING
from infra.policy_docs import ServiceRole, allow, s3_may_send, write_logs
from infra.service_env import lambda_function
from matchodds.core.keys import FIXTURES_PREFIX, PRICED_PREFIX, PRICING_MAX_RECEIVES

# A fixtures file is a few hundred rows: parsing, one GetItem, a few BatchGetItems and two puts.
# Plain Python (no numpy); 512 MB gives a third of a vCPU, plenty for a file of any real size.
PRICING_MEMORY_MB = 512
PRICING_TIMEOUT_SECONDS = 60
# AWS's advice for an SQS event source: six times the function's timeout.
QUEUE_VISIBILITY_SECONDS = 6 * PRICING_TIMEOUT_SECONDS
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: two weeks to look at a failure
MAX_CONCURRENCY = 2  # a burst of uploads waits in the queue instead of drawing on the table at once
PRICING_DYNAMODB_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem")
EVENT_SOURCE_SQS_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")


@dataclass(frozen=True)
class PricingArgs:
    code: Path
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    log_retention_days: int


class Pricing(pulumi.ComponentResource):
    """Queue with dead-letter queue, the policy that lets the bucket send to it, and the function."""

    def __init__(self, name: str, args: PricingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matchodds:infra:Pricing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket_arn = pulumi.Output.from_input(args.bucket_arn)

        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            visibility_timeout_seconds=QUEUE_VISIBILITY_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": PRICING_MAX_RECEIVES}
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
            policy=s3_may_send(self.queue.arn, bucket_arn, args.account_id),
            opts=child,
        )
        # The bucket's entry for this queue; the bucket's one BucketNotification carries it.
        self.notification: aws.s3.BucketNotificationQueueArgsDict = {
            "queue_arn": self.queue.arn,
            "events": ["s3:ObjectCreated:*"],
            "filter_prefix": FIXTURES_PREFIX,
        }

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
                allow(["s3:GetObject"], [bucket_arn.apply(lambda arn: f"{arn}/{FIXTURES_PREFIX}*")]),
                allow(["s3:PutObject"], [bucket_arn.apply(lambda arn: f"{arn}/{PRICED_PREFIX}*")]),
                allow(PRICING_DYNAMODB_ACTIONS, [args.table_arn]),
                allow(EVENT_SOURCE_SQS_ACTIONS, [self.queue.arn]),
                write_logs(self.log_group),
            ],
            parent=self,
        )
        self.function = lambda_function(
            name,
            PRICING,
            args.code,
            PRICING_MEMORY_MB,
            PRICING_TIMEOUT_SECONDS,
            self.role,
            self.log_group,
            args.bucket_name,
            args.table_name,
            parent=self,
        )
        # Lambda checks the role's SQS permissions when the mapping is created, hence depends_on.
        self.event_source = aws.lambda_.EventSourceMapping(
            name,
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            batch_size=1,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": MAX_CONCURRENCY},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role.policy]),
        )

        self.register_outputs(
            {
                "function_name": self.function.name,
                "queue_url": self.queue.url,
                "dead_letter_queue_url": self.dead_letter_queue.url,
                "dead_letter_queue_name": self.dead_letter_queue.name,
            }
        )
