"""The trigger's side of the fit ledger (matchodds.core.refits): count requests, take a competition's lease."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from matchodds.core.refits import (
    FIT_LEASE_SECONDS,
    claim_lease,
    count_requests,
    entry_from_item,
    release_lease,
)

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient


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

    def request(self, competition: str, count: int) -> int:
        """Count `count` more requests (results files) for the competition; returns its total so far."""
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        item = self.dynamodb.update_item(**count_requests(self.table, competition, count, at)).get("Attributes")
        return entry_from_item(competition, dict(item) if item else None).requests

    def claim(self, competition: str, holder: str) -> bool:
        """Take the competition's lease for `holder`; False while another fit holds it."""
        try:
            self.dynamodb.update_item(**claim_lease(self.table, competition, holder, self.clock(), self.lease_seconds))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, competition: str, holder: str) -> None:
        """Give `holder`'s lease back (its fit could not start, or stopped); a lease another holds is left as it is."""
        try:
            self.dynamodb.update_item(**release_lease(self.table, competition, holder))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
