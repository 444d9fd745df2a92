"""Results in, one fit out: the ledger that debounces fits started by results uploads.

A results file written under results/<competition>/ reaches the fit trigger (a Lambda fed by SQS,
which gathers a minute's uploads into one batch). The trigger counts the competition's requests in
the ledger, then starts a fit only if it can take the competition's lease, so one fit runs per
competition at a time. The fit reads the request count before it reads the results; when it has
published, it gives the lease back only if no request came in meanwhile. If one did, it keeps the
lease and fits once more with the new files: ten uploads within a minute start one fit, and a file
that arrives during a fit starts one more after it, not ten.

The ledger is one DynamoDB item per competition. This module writes its requests as plain data
(the keyword arguments of `update_item` and `get_item`), so the trigger and the fit, which may not
import each other, send the very same conditions; neither the core nor this module calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matchodds.core.keys import COMPETITION_RE
from matchodds.core.keys import parse_results_key as parse_results_key  # the key rule; re-exported for callers of old

# The ledger table's one key attribute; each item is one competition's.
LEDGER_KEY = "competition"
# Environment: the ledger table (fit and trigger), the lease a fit was started with (set by the
# trigger on the task it starts; a scheduled fit has none and runs once, touching no ledger).
FIT_LEDGER_VARIABLE = "MATCHODDS_FIT_LEDGER"
FIT_HOLDER_VARIABLE = "MATCHODDS_FIT_HOLDER"
# The trigger's view of the fit tasks it may start: JSON {competition: task definition ARN}, the
# cluster, and the task's network (comma-separated subnets and security groups).
FIT_TASKS_VARIABLE = "MATCHODDS_FIT_TASKS"
FIT_CLUSTER_VARIABLE = "MATCHODDS_FIT_CLUSTER"
FIT_SUBNETS_VARIABLE = "MATCHODDS_FIT_SUBNETS"
FIT_SECURITY_GROUPS_VARIABLE = "MATCHODDS_FIT_SECURITY_GROUPS"
FIT_CONTAINER = "fit"  # the container's name in every fit task definition, where the holder is passed

# Lambda's SQS batching window: uploads within this many seconds of the first reach the trigger as
# one batch (300 s is Lambda's maximum); the ledger makes a later batch during the fit one more round.
FIT_BATCHING_WINDOW_SECONDS = 60
FIT_TRIGGER_BATCH_SIZE = 100
FIT_TRIGGER_MAX_RECEIVES = 3  # deliveries of one results event before SQS parks it in the dead-letter queue
# How long a started fit holds its competition: longer than any fit runs (minutes, docs/deploy.md).
# A task that dies holding it blocks results-started fits of its competition until then; the weekly
# schedule, which needs no lease, still runs.
FIT_LEASE_SECONDS = 3600
# Rounds one task fits before it gives the lease back whatever is pending: a stream of uploads
# cannot keep a task alive forever; the next upload starts a fresh one.
FIT_MAX_ROUNDS = 3


@dataclass(frozen=True)
class LedgerEntry:
    """One competition's ledger item as read: requests counted so far, and who holds the lease until when."""

    competition: str
    requests: int = 0
    holder: str | None = None
    lease_until: float = 0.0


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
