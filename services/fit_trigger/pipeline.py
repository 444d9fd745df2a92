"""Results files in, fits out: a batch of S3 notifications becomes at most one fit start per competition.

Lambda hands the trigger every results upload of the batching window at once. Per competition in the
batch: the files are counted in the ledger, then a fit starts only if the competition's lease is free;
if a fit holds it, that fit sees the new count when it finishes and fits once more.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from matchodds.core.keys import parse_results_key
from services.fit_trigger.launcher import Launcher, LaunchError

logger = logging.getLogger("matchodds.fit_trigger")


class Ledger(Protocol):
    def request(self, competition: str, count: int) -> int: ...

    def claim(self, competition: str, holder: str) -> bool: ...

    def release(self, competition: str, holder: str) -> None: ...


@dataclass
class Batch:
    """The results files of one batch by competition, with the SQS messages that announced them."""

    files: dict[str, set[str]] = field(default_factory=dict)  # S3 may announce a key twice: counted once
    messages: dict[str, set[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # message ids whose body is no S3 notification


def results_files(records: Iterable[Mapping[str, Any]]) -> Batch:
    """Group the batch's S3 notifications (SQS records) by competition; other keys and test events are skipped."""
    batch = Batch()
    for record in records:
        message_id = str(record["messageId"])
        try:
            notification = json.loads(record["body"])
            announced = [
                unquote_plus(entry["s3"]["object"]["key"])  # S3 URL-encodes keys in events
                for entry in notification.get("Records", [])
                if str(entry.get("eventName", "")).startswith("ObjectCreated")
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            logger.error("message %s is not an S3 notification (%s); it goes back to the queue", message_id, error)
            batch.unreadable.append(message_id)
            continue
        for key in announced:
            competition = parse_results_key(key)
            if competition is None:
                logger.info(
                    "%s is not a results file under the key rule (results/<competition>/<name>.csv); no fit", key
                )
                continue
            batch.files.setdefault(competition, set()).add(key)
            batch.messages.setdefault(competition, set()).add(message_id)
    return batch


def start_fits(
    records: Sequence[Mapping[str, Any]],
    ledger: Ledger,
    launcher: Launcher,
    serves: Callable[[str], bool],
    new_holder: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> list[str]:
    """Count each competition's new files and start its fit unless one runs; returns the message ids that failed."""
    batch = results_files(records)
    failed = set(batch.unreadable)
    for competition, keys in batch.files.items():
        if not serves(competition):
            # Not retried: no fit task exists for it until the deployment lists it.
            logger.warning(
                "%d results file(s) for %s, which this deployment does not serve (%s); add %s to the stack's "
                "`competitions` config to fit and serve it",
                len(keys),
                competition,
                ", ".join(sorted(keys)[:3]),
                competition,
            )
            continue
        try:
            requests = ledger.request(competition, len(keys))
            holder = new_holder()
            if not ledger.claim(competition, holder):
                logger.info(
                    "%s: %d new results file(s) while its fit runs; that fit fits once more when it ends "
                    "(%d requests so far)",
                    competition,
                    len(keys),
                    requests,
                )
                continue
            try:
                run = launcher.launch(competition, holder)
            except (LaunchError, ClientError):
                ledger.release(competition, holder)  # so that the retry can start it
                raise
            logger.info("%s: %d new results file(s): fit started (%s)", competition, len(keys), run)
        except (LaunchError, ClientError) as error:  # the batch's other competitions go on
            logger.error("%s: no fit started (%s); its messages go back to the queue", competition, error)
            failed |= batch.messages[competition]
    return sorted(failed)
