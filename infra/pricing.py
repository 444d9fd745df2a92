"""Pricing: a fixtures file in S3 becomes priced/ CSV and JSON from the stored odds, through SQS.

The same shape as precompute: S3 notifies the queue of every object created under the fixtures
prefix (the notification itself is the bucket's one BucketNotification, S3 keeps one per bucket,
which storage makes from this component's `queued.notification` entry); Lambda reads the queue one
message at a time and reports a failed message back, so SQS retries it and, after the contract's
receives, parks it in the dead-letter queue, whose depth raises an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra.lambda_platform import PRICING
from infra.policy_docs import allow
from infra.queued_function import QueuedFunction, QueuedFunctionArgs
from matchodds.core.items import fixtures_partition
from matchodds.core.keys import CSV_SUFFIX, FIXTURES_PREFIX, PRICED_PREFIX, PRICING_MAX_RECEIVES

# A fixtures file is a few hundred rows: parsing, one GetItem, a few BatchGetItems, two puts, one Query,
# a TransactWriteItems per 50 fixtures and a conditional DeleteItem per moved fixture.
# Plain Python (no numpy); 512 MB gives a third of a vCPU, plenty for a file of any real size.
PRICING_MEMORY_MB = 512
PRICING_TIMEOUT_SECONDS = 60
MAX_CONCURRENCY = 2  # a burst of uploads waits in the queue instead of drawing on the table at once
PRICING_DYNAMODB_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem")
# The uploaded fixtures it stores for GET /fixtures (conditional puts in TransactWriteItems, which need
# PutItem, and conditional deletes of moved fixtures): writes (and the Query that finds a moved fixture's old
# item) only in the fixtures partitions, so pricing can still never touch an odds item or a pointer.
PRICING_FIXTURES_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query")
FIXTURES_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [fixtures_partition("*")]}}


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
        bucket_arn = pulumi.Output.from_input(args.bucket_arn)

        self.queued = QueuedFunction(
            name,
            QueuedFunctionArgs(
                package=PRICING,
                code=args.code,
                memory_mb=PRICING_MEMORY_MB,
                timeout_seconds=PRICING_TIMEOUT_SECONDS,
                bucket_arn=bucket_arn,
                account_id=args.account_id,
                log_retention_days=args.log_retention_days,
                filter_prefix=FIXTURES_PREFIX,
                filter_suffix=CSV_SUFFIX,  # the key rule's: a .CSV key is no fixtures file, so never announced
                max_receives=PRICING_MAX_RECEIVES,
                max_concurrency=MAX_CONCURRENCY,
                statements=[
                    allow(["s3:GetObject"], [bucket_arn.apply(lambda arn: f"{arn}/{FIXTURES_PREFIX}*")]),
                    allow(["s3:PutObject"], [bucket_arn.apply(lambda arn: f"{arn}/{PRICED_PREFIX}*")]),
                    allow(PRICING_DYNAMODB_ACTIONS, [args.table_arn]),
                    allow(PRICING_FIXTURES_ACTIONS, [args.table_arn], FIXTURES_ONLY),
                ],
                bucket_name=args.bucket_name,
                table_name=args.table_name,
            ),
            parent=self,
        )
        self.register_outputs(self.queued.outputs)
