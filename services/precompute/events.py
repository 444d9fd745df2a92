"""Tells subscribers that a version went live: one EventBridge event per published version.

Sent after the pointer has moved and the exports are written, so a subscriber that reads the
export keys finds them. Delivery is at least once: a retried record that finds its version current
publishes again, so subscribers key on (competition, version). A put that fails (an exception, or
an entry EventBridge reports as failed) raises EventNotPublished after the promotion: the pointer
stays where it is, SQS retries the record (a no-op for items and pointer, the same exports again,
then the event), and after its receives the record lands on the dead-letter queue, whose alarm
tells someone that subscribers missed a version. Logging and carrying on would lose the event silently.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from matchodds.core.keys import EVENT_SOURCE, ODDS_PUBLISHED

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

logger = logging.getLogger(__name__)


class EventNotPublished(RuntimeError):
    """The version is live but its "Odds published" event could not be put; the record is retried."""


def odds_published_detail(competition: str, version: str, data_through: str, exports: list[str]) -> dict[str, object]:
    """The event's detail: competition, version, data-through date and the export keys by format."""
    by_format = {key.rsplit(".", 1)[-1]: key for key in exports if "/latest." not in key}
    return {"competition": competition, "version": version, "data_through": data_through, "exports": by_format}


class OddsPublisher:
    """Puts "Odds published" events on one EventBridge bus."""

    def __init__(self, bus: str, client: EventBridgeClient) -> None:
        self.bus, self.client = bus, client

    def publish(self, detail: dict[str, object]) -> None:
        """Put one event; EventNotPublished when EventBridge refuses it."""
        entry: PutEventsRequestEntryTypeDef = {
            "Source": EVENT_SOURCE,
            "DetailType": ODDS_PUBLISHED,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus,
        }
        try:
            response = self.client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as error:
            logger.error("the %s event of %s did not reach bus %s: %s", ODDS_PUBLISHED, detail, self.bus, error)
            raise EventNotPublished(f"{ODDS_PUBLISHED} not put on {self.bus}: {error}") from error
        if response.get("FailedEntryCount"):
            failure = response["Entries"][0]
            message = f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}"
            logger.error("the %s event of %s was refused by bus %s: %s", ODDS_PUBLISHED, detail, self.bus, message)
            raise EventNotPublished(f"{ODDS_PUBLISHED} refused by {self.bus}: {message}")
        logger.info("published %s on %s: %s", ODDS_PUBLISHED, self.bus, detail)
