"""What pricing reads from the odds table (a competition's pointer, the odds items of some pairs) and writes
to it (the uploaded fixtures, for GET /fixtures).

Pricing's side of the odds table (adapters.odds_table reads and retries for it): one GetItem for the pointer,
one BatchGetItem per 100 pairs of its version, unprocessed keys retried with backoff. Fixtures go to
their competition's partition in TransactWriteItems of 50, each with an order item per match (a pairing of a
season) that names the upload that placed it: put only when no newer upload holds the match, so uploads
handled in any order leave each match where the latest one put it. Then one Query of the seasons they fall in
deletes a moved match's items at its old days (unless a newer upload wrote them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.odds_table import OddsTable, RetryPolicy, key_attributes, retried, stored
from matchodds.core.items import (
    PARTITION_KEY,
    SORT_KEY,
    UPLOADED_ATTRIBUTE,
    fixture_order_item,
    fixture_range,
    fixture_season,
    fixtures_partition,
    from_dynamo,
    odds_from_item,
    odds_key,
    pointer_key,
)
from matchodds.core.keys import ContractError
from matchodds.core.pricing import Pair

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# Two actions a fixture (its match's order item, its own item): DynamoDB's limit is 100 per TransactWriteItems.
TRANSACT_FIXTURES = 50


class OddsUnreadable(RuntimeError):
    """Some odds items stayed unprocessed after every retry; the record is retried later."""


class FixturesUnwritten(RuntimeError):
    """Some fixture items stayed unwritten after every retry; the record is retried later."""


@dataclass(frozen=True)
class Recorded:
    """What record_fixtures did: matches stored, old items of moved ones deleted, and the sort keys of those
    left out because a newer upload had placed them."""

    stored: int
    moved: int
    superseded: list[str]


class StoredOdds:
    """The current pointer and odds items of a competition, as the query service stores and serves them."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = RetryPolicy(attempts=max_attempts, sleep=sleep)
        self.odds_table = OddsTable(table, client, self.retry)
        self.table, self.client = table, client

    def pointer(self, competition: str) -> dict[str, Any] | None:
        """The competition's pointer item (version, teams, data_through), or None before its first version."""
        item = self.odds_table.get(pointer_key(competition), consistent=True)
        if item is None:
            return None
        pointer: dict[str, Any] = from_dynamo(item)
        return pointer

    def odds(self, competition: str, version: str, pairs: Sequence[Pair]) -> dict[Pair, dict[str, Any]]:
        """The stored odds of each pair of `version` that has an item, by pair."""
        wanted = list(dict.fromkeys(pairs))
        items, unread = self.odds_table.batch_get([odds_key(competition, version, *pair) for pair in wanted])
        if unread:
            raise OddsUnreadable(f"{len(unread)} odds item(s) of {competition} {version} stayed unprocessed")
        found: dict[Pair, dict[str, Any]] = {}
        for item in items:
            odds = odds_from_item(item)
            found[(odds["home"], odds["away"])] = odds
        return found

    def record_fixtures(self, competition: str, items: Sequence[dict[str, Any]]) -> Recorded:
        """Store fixture items (matchodds.core.items.fixture_item, each with its upload's order), replacing the same
        matches' items, including one at another day of the same season (a moved match), unless a newer upload
        placed the match: then this one's is left out (superseded)."""
        by_match: dict[tuple[date, str, str], dict[str, Any]] = {}
        for item in items:
            if not item.get(UPLOADED_ATTRIBUTE):
                raise ContractError(f"fixture {item[SORT_KEY]} has no upload order: it could replace a newer upload")
            by_match[_match(item)] = item  # a match twice in one file: its last row, as a reader of the file would
        placed: list[dict[str, Any]] = []
        superseded: list[str] = []
        matches = list(by_match.values())
        for start in range(0, len(matches), TRANSACT_FIXTURES):
            written, refused = self._place(competition, matches[start : start + TRANSACT_FIXTURES])
            placed += written
            superseded += [item[SORT_KEY] for item in refused]
        return Recorded(len(placed), self._remove_moved(competition, placed), superseded)

    def _place(
        self, competition: str, items: Sequence[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(written, refused) of one transaction per attempt: each fixture item with its match's order item, the
        order item put only when no newer upload holds it, so an older upload never writes the match anywhere."""
        pending, refused = list(items), []
        for attempt in range(self.retry.attempts):
            if not pending:
                break
            actions: list[TransactWriteItemTypeDef] = []
            for item in pending:
                actions.append(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": stored(fixture_order_item(competition, item)),
                            "ConditionExpression": "attribute_not_exists(#sk) OR #uploaded <= :uploaded",
                            "ExpressionAttributeNames": {"#sk": SORT_KEY, "#uploaded": UPLOADED_ATTRIBUTE},
                            "ExpressionAttributeValues": {":uploaded": {"S": item[UPLOADED_ATTRIBUTE]}},
                        }
                    }
                )
                actions.append({"Put": {"TableName": self.table, "Item": stored(item)}})
            try:
                self.client.transact_write_items(TransactItems=actions)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if not retried(error) and code != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons", [])
                newer = {index // 2 for index, reason in enumerate(reasons) if _newer(reason)}
                refused += [item for index, item in enumerate(pending) if index in newer]
                pending = [item for index, item in enumerate(pending) if index not in newer]
                if not newer:  # a conflict with another transaction, or throttling: the same again, later
                    self.retry.pause(attempt)
                continue
            return pending, refused
        if pending:
            raise FixturesUnwritten(
                f"{len(pending)} fixture item(s) stayed unwritten after {self.retry.attempts} attempts"
            )
        return [], refused

    def _remove_moved(self, competition: str, placed: Sequence[dict[str, Any]]) -> int:
        """Delete each placed match's items at other days of its season, unless a newer upload wrote them; the
        count deleted. Run after placing: an older upload that writes later finds the order item newer and stops."""
        if not placed:
            return 0
        by_match = {_match(item): item for item in placed}
        seasons = [fixture_season(match[0]) for match in by_match]
        first, last = min(season[0] for season in seasons), max(season[1] for season in seasons)
        moved = 0
        for key, pair in self._stored_fixtures(competition, *fixture_range(first, last)):
            new = by_match.get((fixture_season(_day(key[:10]))[0], *pair))
            if new is None or new[SORT_KEY] == key:
                continue
            try:
                self.client.delete_item(
                    TableName=self.table,
                    Key=key_attributes({PARTITION_KEY: fixtures_partition(competition), SORT_KEY: key}),
                    ConditionExpression="attribute_not_exists(#uploaded) OR #uploaded <= :uploaded",
                    ExpressionAttributeNames={"#uploaded": UPLOADED_ATTRIBUTE},
                    ExpressionAttributeValues={":uploaded": {"S": new[UPLOADED_ATTRIBUTE]}},
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue  # a newer upload put the match there since
            moved += 1
        return moved

    def _stored_fixtures(self, competition: str, low: str, high: str) -> Iterable[tuple[str, Pair]]:
        """(sort key, (home, away)) of the competition's stored fixtures between two sort keys."""
        found = self.odds_table.query(
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
        for item in found:
            yield item[SORT_KEY], (item["home"], item["away"])


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _match(item: Mapping[str, Any]) -> tuple[date, str, str]:
    """A stored fixture's match: the first day of its season and its pairing (a match moved keeps it)."""
    return fixture_season(_day(item["date"]))[0], item["home"], item["away"]


def _newer(reason: Mapping[str, Any]) -> bool:
    """Whether a cancelled transaction's action failed for its condition: a newer upload holds the match."""
    return bool(reason.get("Code") == "ConditionalCheckFailed")
