"""Issue 31: a fit killed while holding its competition's lease blocked upload-started fits for an hour.

In AWS the task's ECS "Task State Change" event (STOPPED) reaches the fit trigger's queue through an
EventBridge rule (infra/fit_trigger.py); the trigger gives the lease back if that task still holds it.
Here the event travels the same queue, against moto, with the real ledger.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from adapters.fit_ledger import FitLedger, entry_from_item, read_request
from entry.local.event_sources import EventSourceMapping
from matchodds.core.refits import FIT_HOLDER_VARIABLE
from services.fit_trigger.handler import handle
from tests.conftest import load_event
from tests.integration.test_fit_trigger import RecordingLauncher, drain, upload

pytestmark = pytest.mark.integration


def _entry(aws: dict[str, str], competition: str = "E0") -> Any:
    item = boto3.client("dynamodb").get_item(**read_request(aws["fit_ledger"], competition)).get("Item")
    return entry_from_item(competition, item)


def _stopped(holder: str, competition: str = "E0", started_by: str | None = None) -> dict[str, Any]:
    """The ECS event of the fit task started with `holder`'s lease, killed (exit 137)."""
    event = load_event("ecs-task-stopped-triggered.json")
    event["detail"]["startedBy"] = started_by or f"matchodds-trigger-{competition}"
    (override,) = event["detail"]["overrides"]["containerOverrides"]
    override["environment"] = [{"name": FIT_HOLDER_VARIABLE, "value": holder}]
    return event


def _send(aws: dict[str, str], event: dict[str, Any]) -> None:
    """As EventBridge's SQS target does: the whole event is the message body."""
    boto3.client("sqs").send_message(QueueUrl=aws["fit_trigger_queue_url"], MessageBody=json.dumps(event))


def _mapping(aws: dict[str, str], launcher: RecordingLauncher, ledger: FitLedger | None = None) -> EventSourceMapping:
    ledger = ledger or FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    return EventSourceMapping(
        aws["fit_trigger_queue_url"],
        aws["fit_trigger_queue_arn"],
        lambda event, _: handle(event, ledger, launcher, lambda _: True),
        "matchodds-fit-trigger",
        batch_size=100,
        batching_window=0.0,
    )


def test_a_killed_fits_stop_gives_its_lease_back_and_the_next_upload_starts_a_fit(aws: dict[str, str]) -> None:
    launcher = RecordingLauncher()
    poller = _mapping(aws, launcher)
    upload(aws, "results/E0/2024-25.csv")
    drain(poller)
    [(_, holder)] = launcher.started
    upload(aws, "results/E0/late.csv")  # while it fits: counted, nothing started
    drain(poller)
    assert len(launcher.started) == 1 and _entry(aws).holder == holder
    _send(aws, _stopped(holder))  # the task is SIGKILLed (or runs out of memory) mid-fit
    drain(poller)
    assert _entry(aws).holder is None
    upload(aws, "results/E0/next.csv")  # no hour's wait: the next upload starts a fit
    drain(poller)
    assert len(launcher.started) == 2 and launcher.started[1][1] not in {holder, None}
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws["fit_trigger_dlq_url"])


def test_a_late_stop_never_drops_a_newer_lease(aws: dict[str, str]) -> None:
    now = [1_000_000.0]
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"), clock=lambda: now[0], lease_seconds=3600)
    assert ledger.claim("E0", "old")
    now[0] += 3601  # the old task's lease lapsed, a newer fit took over, then the old task's stop arrives
    assert ledger.claim("E0", "new")
    launcher = RecordingLauncher()
    poller = _mapping(aws, launcher, ledger)
    _send(aws, _stopped("old"))
    _send(aws, _stopped("new", "D1"))  # another competition's holder of the same name frees only its own
    drain(poller)
    assert _entry(aws).holder == "new" and launcher.started == []


def test_a_weekly_fits_stop_releases_nothing(aws: dict[str, str]) -> None:
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    assert ledger.claim("E0", "running")
    _send(aws, _stopped("running", started_by="chronos-schedule"))
    _send(aws, load_event("ecs-task-stopped.json"))  # as the scheduler starts it: no holder at all
    drain(_mapping(aws, RecordingLauncher()))
    assert _entry(aws).holder == "running"


def test_an_upload_in_the_batch_of_its_fits_stop_starts_the_next_fit(aws: dict[str, str]) -> None:
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    assert ledger.claim("E0", "killed")
    (template,) = load_event("sqs-s3-fixtures.json")["Records"]
    body = json.loads(template["body"])
    body["Records"][0]["s3"]["object"]["key"] = "results/E0/2024-25.csv"
    records = [  # the upload first: the stop is still handled before the uploads are counted
        {**template, "messageId": "upload", "body": json.dumps(body)},
        {**template, "messageId": "stopped", "body": json.dumps(_stopped("killed"))},
    ]
    launcher = RecordingLauncher()
    assert handle({"Records": records}, ledger, launcher, lambda _: True) == {"batchItemFailures": []}
    assert [competition for competition, _ in launcher.started] == ["E0"]
    assert _entry(aws).holder == launcher.started[0][1]
