"""Writes a version's odds items to DynamoDB, then moves the competition's pointer to it.

Readers switch to a version only when the pointer names it, and the pointer moves only after every
item of that version is written; the move is conditional, so an older version never replaces a
newer one and the same version written twice changes nothing. A version that stops being current
is given a short time to live, and DynamoDB's TTL removes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from matchodds.core.items import (
    EXPIRES_ATTRIBUTE,
    PARTITION_KEY,
    RETIRED_VERSION_GRACE_SECONDS,
    UNPUBLISHED_VERSION_TTL_SECONDS,
    odds_partition,
    pointer_key,
)

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestUnionTypeDef

logger = logging.getLogger(__name__)
BATCH_SIZE = 25  # DynamoDB's limit per BatchWriteItem
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


class WriteIncomplete(RuntimeError):
    """Some items stayed unwritten after every retry; the pointer was not moved."""


@dataclass(frozen=True)
class Promotion:
    outcome: str  # "promoted", "already-current" or "superseded"
    current_version: str
    previous_version: str | None = None


def _to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def _from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


class OddsWriter:
    """The precompute side of the odds table."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table, self.client = table, client
        self.max_attempts, self.sleep, self.clock = max_attempts, sleep, clock

    def write_items(self, items: Iterable[dict[str, Any]], expires_at: int | None = None) -> int:
        """Write every item, a batch as soon as it is made, retrying unprocessed ones with exponential backoff.

        All or WriteIncomplete; returns how many were written. Only one batch is held at a time, so
        `items` may be a generator of any length.
        """
        expiry = expires_at or int(self.clock()) + UNPUBLISHED_VERSION_TTL_SECONDS
        pending, written = iter(items), 0
        while batch := list(islice(pending, BATCH_SIZE)):
            self._write_batch(
                [{"PutRequest": {"Item": _to_dynamo({**item, EXPIRES_ATTRIBUTE: expiry})}} for item in batch]
            )
            written += len(batch)
        return written

    def _write_batch(self, requests: Sequence[WriteRequestUnionTypeDef]) -> None:
        pending = requests
        for attempt in range(self.max_attempts):
            try:
                response = self.client.batch_write_item(RequestItems={self.table: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table, [])
            except ClientError as error:
                if error.response["Error"]["Code"] not in {
                    "ProvisionedThroughputExceededException",
                    "ThrottlingException",
                    "RequestLimitExceeded",
                    "InternalServerError",
                }:
                    raise
                logger.warning("batch write throttled (%s), retrying", error.response["Error"]["Code"])
            if not pending:
                return
            self.sleep(min(0.05 * 2**attempt, 5.0))
        raise WriteIncomplete(f"{len(pending)} items still unwritten after {self.max_attempts} attempts")

    def promote(self, competition: str, version: str, pointer: dict[str, Any]) -> Promotion:
        """Point readers at `version` unless the same or a newer version is current already."""
        item = {**pointer_key(competition), **pointer, "version": version}
        try:
            response = self.client.put_item(
                TableName=self.table,
                Item=_to_dynamo(item),
                ConditionExpression="attribute_not_exists(#version) OR #version < :version",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":version": {"S": version}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.current_version(competition)
            if current == version:
                return Promotion("already-current", version)
            self.retire(competition, version)
            return Promotion("superseded", current or version)
        previous = response.get("Attributes", {}).get("version", {}).get("S")
        if previous:
            self.retire(competition, previous)
        return Promotion("promoted", version, previous)

    def current_pointer(self, competition: str) -> dict[str, Any] | None:
        """The competition's pointer item as plain values; None before any version was promoted."""
        response = self.client.get_item(
            TableName=self.table, Key=_to_dynamo(pointer_key(competition)), ConsistentRead=True
        )
        return _from_dynamo(response["Item"]) if "Item" in response else None

    def current_version(self, competition: str) -> str | None:
        """The version the competition's pointer names; None before any was promoted."""
        pointer = self.current_pointer(competition)
        return None if pointer is None else str(pointer["version"])

    def version_items(self, competition: str, version: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": odds_partition(competition, version)}},
        )
        for page in pages:
            for item in page["Items"]:
                yield _from_dynamo(item)

    def retire(self, competition: str, version: str) -> None:
        """Let a version that is no longer current expire after a grace period."""
        # Page by page as they are read: rewriting an item keeps its key, so the query's pages still see each once.
        retired = self.write_items(
            self.version_items(competition, version), expires_at=int(self.clock()) + RETIRED_VERSION_GRACE_SECONDS
        )
        logger.info("retired %s %s (%d items)", competition, version, retired)
