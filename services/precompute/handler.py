"""Precompute Lambda: S3 ObjectCreated events for posteriors, delivered through SQS, become odds.

One SQS record is one S3 notification. A record that fails (a broken posterior, a write that would
not complete) is reported back as a batch item failure, so SQS retries it and finally moves it to
the dead-letter queue, while the other records of the batch complete and the current odds stay.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.posterior_store import PosteriorObject
from matchodds.core.keys import EVENT_BUS_VARIABLE
from matchodds.core.settings import Settings, log_our_records
from services.precompute.events import OddsPublisher
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from mypy_boto3_s3 import S3Client

logger = Logger(service="precompute")
log_our_records()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _dependencies() -> tuple[S3Client, OddsWriter, OddsPublisher | None]:
    settings = Settings.from_env(need=("table",))
    bus = os.environ.get(EVENT_BUS_VARIABLE)
    if not bus:
        logger.info("%s unset: versions go live without an 'Odds published' event", EVENT_BUS_VARIABLE)
    publisher = OddsPublisher(bus, boto3.client("events")) if bus else None
    return boto3.client("s3"), OddsWriter(settings.table, boto3.client("dynamodb")), publisher


def s3_objects(notification: dict[str, Any]) -> list[PosteriorObject]:
    """Each object an S3 notification announces, with its ETag and VersionId when given; none for s3:TestEvent."""
    objects = []
    for record in notification.get("Records", []):
        if not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        announced = record["s3"]["object"]
        etag = announced.get("eTag")
        objects.append(
            PosteriorObject(
                bucket=record["s3"]["bucket"]["name"],
                key=unquote_plus(announced["key"]),  # S3 URL-encodes keys in events
                etag=etag.strip('"') if etag else None,
                version_id=announced.get("versionId") or None,
            )
        )
    return objects


def record_handler(record: SQSRecord) -> None:
    s3, writer, publisher = _dependencies()
    for announced in s3_objects(record.json_body):
        publish_posterior(
            announced.bucket,
            announced.key,
            s3,
            writer,
            etag=announced.etag,
            version_id=announced.version_id,
            publisher=publisher,
        )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
