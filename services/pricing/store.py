"""Reads what pricing needs from the odds table: a competition's pointer and the odds items of some pairs.

The small reader of the pricing Lambda (no service imports another): one GetItem for the pointer,
one BatchGetItem per 100 pairs of its version, unprocessed keys retried with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer

from matchodds.core.items import from_dynamo, odds_from_item, odds_key, pointer_key
from matchodds.core.pricing import Pair

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef

BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
_deserializer = TypeDeserializer()


class OddsUnreadable(RuntimeError):
    """Some odds items stayed unprocessed after every retry; the record is retried later."""


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _key(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}


class StoredOdds:
    """The current pointer and odds items of a competition, as the query service stores and serves them."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        *,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table, self.client, self.max_attempts, self.sleep = table, client, max_attempts, sleep

    def pointer(self, competition: str) -> dict[str, Any] | None:
        """The competition's pointer item (version, teams, data_through), or None before its first version."""
        response = self.client.get_item(TableName=self.table, Key=_key(pointer_key(competition)), ConsistentRead=True)
        if "Item" not in response:
            return None
        pointer: dict[str, Any] = from_dynamo(_plain(response["Item"]))
        return pointer

    def odds(self, competition: str, version: str, pairs: Sequence[Pair]) -> dict[Pair, dict[str, Any]]:
        """The stored odds of each pair of `version` that has an item, by pair."""
        found: dict[Pair, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(pairs))
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            pending: Sequence[Mapping[str, UniversalAttributeValueTypeDef]] = [
                _key(odds_key(competition, version, *pair)) for pair in wanted[start : start + BATCH_GET_KEYS]
            ]
            for attempt in range(self.max_attempts):
                response = self.client.batch_get_item(RequestItems={self.table: {"Keys": pending}})
                for item in response.get("Responses", {}).get(self.table, []):
                    odds = odds_from_item(_plain(item))
                    found[(odds["home"], odds["away"])] = odds
                unprocessed = response.get("UnprocessedKeys", {}).get(self.table)
                pending = unprocessed["Keys"] if unprocessed else []
                if not pending:
                    break
                self.sleep(min(0.02 * 2**attempt, 1.0))
            else:
                raise OddsUnreadable(f"{len(pending)} odds item(s) of {competition} {version} stayed unprocessed")
        return found
