"""The fit's side of the fit ledger (matchodds.core.refits): fit again while uploads came in, then give the lease back.

A fit started by the trigger holds its competition's lease. It reads the request count before the
results, and when it has published, gives the lease back only if the count has not moved; if it has,
new files came during the fit, and it fits once more, reading them too. The ledger's requests are
adapters.fit_ledger's; the rounds are the fit's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.fit_ledger import FitLedger
from matchodds.core.refits import FIT_LEASE_SECONDS, LedgerEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("matchodds.fit")


class FitLease:
    """One competition's lease, held by this fit under the holder id the trigger gave it."""

    def __init__(
        self,
        table: str,
        competition: str,
        holder: str,
        dynamodb: DynamoDBClient,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = FIT_LEASE_SECONDS,
    ) -> None:
        self.competition, self.holder = competition, holder
        self.ledger = FitLedger(table, dynamodb, clock, lease_seconds)

    def read(self) -> LedgerEntry:
        """The competition's ledger entry as it stands."""
        return self.ledger.read(self.competition)

    def begin(self) -> int | None:
        """The requests counted so far, read before the results; None if this fit does not hold the lease."""
        entry = self.read()
        if entry.holder != self.holder:
            logger.warning("%s: the lease is not this fit's (%s); fitting once", self.competition, entry.holder)
            return None
        return entry.requests

    def finish(self, seen: int) -> int | None:
        """Give the lease back if no request came after `seen`; else keep it and return the new count."""
        if self.ledger.release_if_done(self.competition, self.holder, seen):
            return None
        entry = self.read()
        if entry.holder != self.holder:
            logger.warning(
                "%s: the lease passed to %s during the fit; that fit reads what came", self.competition, entry.holder
            )
            return None
        if entry.requests == seen:  # the count did not move: the condition failed on something else
            self.give_up()
            return None
        if not self.ledger.extend(self.competition, self.holder):
            return None  # lost between the read and the extension: the new holder fits
        return entry.requests

    def give_up(self) -> None:
        """Give the lease back whatever is pending, so the next upload starts a fit at once."""
        self.ledger.release(self.competition, self.holder)
