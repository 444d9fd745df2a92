"""The one client of the fit ledger: its DynamoDB requests, made once for the trigger and the fit.

The ledger's rules (matchodds.core.refits: requests counted, one lease per competition, given back
only when no request came during the fit) are plain; the requests that carry them are here, so the
trigger and the fit, which may not import each other, send the very same conditions. The request
builders are public: the infrastructure's tests check each against the policies that allow it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from matchodds.core.keys import COMPETITION_RE
from matchodds.core.refits import FIT_LEASE_SECONDS, LEDGER_KEY, LedgerEntry

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient


def _key(competition: str) -> dict[str, Any]:
    if not COMPETITION_RE.match(competition):
        raise ValueError(f"bad competition {competition!r}")
    return {LEDGER_KEY: {"S": competition}}


def read_request(table: str, competition: str) -> dict[str, Any]:
    """get_item arguments: the competition's entry, read strongly consistent (it decides what to fit)."""
    return {"TableName": table, "Key": _key(competition), "ConsistentRead": True}


def entry_from_item(competition: str, item: dict[str, Any] | None) -> LedgerEntry:
    """A LedgerEntry from a DynamoDB item (none yet: no requests, no lease)."""
    if not item:
        return LedgerEntry(competition)
    return LedgerEntry(
        competition,
        requests=int(item.get("requests", {}).get("N", "0")),
        holder=item.get("holder", {}).get("S"),
        lease_until=float(item.get("lease_until", {}).get("N", "0")),
    )


def count_requests(table: str, competition: str, count: int, at: str) -> dict[str, Any]:
    """update_item arguments: add `count` requests (results files) and note when the last came."""
    return {
        "TableName": table,
        "Key": _key(competition),
        "UpdateExpression": "ADD requests :count SET last_request_at = :at",
        "ExpressionAttributeValues": {":count": {"N": str(count)}, ":at": {"S": at}},
        "ReturnValues": "ALL_NEW",
    }


def claim_lease(table: str, competition: str, holder: str, now: float, seconds: float) -> dict[str, Any]:
    """update_item arguments that succeed only if no unexpired lease is held: the caller then starts a fit."""
    return {
        "TableName": table,
        "Key": _key(competition),
        "UpdateExpression": "SET holder = :holder, lease_until = :until",
        "ConditionExpression": "attribute_not_exists(holder) OR lease_until < :now",
        "ExpressionAttributeValues": {
            ":holder": {"S": holder},
            ":until": {"N": repr(now + seconds)},
            ":now": {"N": repr(now)},
        },
    }


def extend_lease(table: str, competition: str, holder: str, now: float, seconds: float) -> dict[str, Any]:
    """update_item arguments: the holder keeps its lease for another round; fails if it lost it."""
    return {
        "TableName": table,
        "Key": _key(competition),
        "UpdateExpression": "SET lease_until = :until",
        "ConditionExpression": "holder = :holder",
        "ExpressionAttributeValues": {":holder": {"S": holder}, ":until": {"N": repr(now + seconds)}},
    }


def release_if_done(table: str, competition: str, holder: str, seen_requests: int) -> dict[str, Any]:
    """update_item arguments: give the lease back only if no request came after `seen_requests`.

    Fails (ConditionalCheckFailed) when one did, or when the lease was lost; the fit reads the entry to
    tell which. The check and the release are one conditional write, so no request falls between them."""
    return {
        "TableName": table,
        "Key": _key(competition),
        "UpdateExpression": "REMOVE holder, lease_until SET fitted_requests = :seen",
        "ConditionExpression": "holder = :holder AND requests = :seen",
        "ExpressionAttributeValues": {":holder": {"S": holder}, ":seen": {"N": str(seen_requests)}},
    }


def release_lease(table: str, competition: str, holder: str) -> dict[str, Any]:
    """update_item arguments: give the lease back whatever is pending (a failed start, a refused fit)."""
    return {
        "TableName": table,
        "Key": _key(competition),
        "UpdateExpression": "REMOVE holder, lease_until",
        "ConditionExpression": "holder = :holder",
        "ExpressionAttributeValues": {":holder": {"S": holder}},
    }


def _conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class FitLedger:
    """One DynamoDB item per competition: requests counted, and the lease of the fit that runs."""

    def __init__(
        self,
        table: str,
        dynamodb: DynamoDBClient,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = FIT_LEASE_SECONDS,
    ) -> None:
        self.table, self.dynamodb, self.clock, self.lease_seconds = table, dynamodb, clock, lease_seconds

    def read(self, competition: str) -> LedgerEntry:
        """The competition's entry, read strongly consistent."""
        item = self.dynamodb.get_item(**read_request(self.table, competition)).get("Item")
        return entry_from_item(competition, dict(item) if item else None)

    def request(self, competition: str, count: int) -> int:
        """Count `count` more requests (results files) for the competition; returns its total so far."""
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        item = self.dynamodb.update_item(**count_requests(self.table, competition, count, at)).get("Attributes")
        return entry_from_item(competition, dict(item) if item else None).requests

    def claim(self, competition: str, holder: str) -> bool:
        """Take the competition's lease for `holder`; False while another fit holds it."""
        return self._conditional(claim_lease(self.table, competition, holder, self.clock(), self.lease_seconds))

    def extend(self, competition: str, holder: str) -> bool:
        """Keep `holder`'s lease for another round; False when it was lost."""
        return self._conditional(extend_lease(self.table, competition, holder, self.clock(), self.lease_seconds))

    def release_if_done(self, competition: str, holder: str, seen: int) -> bool:
        """Give `holder`'s lease back if no request came after `seen`; False when one did or the lease was lost."""
        return self._conditional(release_if_done(self.table, competition, holder, seen))

    def release(self, competition: str, holder: str) -> None:
        """Give `holder`'s lease back (its fit could not start, or stopped); a lease another holds is left as it is."""
        self._conditional(release_lease(self.table, competition, holder))

    def _conditional(self, request: dict[str, Any]) -> bool:
        """Send a conditional update_item: False when its condition failed."""
        try:
            self.dynamodb.update_item(**request)
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True
