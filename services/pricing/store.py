"""What pricing reads from the odds table (a competition's pointer, the odds items of some pairs) and writes
to it (the uploaded fixtures, for GET /fixtures).

The small client of the pricing Lambda (no service imports another): one GetItem for the pointer,
one BatchGetItem per 100 pairs of its version, unprocessed keys retried with backoff. Fixtures go to
their competition's partition in BatchWriteItems of 25, after one Query of the seasons they fall in,
so that a fixture moved to another day leaves no item behind at its old one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from matchodds.core.items import (
    PARTITION_KEY,
    SORT_KEY,
    fixture_range,
    fixtures_partition,
    from_dynamo,
    odds_from_item,
    odds_key,
    pointer_key,
)
from matchodds.core.pricing import Pair
from matchodds.core.results import season_bounds

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef, WriteRequestUnionTypeDef

BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_WRITE_ITEMS = 25  # and per BatchWriteItem
_deserializer, _serializer = TypeDeserializer(), TypeSerializer()


class OddsUnreadable(RuntimeError):
    """Some odds items stayed unprocessed after every retry; the record is retried later."""


class FixturesUnwritten(RuntimeError):
    """Some fixture items stayed unwritten after every retry; the record is retried later."""


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

    def record_fixtures(self, competition: str, items: Sequence[dict[str, Any]]) -> int:
        """Store fixture items (matchodds.core.items.fixture_item), replacing the same fixtures' items, including
        one at another day of the same season (a moved match); returns how many old items were removed."""
        if not items:
            return 0
        new_keys = {(item["home"], item["away"]): item[SORT_KEY] for item in items}
        days = sorted(item["date"] for item in items)
        first, last = season_bounds(_day(days[0]))[0], season_bounds(_day(days[-1]))[1]
        moved = [
            key
            for key, pair in self._stored_fixtures(competition, *fixture_range(first, last))
            if pair in new_keys and new_keys[pair] != key
        ]
        requests: list[WriteRequestUnionTypeDef] = [
            {"DeleteRequest": {"Key": _key({PARTITION_KEY: fixtures_partition(competition), SORT_KEY: key})}}
            for key in moved
        ]
        requests += [{"PutRequest": {"Item": {k: _serializer.serialize(v) for k, v in item.items()}}} for item in items]
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            self._write_batch(requests[start : start + BATCH_WRITE_ITEMS])
        return len(moved)

    def _stored_fixtures(self, competition: str, low: str, high: str) -> Iterable[tuple[str, Pair]]:
        """(sort key, (home, away)) of the competition's stored fixtures between two sort keys."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY, "#home": "home", "#away": "away"},
            ExpressionAttributeValues={
                ":pk": {"S": fixtures_partition(competition)},
                ":low": {"S": low},
                ":high": {"S": high},
            },
            ProjectionExpression="#sk, #home, #away",
            ConsistentRead=True,
        )
        for page in pages:
            for item in page["Items"]:
                plain = _plain(item)
                yield plain[SORT_KEY], (plain["home"], plain["away"])

    def _write_batch(self, requests: Sequence[WriteRequestUnionTypeDef]) -> None:
        pending = requests
        for attempt in range(self.max_attempts):
            response = self.client.batch_write_item(RequestItems={self.table: pending})
            pending = response.get("UnprocessedItems", {}).get(self.table, [])
            if not pending:
                return
            self.sleep(min(0.02 * 2**attempt, 1.0))
        raise FixturesUnwritten(f"{len(pending)} fixture item(s) stayed unwritten after {self.max_attempts} attempts")


def _day(text: str) -> date:
    return date.fromisoformat(text)
