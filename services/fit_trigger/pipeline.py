"""Results files in, fits out: a batch of S3 notifications becomes at most one fit start per competition.

The same queue carries ECS's "Task State Change" events of the fit tasks the trigger started (an
EventBridge rule, infra/fit_trigger.py): a stopped task's lease is given back, conditional on its holder,
so a killed fit blocks no fit of its competition until the lease expires.

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
from matchodds.core.refits import StoppedFit, stopped_fit
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
    stopped: list[tuple[StoppedFit, str]] = field(default_factory=list)  # fit tasks stopped, by message id


def results_files(records: Iterable[Mapping[str, Any]]) -> Batch:
    """Group the batch's S3 notifications (SQS records) by competition; other keys and test events are skipped."""
    batch = Batch()
    for record in records:
        message_id = str(record["messageId"])
        try:
            notification = json.loads(record["body"])
            if isinstance(notification, dict) and "detail-type" in notification:  # EventBridge's, not S3's
                _note_stopped_fit(batch, notification, message_id)
                continue
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


def _note_stopped_fit(batch: Batch, event: Mapping[str, Any], message_id: str) -> None:
    stopped = stopped_fit(event)
    if stopped is None:  # the rule sends only trigger-started fits' stops; anything else is no one's lease
        logger.info(
            "message %s: %s event of no fit the trigger started; nothing to release",
            message_id,
            event.get("detail-type"),
        )
        return
    batch.stopped.append((stopped, message_id))


def release_stopped(batch: Batch, ledger: Ledger, serves: Callable[[str], bool]) -> set[str]:
    """Give back the lease of each stopped fit, if it still holds it; returns the message ids that failed."""
    failed = set()
    for stopped, message_id in batch.stopped:
        if not serves(stopped.competition):  # its ledger item is no longer the trigger's to write
            logger.warning(
                "fit of %s stopped (%s), a competition no longer served; its lease lapses",
                stopped.competition,
                stopped.task,
            )
            continue
        try:
            ledger.release(stopped.competition, stopped.holder)  # conditional on the holder: a newer lease stays
        except ClientError as error:
            logger.error(
                "fit of %s stopped; its lease could not be given back (%s); retried", stopped.competition, error
            )
            failed.add(message_id)
            continue
        logger.info(
            "fit of %s stopped (%s: %s); its lease %s is free unless a newer fit holds it",
            stopped.competition,
            stopped.task,
            stopped.reason,
            stopped.holder[:8],
        )
    return failed


def start_fits(
    records: Sequence[Mapping[str, Any]],
    ledger: Ledger,
    launcher: Launcher,
    serves: Callable[[str], bool],
    new_holder: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> list[str]:
    """Give back stopped fits' leases, then count each competition's new files and start its fit unless one
    runs; returns the message ids that failed."""
    batch = results_files(records)
    # First, so that an upload in the same batch as its competition's killed fit starts a new one.
    failed = set(batch.unreadable) | release_stopped(batch, ledger, serves)
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
