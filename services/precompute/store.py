"""Writes a version's odds items to DynamoDB, then moves the competition's pointer to it.

Readers switch to a version only when the pointer names it, and the pointer moves only after every
item of that version is written; the move is conditional, so an older version never replaces a
newer one and the same version written twice changes nothing. A version that stops being current
is given a short time to live, and DynamoDB's TTL removes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.odds_table import BATCH_WRITE_ITEMS, OddsTable, RetryPolicy, stored
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

logger = logging.getLogger(__name__)
BATCH_SIZE = BATCH_WRITE_ITEMS  # the items written per request: precompute makes its chunks of fixtures this size


@dataclass(frozen=True)
class Promotion:
    outcome: str  # "promoted", "already-current" or "superseded"
    current_version: str
    previous_version: str | None = None


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
        self.odds = OddsTable(table, client, RetryPolicy(attempts=max_attempts, sleep=sleep))
        self.table, self.client, self.clock = table, client, clock

    def write_items(self, items: Iterable[dict[str, Any]], expires_at: int | None = None) -> int:
        """Write every item, a batch as soon as it is made, retrying unprocessed ones with exponential backoff.

        All or adapters.odds_table.WriteIncomplete; returns how many were written. Only one batch is held at a time, so
        `items` may be a generator of any length.
        """
        expiry = expires_at or int(self.clock()) + UNPUBLISHED_VERSION_TTL_SECONDS
        return self.odds.batch_write({**item, EXPIRES_ATTRIBUTE: expiry} for item in items)

    def promote(self, competition: str, version: str, pointer: dict[str, Any]) -> Promotion:
        """Point readers at `version` unless the same or a newer version is current already."""
        item = {**pointer_key(competition), **pointer, "version": version}
        try:
            response = self.client.put_item(
                TableName=self.table,
                Item=stored(item),
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
        return self.odds.get(pointer_key(competition), consistent=True)

    def current_version(self, competition: str) -> str | None:
        """The version the competition's pointer names; None before any was promoted."""
        pointer = self.current_pointer(competition)
        return None if pointer is None else str(pointer["version"])

    def version_items(self, competition: str, version: str) -> Iterator[dict[str, Any]]:
        """Every item of a version, as plain values, page by page."""
        return self.odds.query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": odds_partition(competition, version)}},
        )

    def retire(self, competition: str, version: str) -> None:
        """Let a version that is no longer current expire after a grace period."""
        # Page by page as they are read: rewriting an item keeps its key, so the query's pages still see each once.
        retired = self.write_items(
            self.version_items(competition, version), expires_at=int(self.clock()) + RETIRED_VERSION_GRACE_SECONDS
        )
        logger.info("retired %s %s (%d items)", competition, version, retired)
