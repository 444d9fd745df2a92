"""Results in, one fit out: the trigger, the ledger and the fit's lease against moto, through real S3 events.

The launcher here records what it is asked to start (in AWS it calls ECS RunTask, which moto cannot run);
the ledger, the queue, the S3 notifications and the lease are the real ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.stub import Stubber

from adapters.fit_ledger import FitLedger, entry_from_item, read_request
from entry.local.event_sources import EventSourceMapping
from matchodds.core.refits import (
    FIT_CLUSTER_VARIABLE,
    FIT_HOLDER_VARIABLE,
    FIT_SECURITY_GROUPS_VARIABLE,
    FIT_SUBNETS_VARIABLE,
    FIT_TASKS_VARIABLE,
    parse_results_key,
)
from services.fit.lease import FitLease
from services.fit_trigger.handler import handle
from services.fit_trigger.launcher import EcsLauncher, LaunchError
from tests.conftest import load_event

pytestmark = pytest.mark.integration
SEASON = b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Man United,Fulham,1,0\n"


@dataclass
class RecordingLauncher:
    """Stands where ECS RunTask stands: records each start, or refuses while `refuse` is set."""

    started: list[tuple[str, str]] = field(default_factory=list)
    refuse: bool = False

    def launch(self, competition: str, holder: str) -> str:
        if self.refuse:
            raise LaunchError(f"RunTask started no {competition} fit: RESOURCE:FARGATE")
        self.started.append((competition, holder))
        return f"task-{len(self.started)}"


def entry(aws: dict[str, str], competition: str = "E0") -> Any:
    item = boto3.client("dynamodb").get_item(**read_request(aws["fit_ledger"], competition)).get("Item")
    return entry_from_item(competition, item)


def upload(aws: dict[str, str], *keys: str) -> None:
    s3 = boto3.client("s3")
    for key in keys:
        s3.put_object(Bucket=aws["bucket"], Key=key, Body=SEASON)


def mapping(aws: dict[str, str], launcher: RecordingLauncher, serves: Any = lambda _: True) -> EventSourceMapping:
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    return EventSourceMapping(
        aws["fit_trigger_queue_url"],
        aws["fit_trigger_queue_arn"],
        lambda event, _: handle(event, ledger, launcher, serves),
        "matchodds-fit-trigger",
        batch_size=100,
        batching_window=1.0,
    )


def drain(poller: EventSourceMapping) -> int:
    """Deliver every message waiting (batch by batch); the number delivered."""
    delivered = 0
    while seen := poller.poll_once(wait_seconds=0):
        delivered += seen
    return delivered


def test_only_results_csv_keys_of_a_competition_count() -> None:
    assert parse_results_key("results/E0/2024-25.csv") == "E0"
    for key in (
        "results/E0/notes.txt",
        "results/e0/2024-25.csv",
        "results/E0/sub/x.csv",
        "results/SC0/E0.CSV",  # S3's case-sensitive filter never announces it: no reader may count it
        "results/E0/part 1.csv",
        "fixtures/E0/a.csv",
    ):
        assert parse_results_key(key) is None, key


def _notifications(*keys: str) -> dict[str, Any]:
    """An SQS batch of S3 notifications, one key each, URL-encoded as S3 sends them."""
    (template,) = load_event("sqs-s3-fixtures.json")["Records"]
    records = []
    for index, key in enumerate(keys):
        body = json.loads(template["body"])
        body["Records"][0]["s3"]["object"]["key"] = quote_plus(key)
        records.append({**template, "messageId": f"message-{index}", "body": json.dumps(body)})
    return {"Records": records}


def test_keys_outside_the_key_rule_start_no_fit_and_count_no_request(aws: dict[str, str]) -> None:
    """Issue 31: the fit reads only what the rule accepts, so a key it would skip must start no fit either."""
    launcher = RecordingLauncher()
    event = _notifications(
        "results/E0/week.CSV", "results/D1/sub/y.csv", "results/E0/week 1.csv", "results/E0/.csv", "results/SP1/x.txt"
    )
    reply = handle(event, FitLedger(aws["fit_ledger"], boto3.client("dynamodb")), launcher, lambda _: True)
    assert reply == {"batchItemFailures": []}  # nothing to retry: they are not results files
    assert launcher.started == []
    assert entry(aws, "E0").requests == entry(aws, "D1").requests == 0


def test_the_local_notifications_announce_only_the_rules_suffix(aws: dict[str, str]) -> None:
    """As infra's filters: S3 never announces a .CSV key, so the trigger cannot count one the fit would not read."""
    launcher = RecordingLauncher()
    upload(aws, "results/E0/2024-25.CSV", "results/E0/2024-25.txt")
    assert drain(mapping(aws, launcher)) == 1  # provisioning's s3:TestEvent only
    upload(aws, "results/E0/2024-25.csv")
    assert drain(mapping(aws, launcher)) == 1 and [c for c, _ in launcher.started] == ["E0"]


def test_ten_files_uploaded_together_start_one_fit(aws: dict[str, str]) -> None:
    launcher = RecordingLauncher()
    upload(aws, *(f"results/E0/part-{n}.csv" for n in range(10)), "results/D1/2023-24.csv")
    poller = mapping(aws, launcher)
    assert drain(poller) == 12  # the s3:TestEvent of provisioning, ten E0 files, one D1 file
    assert sorted(competition for competition, _ in launcher.started) == ["D1", "E0"]
    e0 = entry(aws)
    assert e0.requests == 10 and e0.holder == dict(launcher.started)["E0"]
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws["fit_trigger_dlq_url"])


def test_files_during_a_fit_make_it_fit_once_more_not_start_another(aws: dict[str, str]) -> None:
    launcher = RecordingLauncher()
    poller = mapping(aws, launcher)
    upload(aws, "results/E0/2024-25.csv")
    drain(poller)
    [(_, holder)] = launcher.started
    lease = FitLease(aws["fit_ledger"], "E0", holder, boto3.client("dynamodb"))
    seen = lease.begin()  # the fit reads the count, then the results
    assert seen == 1
    for batch in range(3):  # three more bursts while it fits: counted, nothing started
        upload(aws, *(f"results/E0/late-{batch}-{n}.csv" for n in range(3)))
        drain(poller)
    assert len(launcher.started) == 1 and entry(aws).requests == 10
    again = lease.finish(seen)  # the count moved: it keeps the lease and fits once more
    assert again == 10 and entry(aws).holder == holder
    assert lease.finish(again) is None  # nothing new since: the lease is given back
    assert entry(aws).holder is None
    upload(aws, "results/E0/next-week.csv")  # the next upload starts a fit of its own
    drain(poller)
    assert len(launcher.started) == 2 and launcher.started[1][1] != holder


def test_a_fit_that_could_not_start_leaves_its_messages_for_the_retry(aws: dict[str, str]) -> None:
    launcher = RecordingLauncher(refuse=True)
    poller = mapping(aws, launcher)
    upload(aws, "results/E0/2024-25.csv")
    drain(poller)  # refused: the lease is given back and the message stays in the queue
    assert entry(aws).holder is None and launcher.started == []
    launcher.refuse = False
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=aws["fit_trigger_queue_url"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_a_competition_not_served_starts_nothing_and_is_not_retried(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    launcher = RecordingLauncher()
    upload(aws, "results/N1/2024-25.csv")
    drain(mapping(aws, launcher, serves=lambda competition: competition == "E0"))
    assert launcher.started == [] and entry(aws, "N1").requests == 0
    assert "add N1 to the stack's `competitions` config" in caplog.text
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws["fit_trigger_queue_url"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_expired_lease_is_taken_over(aws: dict[str, str]) -> None:
    now = [1_000_000.0]
    dynamodb = boto3.client("dynamodb")
    ledger = FitLedger(aws["fit_ledger"], dynamodb, clock=lambda: now[0], lease_seconds=3600)
    ledger.request("E0", 1)
    assert ledger.claim("E0", "dead task")
    assert not ledger.claim("E0", "second")
    now[0] += 3601  # the first task died holding it
    assert ledger.claim("E0", "second")
    stale = FitLease(aws["fit_ledger"], "E0", "dead task", dynamodb)
    assert stale.finish(1) is None and entry(aws).holder == "second"  # the dead task's end frees nothing


def test_a_message_that_is_no_s3_notification_goes_back(aws: dict[str, str]) -> None:
    event = load_event("sqs-s3-fixtures.json")
    good = event["Records"][0]
    body = json.loads(good["body"])
    body["Records"][0]["s3"]["object"]["key"] = "results%2FE0%2F2024-25.csv"
    event["Records"] = [{**good, "body": json.dumps(body)}, {**good, "messageId": "garbage", "body": "{not json"}]
    launcher = RecordingLauncher()
    reply = handle(event, FitLedger(aws["fit_ledger"], boto3.client("dynamodb")), launcher, lambda _: True)
    assert reply == {"batchItemFailures": [{"itemIdentifier": "garbage"}]}
    assert [competition for competition, _ in launcher.started] == ["E0"]


def test_the_ecs_launcher_runs_the_competitions_own_task_with_the_holder() -> None:
    environment = {
        FIT_TASKS_VARIABLE: json.dumps({"E0": "arn:aws:ecs:us-east-1:1:task-definition/fit-E0:3"}),
        FIT_CLUSTER_VARIABLE: "arn:aws:ecs:us-east-1:1:cluster/fit",
        FIT_SUBNETS_VARIABLE: "subnet-a,subnet-b",
        FIT_SECURITY_GROUPS_VARIABLE: "sg-1",
    }
    ecs = boto3.client("ecs", region_name="us-east-1")
    launcher = EcsLauncher.from_env(environment, ecs)
    assert launcher.serves("E0") and not launcher.serves("D1")
    with Stubber(ecs) as stub:
        expected = {
            "cluster": "arn:aws:ecs:us-east-1:1:cluster/fit",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/fit-E0:3",
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "matchodds-trigger-E0",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-a", "subnet-b"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "ENABLED",
                }
            },
            "overrides": {
                "containerOverrides": [{"name": "fit", "environment": [{"name": FIT_HOLDER_VARIABLE, "value": "h1"}]}]
            },
        }
        stub.add_response("run_task", {"tasks": [{"taskArn": "arn:task/1"}], "failures": []}, expected)
        stub.add_response("run_task", {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:FARGATE"}]})
        assert launcher.launch("E0", "h1") == "arn:task/1"
        with pytest.raises(LaunchError, match="RESOURCE:FARGATE"):
            launcher.launch("E0", "h2")
    with pytest.raises(LaunchError, match="no fit task definition for D1"):
        launcher.launch("D1", "h3")
    with pytest.raises(RuntimeError, match=FIT_SUBNETS_VARIABLE):
        EcsLauncher.from_env({**environment, FIT_SUBNETS_VARIABLE: ""}, ecs)
