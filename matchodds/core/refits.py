"""Results in, one fit out: the ledger that debounces fits started by results uploads.

A results file written under results/<competition>/ reaches the fit trigger (a Lambda fed by SQS,
which gathers a minute's uploads into one batch). The trigger counts the competition's requests in
the ledger, then starts a fit only if it can take the competition's lease, so one fit runs per
competition at a time. The fit reads the request count before it reads the results; when it has
published, it gives the lease back only if no request came in meanwhile. If one did, it keeps the
lease and fits once more with the new files: ten uploads within a minute start one fit, and a file
that arrives during a fit starts one more after it, not ten. A fit that dies holding the lease (killed,
out of memory, crashed) has it given back when its task stops, conditional on its holder, so a newer
lease is never dropped and the next upload starts a fit at once.

The ledger is one DynamoDB item per competition. This module holds its rules and names; its one
client, adapters.fit_ledger, makes the requests, so the trigger and the fit, which may not import
each other, send the very same conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
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
# A task that dies holding it would block results-started fits of its competition until then, so its
# stop gives the lease back: in AWS the task's ECS "Task State Change" event (STOPPED) reaches
# the trigger (stopped_fit), locally the launcher sees the process end. The lease's expiry stays as the
# last resort, should that event be lost; the weekly schedule, which needs no lease, still runs.
FIT_LEASE_SECONDS = 3600
# The startedBy of every fit task the trigger runs (fit_started_by): the ECS rule that reports their stops
# matches this prefix, and the competition is read back from it.
FIT_STARTED_BY_PREFIX = "matchodds-trigger-"
ECS_SOURCE = "aws.ecs"
ECS_TASK_STATE_CHANGE = "ECS Task State Change"
ECS_STOPPED = "STOPPED"
# Rounds one task fits before it gives the lease back whatever is pending: a stream of uploads
# cannot keep a task alive forever; the next upload starts a fresh one.
FIT_MAX_ROUNDS = 3


def fit_started_by(competition: str) -> str:
    """The startedBy of a fit task the trigger runs for `competition` (ECS allows 36 characters; this is at most 26)."""
    if not COMPETITION_RE.match(competition):
        raise ValueError(f"bad competition {competition!r}")
    return f"{FIT_STARTED_BY_PREFIX}{competition}"


@dataclass(frozen=True)
class StoppedFit:
    """A fit task the trigger started, now stopped: the lease it was started with can be given back."""

    competition: str
    holder: str
    task: str
    reason: str


def stopped_fit(event: Mapping[str, Any]) -> StoppedFit | None:
    """The trigger-started fit an ECS "Task State Change" event reports STOPPED; None for any other event.

    The competition is read from the task's startedBy (fit_started_by), the lease's holder from the fit
    container's environment override, as services/fit_trigger/launcher.py passes them to RunTask."""
    detail = event.get("detail")
    if (
        event.get("source") != ECS_SOURCE
        or event.get("detail-type") != ECS_TASK_STATE_CHANGE
        or not isinstance(detail, Mapping)
        or detail.get("lastStatus") != ECS_STOPPED
    ):
        return None
    started_by = detail.get("startedBy")
    if not isinstance(started_by, str) or not started_by.startswith(FIT_STARTED_BY_PREFIX):
        return None  # a scheduled fit: it holds no lease
    competition = started_by.removeprefix(FIT_STARTED_BY_PREFIX)
    holder = _holder_override(detail.get("overrides"))
    if not COMPETITION_RE.match(competition) or holder is None:
        return None
    return StoppedFit(competition, holder, str(detail.get("taskArn", "")), str(detail.get("stoppedReason", "")))


def _holder_override(overrides: object) -> str | None:
    """FIT_HOLDER_VARIABLE's value in the fit container's environment override, if the task has one."""
    containers = overrides.get("containerOverrides") if isinstance(overrides, Mapping) else None
    for container in containers if isinstance(containers, list) else []:
        if not isinstance(container, Mapping) or container.get("name") != FIT_CONTAINER:
            continue
        environment = container.get("environment")
        for variable in environment if isinstance(environment, list) else []:
            if isinstance(variable, Mapping) and variable.get("name") == FIT_HOLDER_VARIABLE:
                value = variable.get("value")
                return value if isinstance(value, str) and value else None
    return None


@dataclass(frozen=True)
class LedgerEntry:
    """One competition's ledger item as read: requests counted so far, and who holds the lease until when."""

    competition: str
    requests: int = 0
    holder: str | None = None
    lease_until: float = 0.0
