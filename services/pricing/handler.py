"""Pricing Lambda: S3 ObjectCreated events for fixtures files, delivered through SQS, become priced files.

One SQS record is one S3 notification. A record that fails (an unreadable file, a table that kept
throttling) is reported back as a batch item failure, so SQS retries it and finally moves it to the
dead-letter queue, while the other records of the batch complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from matchodds.core.settings import Settings, log_our_records
from services.pricing.pipeline import price_object
from services.pricing.store import StoredOdds

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from mypy_boto3_s3 import S3Client

logger = Logger(service="pricing")
log_our_records()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _dependencies() -> tuple[S3Client, StoredOdds]:
    settings = Settings.from_env(need=("table",))
    return boto3.client("s3"), StoredOdds(settings.table, boto3.client("dynamodb"))


@dataclass(frozen=True)
class CreatedObject:
    """An object an S3 notification announces: where it is, and when it was uploaded (the event's time, and S3's
    sequencer, which orders the events of one key), so that the latest upload wins (pipeline.price_object)."""

    bucket: str
    key: str
    uploaded: datetime | None
    sequencer: str


def created_objects(notification: dict[str, Any]) -> list[CreatedObject]:
    """The objects an S3 notification announces; none for s3:TestEvent."""
    return [
        CreatedObject(
            record["s3"]["bucket"]["name"],
            unquote_plus(record["s3"]["object"]["key"]),  # S3 URL-encodes keys
            _event_time(record.get("eventTime")),
            str(record["s3"]["object"].get("sequencer", "")),
        )
        for record in notification.get("Records", [])
        if record.get("eventName", "").startswith("ObjectCreated")
    ]


def _event_time(text: Any) -> datetime | None:
    """An S3 event's time (2025-05-20T09:00:00.000Z); None when absent or not a time, and the object's
    LastModified orders the upload instead."""
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def record_handler(record: SQSRecord) -> None:
    s3, odds = _dependencies()
    for created in created_objects(record.json_body):
        price_object(created.bucket, created.key, s3, odds, created.uploaded, created.sequencer)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
