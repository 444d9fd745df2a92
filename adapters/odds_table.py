"""The one client of the odds table: the pointer read, batch reads and writes, queries, and one retry policy.

Every service that reads or writes the odds table (precompute writes versions, pricing reads odds and
stores fixtures, the query serves them) goes through this module, so DynamoDB's batch limits, the
handling of throttling and unprocessed items, and the attribute format live once. It makes no client
and imports no boto3: the query builds its clients from botocore to keep boto3's import out of its cold
start, so the (de)serialiser is a small one here, giving what boto3's TypeSerializer and
TypeDeserializer give for the items the table holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesTypeDef, WriteRequestUnionTypeDef

logger = logging.getLogger(__name__)

BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
# The errors DynamoDB answers a busy table with: worth the same request again after a pause.
RETRIED_ERRORS = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"}
)
# boto3's DYNAMODB_CONTEXT: a number DynamoDB cannot hold exactly is refused, never rounded.
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff: `attempts` tries, `first` seconds before the second, doubling up to `cap`."""

    attempts: int = 8
    first: float = 0.05
    cap: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def pause(self, attempt: int) -> None:
        """Wait before the try after `attempt` (counted from 0)."""
        self.sleep(min(self.first * 2**attempt, self.cap))


def retried(error: ClientError) -> bool:
    """Whether a ClientError is the table being busy (throttled), which the policy retries."""
    return error.response.get("Error", {}).get("Code", "") in RETRIED_ERRORS


class WriteIncomplete(RuntimeError):
    """Some items stayed unwritten after every retry."""


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB returns it (type letter and value per attribute) as plain values."""
    return {name: plain_value(value) for name, value in item.items()}


def plain_value(value: Mapping[str, Any]) -> Any:
    """One attribute as boto3's TypeDeserializer gives it, less the boto3 import: numbers as Decimal, binary as
    bytes, sets as sets."""
    ((kind, data),) = value.items()
    if kind in ("S", "B", "BOOL"):
        return data
    if kind == "N":
        return Decimal(data)
    if kind == "M":
        return {key: plain_value(entry) for key, entry in data.items()}
    if kind == "L":
        return [plain_value(entry) for entry in data]
    if kind == "NULL":
        return None
    if kind == "NS":
        return {Decimal(number) for number in data}
    if kind in ("SS", "BS"):
        return set(data)
    raise ValueError(f"an attribute of unknown type {kind!r}")


def stored(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB takes it, as boto3's TypeSerializer makes it (a float is refused: use Decimal)."""
    return {name: stored_value(value) for name, value in item.items()}


def stored_value(value: Any) -> dict[str, Any]:
    """One plain value as a typed attribute."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, set | frozenset):
        if all(isinstance(entry, int | Decimal) and not isinstance(entry, bool) for entry in value):
            return {"NS": [_number(entry) for entry in value]}
        if all(isinstance(entry, str) for entry in value):
            return {"SS": list(value)}
        if all(isinstance(entry, bytes | bytearray) for entry in value):
            return {"BS": [bytes(entry) for entry in value]}
        raise TypeError(f"a set of mixed types cannot be stored: {value!r}")
    if isinstance(value, Mapping):
        return {"M": {str(key): stored_value(entry) for key, entry in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [stored_value(entry) for entry in value]}
    raise TypeError(f"{type(value).__name__} cannot be stored in DynamoDB: {value!r}")


def _number(value: int | Decimal) -> str:
    return str(_NUMBERS.create_decimal(value))


def key_attributes(key: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """A key of string attributes (the table's partition and sort keys) as DynamoDB takes it."""
    return {name: {"S": value} for name, value in key.items()}


class OddsTable:
    """One odds table: its reads and writes, batched to DynamoDB's limits and retried by one policy."""

    def __init__(self, table: str, client: DynamoDBClient, retry: RetryPolicy | None = None) -> None:
        self.name, self.client = table, client
        self.retry = retry or RetryPolicy()

    def get(self, key: Mapping[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
        """The item at `key` as plain values (GetItem; `consistent`: a strongly consistent read), or None."""
        if consistent:
            response = self.client.get_item(TableName=self.name, Key=key_attributes(key), ConsistentRead=True)
        else:
            response = self.client.get_item(TableName=self.name, Key=key_attributes(key))
        return plain(response["Item"]) if "Item" in response else None

    def batch_get(
        self, keys: Sequence[Mapping[str, str]], attributes: Sequence[str] = ()
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(items read, keys still unread after every retry), both plain, in BatchGetItems of 100;
        `attributes` limits what is read to those attributes, when given."""
        items: list[dict[str, Any]] = []
        unread: list[dict[str, Any]] = []
        names = {f"#r{index}": name for index, name in enumerate(attributes)}
        for start in range(0, len(keys), BATCH_GET_KEYS):
            read, left = self._read_batch([key_attributes(key) for key in keys[start : start + BATCH_GET_KEYS]], names)
            items += read
            unread += [plain(key) for key in left]
        return items, unread

    def _read_batch(
        self, keys: Sequence[Mapping[str, Any]], names: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], Sequence[Mapping[str, Any]]]:
        """(items read, keys still unread) of one BatchGetItem, its unprocessed keys and throttling retried."""
        items: list[dict[str, Any]] = []
        pending = keys
        for attempt in range(self.retry.attempts):
            request: KeysAndAttributesTypeDef = {"Keys": pending}
            if names:
                request["ProjectionExpression"] = ",".join(names)
                request["ExpressionAttributeNames"] = names
            try:
                response = self.client.batch_get_item(RequestItems={self.name: request})
            except ClientError as error:
                if not retried(error):
                    raise
            else:
                items += [plain(item) for item in response.get("Responses", {}).get(self.name, [])]
                unprocessed = response.get("UnprocessedKeys", {}).get(self.name)
                pending = unprocessed["Keys"] if unprocessed else []
            if not pending:
                break
            self.retry.pause(attempt)
        return items, pending

    def batch_write(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Put every item, a BatchWriteItem of 25 as soon as it is made, unprocessed ones and throttling retried;
        all or WriteIncomplete. Returns how many were written; `items` may be a generator of any length."""
        pending, written = iter(items), 0
        while batch := list(islice(pending, BATCH_WRITE_ITEMS)):
            self._write_batch([{"PutRequest": {"Item": stored(item)}} for item in batch])
            written += len(batch)
        return written

    def _write_batch(self, requests: Sequence[WriteRequestUnionTypeDef]) -> None:
        pending = requests
        for attempt in range(self.retry.attempts):
            try:
                response = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.name, [])
            except ClientError as error:
                if not retried(error):
                    raise
                logger.warning("batch write throttled (%s), retrying", error.response["Error"]["Code"])
            if not pending:
                return
            self.retry.pause(attempt)
        raise WriteIncomplete(f"{len(pending)} items still unwritten after {self.retry.attempts} attempts")

    def query(self, **request: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query (its keyword arguments, less the table) finds, page after page, as plain values."""
        for page in self.client.get_paginator("query").paginate(TableName=self.name, **request):
            yield from (plain(item) for item in page["Items"])

    def query_page(self, **request: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """(items, the last key read when more follow) of one Query page, both plain."""
        response = self.client.query(TableName=self.name, **request)
        last = response.get("LastEvaluatedKey")
        return [plain(item) for item in response["Items"]], plain(last) if last else None
