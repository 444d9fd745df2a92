"""The local AWS's resources: moto provisioned as infra/ provisions AWS, with the S3 -> SQS notifications.

Bucket, odds table, fit ledger and the precompute, pricing and fit-trigger queues (each with its
dead-letter queue), named as the demo names them; every boto3 client of the process is pointed at
the local endpoint with dummy credentials.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from matchodds.core.items import EXPIRES_ATTRIBUTE, PARTITION_KEY, PRECOMPUTE_MAX_RECEIVES, SORT_KEY
from matchodds.core.keys import (
    CSV_SUFFIX,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    POSTERIOR_SUFFIX,
    PRICING_MAX_RECEIVES,
    RESULTS_PREFIX,
)
from matchodds.core.refits import FIT_TRIGGER_MAX_RECEIVES, LEDGER_KEY

if TYPE_CHECKING:  # the stubs are a dev dependency
    from mypy_boto3_s3.type_defs import FilterRuleTypeDef, QueueConfigurationTypeDef

REGION = "us-east-1"
# Longer than the demo's batching window plus the trigger's work (a few DynamoDB calls).
FIT_TRIGGER_VISIBILITY_SECONDS = 60


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalNames:
    """What the local stack calls its bucket, tables and queues."""

    bucket: str = "matchodds-local"
    table: str = "matchodds-odds"
    queue: str = "matchodds-precompute"
    dead_letter_queue: str = "matchodds-precompute-dlq"
    pricing_queue: str = "matchodds-pricing"
    pricing_dead_letter_queue: str = "matchodds-pricing-dlq"
    fit_trigger_queue: str = "matchodds-fit-trigger"
    fit_trigger_dead_letter_queue: str = "matchodds-fit-trigger-dlq"
    fit_ledger: str = "matchodds-fit-ledger"


def use_local_aws(endpoint: str) -> None:
    """Point every boto3 client in this process at the local endpoint, with dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = REGION


def provision(names: LocalNames, visibility_timeout: int = 2) -> dict[str, str]:
    """Create bucket, odds table, fit ledger, the precompute, pricing and fit-trigger queues with their dead-letter
    queues, and the S3 -> SQS notifications (posteriors/ to precompute, fixtures/ to pricing, results/ to the
    fit trigger)."""
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    s3.create_bucket(Bucket=names.bucket)
    dynamodb.create_table(
        TableName=names.table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=names.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_ATTRIBUTE}
    )
    queue_url, queue_arn, dlq_url = _queue_with_dead_letters(
        names.queue, names.dead_letter_queue, PRECOMPUTE_MAX_RECEIVES, visibility_timeout
    )
    pricing_url, pricing_arn, pricing_dlq_url = _queue_with_dead_letters(
        names.pricing_queue, names.pricing_dead_letter_queue, PRICING_MAX_RECEIVES, visibility_timeout
    )
    dynamodb.create_table(
        TableName=names.fit_ledger,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": LEDGER_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": LEDGER_KEY, "KeyType": "HASH"}],
    )
    # Held through the batching window, as AWS requires of a queue that feeds a batching Lambda.
    trigger_url, trigger_arn, trigger_dlq_url = _queue_with_dead_letters(
        names.fit_trigger_queue,
        names.fit_trigger_dead_letter_queue,
        FIT_TRIGGER_MAX_RECEIVES,
        max(visibility_timeout, FIT_TRIGGER_VISIBILITY_SECONDS),
    )
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                _created_under(queue_arn, POSTERIOR_PREFIX, POSTERIOR_SUFFIX),
                # The key rule's suffix, as infra's filters have it: a .CSV key is announced to no one.
                _created_under(pricing_arn, FIXTURES_PREFIX, CSV_SUFFIX),
                _created_under(trigger_arn, RESULTS_PREFIX, CSV_SUFFIX),
            ]
        },
    )
    return {
        "queue_url": queue_url,
        "queue_arn": queue_arn,
        "dlq_url": dlq_url,
        "pricing_queue_url": pricing_url,
        "pricing_queue_arn": pricing_arn,
        "pricing_dlq_url": pricing_dlq_url,
        "fit_trigger_queue_url": trigger_url,
        "fit_trigger_queue_arn": trigger_arn,
        "fit_trigger_dlq_url": trigger_dlq_url,
        "fit_ledger": names.fit_ledger,
    }


def _queue_with_dead_letters(
    name: str, dead_letter_name: str, max_receives: int, visibility_timeout: int
) -> tuple[str, str, str]:
    """(url, arn, dead-letter url) of a queue that moves a message to its dead-letter queue after max_receives."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=dead_letter_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue_url, queue_arn, dlq_url


def _created_under(queue_arn: str, prefix: str, suffix: str | None = None) -> QueueConfigurationTypeDef:
    """An S3 -> SQS notification of objects created under a prefix (and with a suffix)."""
    rules: list[FilterRuleTypeDef] = [{"Name": "prefix", "Value": prefix}]
    if suffix is not None:
        rules.append({"Name": "suffix", "Value": suffix})
    return {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": rules}}}
