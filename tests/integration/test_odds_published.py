"""precompute's "Odds published" event on EventBridge (moto): sent once the pointer has moved, never undoing it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from entry.local.lambda_context import LambdaContext
from matchodds.core.keys import EVENT_BUS_NAME, EVENT_SOURCE, ODDS_PUBLISHED, export_key, posterior_key
from matchodds.core.posterior import Posterior, encode_posterior
from services.precompute import handler
from services.precompute.events import EventNotPublished, OddsPublisher
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
from tests.conftest import load_event

pytestmark = pytest.mark.integration
V1, V2 = "20250519T060000Z", "20250526T060000Z"


@pytest.fixture
def subscriber(aws: dict[str, str]) -> str:
    """The URL of an SQS queue that a rule on the bus fills with every "Odds published" event."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=EVENT_BUS_NAME)
    url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [EVENT_SOURCE], "detail-type": [ODDS_PUBLISHED]}
    events.put_rule(Name="odds", EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="odds", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def heard(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def put(aws: dict[str, str], posterior: Posterior) -> str:
    key = posterior_key(posterior.competition, posterior.version)
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(posterior))
    return key


def writer(aws: dict[str, str]) -> OddsWriter:
    return OddsWriter(aws["table"], boto3.client("dynamodb"), sleep=lambda _: None)


def test_a_promotion_is_announced_with_its_exports(
    aws: dict[str, str], subscriber: str, make_posterior: Callable[..., Posterior]
) -> None:
    posterior = make_posterior(version=V1)
    publisher = OddsPublisher(EVENT_BUS_NAME, boto3.client("events"))
    publish_posterior(aws["bucket"], put(aws, posterior), boto3.client("s3"), writer(aws), publisher=publisher)
    [event] = heard(subscriber)
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, ODDS_PUBLISHED)
    assert event["detail"] == {
        "competition": "E0",
        "version": V1,
        "data_through": posterior.meta["data_window"]["last_match"],
        "exports": {"csv": export_key("E0", V1, "csv"), "json": export_key("E0", V1, "json")},
    }
    for key in event["detail"]["exports"].values():  # a subscriber finds the files it is told of
        boto3.client("s3").head_object(Bucket=aws["bucket"], Key=key)


def test_a_superseded_version_is_not_announced(
    aws: dict[str, str], subscriber: str, make_posterior: Callable[..., Posterior]
) -> None:
    publisher = OddsPublisher(EVENT_BUS_NAME, boto3.client("events"))
    s3 = boto3.client("s3")
    publish_posterior(aws["bucket"], put(aws, make_posterior(version=V2)), s3, writer(aws), publisher=publisher)
    publish_posterior(aws["bucket"], put(aws, make_posterior(version=V1)), s3, writer(aws), publisher=publisher)
    assert [event["detail"]["version"] for event in heard(subscriber)] == [V2]


class FailingEvents:
    """An EventBridge client whose puts fail: raising, or reporting the entry as failed."""

    def __init__(self, raises: bool) -> None:
        self.raises, self.calls = raises, 0

    def put_events(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.raises:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutEvents")
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}


@pytest.mark.parametrize("raises", [True, False])
def test_a_failed_put_keeps_the_promotion_and_fails_so_a_retry_announces_it(
    aws: dict[str, str], subscriber: str, make_posterior: Callable[..., Posterior], raises: bool
) -> None:
    key, s3 = put(aws, make_posterior(version=V1)), boto3.client("s3")
    failing = FailingEvents(raises)
    with pytest.raises(EventNotPublished):
        publish_posterior(aws["bucket"], key, s3, writer(aws), publisher=OddsPublisher(EVENT_BUS_NAME, failing))  # type: ignore[arg-type]
    assert failing.calls == 1 and writer(aws).current_version("E0") == V1  # live all the same
    retried = publish_posterior(
        aws["bucket"], key, s3, writer(aws), publisher=OddsPublisher(EVENT_BUS_NAME, boto3.client("events"))
    )
    assert retried is not None and retried.promotion.outcome == "already-current"
    assert [event["detail"]["version"] for event in heard(subscriber)] == [V1]


def test_the_handler_publishes_on_the_bus_its_environment_names(
    aws: dict[str, str], subscriber: str, make_posterior: Callable[..., Posterior], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = put(aws, make_posterior(version=V2))
    event = load_event("sqs-s3-posterior.json")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["key"] = key.replace("/", "%2F")
    event["Records"][0]["body"] = json.dumps(body)
    monkeypatch.setenv("MATCHODDS_EVENT_BUS", EVENT_BUS_NAME)
    handler._dependencies.cache_clear()
    try:
        assert handler.lambda_handler(event, LambdaContext("matchodds-precompute")) == {"batchItemFailures": []}
    finally:
        handler._dependencies.cache_clear()
    assert [event["detail"]["version"] for event in heard(subscriber)] == [V2]


def test_without_a_bus_the_handler_makes_no_publisher(aws: dict[str, str]) -> None:
    handler._dependencies.cache_clear()
    try:
        assert handler._dependencies()[2] is None
    finally:
        handler._dependencies.cache_clear()
