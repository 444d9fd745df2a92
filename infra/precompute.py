"""Precompute: a new posterior in S3 becomes a new odds version in the table, through SQS.

S3 notifies the queue of every object created under the posterior prefix; Lambda reads the queue one
message at a time and reports a failed message back, so SQS retries it and, after the contract's
number of receives, parks it in the dead-letter queue where the alarm sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import PRECOMPUTE
from infra.policy_docs import allow
from infra.queued_function import QueuedFunction, QueuedFunctionArgs
from matchodds.core.items import PRECOMPUTE_MAX_RECEIVES
from matchodds.core.keys import EVENT_BUS_NAME, EVENT_BUS_VARIABLE, EXPORTS_PREFIX, POSTERIOR_PREFIX, POSTERIOR_SUFFIX
from matchodds.core.settings import SINGLE_THREADED_BLAS

# The work is single-threaded numpy, so memory is bought for CPU: at 1769 MB Lambda gives one full
# vCPU, and less memory gives a fraction of one. The memory must also hold the largest competition with
# room to spare: `python -m bench growth` (docs/benchmarks.md, Growth) measured the whole path (compute,
# items written, exports) of a 96-team competition, 9,120 pairs, peaking at 228 MiB resident (142 MiB for
# a 24-team league such as E1; 1185 MiB at 96 teams before precompute streamed its items and exports).
# The memory is the larger of one vCPU and MEMORY_HEADROOM times that peak; 1769 MB is 7.4x it.
# The timeout covers the slowest 20-team measurement (docs/deploy.md, 0.4-5.4 s of CPU) 20 times over,
# plus 16 batch writes, retiring the previous version and the writer's backoff when DynamoDB throttles.
# A 96-team competition took about 80 s of CPU on the (shared) benchmark machine: within it, with less room.
ONE_VCPU_MEMORY_MB = 1769
MEASURED_PEAK_MIB = 228  # 96 teams, 4000 draws
MEMORY_HEADROOM = 2  # twice the peak: more teams or draws than measured, and the allocator's slack, still fit
PRECOMPUTE_MEMORY_MB = max(ONE_VCPU_MEMORY_MB, math.ceil(MEMORY_HEADROOM * MEASURED_PEAK_MIB * 2**20 / 10**6))
PRECOMPUTE_TIMEOUT_SECONDS = 120
# Two posteriors at once at most; the pointer flip is conditional, so order does not matter.
MAX_CONCURRENCY = 2
PRECOMPUTE_DYNAMODB_ACTIONS = ("dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")


@dataclass(frozen=True)
class PrecomputeArgs:
    code: Path
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    log_retention_days: int


class Precompute(pulumi.ComponentResource):
    """Queue with dead-letter queue, the function that consumes it, and the event bus.

    The bucket's one notification (infra/storage.py, `Storage.notify`) carries `queued.notification`.
    """

    def __init__(self, name: str, args: PrecomputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matchodds:infra:Precompute", name, None, opts)
        bucket_arn = pulumi.Output.from_input(args.bucket_arn)

        # Subscribers hear of each version that goes live ("Odds published", services.precompute.events).
        # One bus per stack, so two stacks in one account do not hear each other.
        self.event_bus = aws.cloudwatch.EventBus(
            name, name=f"{EVENT_BUS_NAME}-{pulumi.get_stack()}", opts=pulumi.ResourceOptions(parent=self)
        )
        self.queued = QueuedFunction(
            name,
            QueuedFunctionArgs(
                package=PRECOMPUTE,
                code=args.code,
                memory_mb=PRECOMPUTE_MEMORY_MB,
                timeout_seconds=PRECOMPUTE_TIMEOUT_SECONDS,
                bucket_arn=bucket_arn,
                account_id=args.account_id,
                log_retention_days=args.log_retention_days,
                filter_prefix=POSTERIOR_PREFIX,
                filter_suffix=POSTERIOR_SUFFIX,
                max_receives=PRECOMPUTE_MAX_RECEIVES,
                max_concurrency=MAX_CONCURRENCY,
                statements=[
                    allow(["s3:GetObject"], [bucket_arn.apply(lambda arn: f"{arn}/{POSTERIOR_PREFIX}*")]),
                    # The version's whole odds table as CSV and JSON, and the `latest` copies.
                    allow(["s3:PutObject"], [bucket_arn.apply(lambda arn: f"{arn}/{EXPORTS_PREFIX}*")]),
                    allow(PRECOMPUTE_DYNAMODB_ACTIONS, [args.table_arn]),
                    allow(["events:PutEvents"], [self.event_bus.arn]),
                ],
                bucket_name=args.bucket_name,
                table_name=args.table_name,
                environment={EVENT_BUS_VARIABLE: self.event_bus.name, **SINGLE_THREADED_BLAS},
            ),
            parent=self,
        )
        self.register_outputs({**self.queued.outputs, "event_bus_name": self.event_bus.name})
