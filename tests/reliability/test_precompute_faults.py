"""Precompute under faults injected at the boto3 boundary: throttling, unprocessed items, a crash half-way.

The DynamoDB client handed to OddsWriter is a thin wrapper around the real (moto) client: it passes
every call through, except that it can throttle, leave items unprocessed or die after some batches,
as DynamoDB and Lambda do. The code under test is never patched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from adapters.odds_table import WriteIncomplete
from entry.local.lambda_context import LambdaContext
from matchodds.core.items import odds_partition, pointer_key
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior
from services.precompute.handler import lambda_handler
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
from tests.conftest import load_event

pytestmark = pytest.mark.integration
CONTEXT = LambdaContext("matchodds-precompute")
V1, V2, V3 = "20250519T060000Z", "20250526T060000Z", "20250602T060000Z"
# 7 teams: 42 ordered pairings, two BatchWriteItem calls of 25 and 17.
SEVEN = ("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY")


class Crash(Exception):
    """The process died (Lambda timeout, out of memory) in the middle of a run."""


class FaultyDynamo:
    """The real DynamoDB client, with faults in batch_write_item as the real service shows them."""

    def __init__(
        self,
        client: Any,
        *,
        throttle_first: int = 0,
        unprocess_every_other: bool = False,
        crash_after_batches: int | None = None,
        never_process: bool = False,
    ) -> None:
        self.client = client
        self.throttle_first, self.unprocess_every_other = throttle_first, unprocess_every_other
        self.crash_after_batches, self.never_process = crash_after_batches, never_process
        self.calls = 0
        self.written_batches = 0
        self.pointer_attempts: list[str] = []
        self.pointer_puts: list[str] = []  # the conditional puts that succeeded: the pointer moved

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.throttle_first:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
                "BatchWriteItem",
            )
        if self.crash_after_batches is not None and self.written_batches >= self.crash_after_batches:
            raise Crash(f"killed after {self.written_batches} batches")
        ((table, requests),) = kwargs["RequestItems"].items()
        if self.never_process:
            return {"UnprocessedItems": {table: requests}}
        if self.unprocess_every_other and len(requests) > 1:
            # DynamoDB writes part of a batch and hands the rest back when a partition is hot.
            written, handed_back = requests[::2], requests[1::2]
            self.client.batch_write_item(RequestItems={table: written})
            return {"UnprocessedItems": {table: handed_back}}
        response = self.client.batch_write_item(**kwargs)
        self.written_batches += 1
        return response

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        conditional = bool(kwargs.get("ConditionExpression"))
        if conditional:
            self.pointer_attempts.append(kwargs["Item"]["version"]["S"])
        response = self.client.put_item(**kwargs)
        if conditional:
            self.pointer_puts.append(kwargs["Item"]["version"]["S"])
        return response


def put(aws: dict[str, str], posterior: Posterior) -> str:
    key = posterior_key(posterior.competition, posterior.version)
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(posterior))
    return key


def current(aws: dict[str, str]) -> str | None:
    item = boto3.resource("dynamodb").Table(aws["table"]).get_item(Key=pointer_key("E0")).get("Item")
    return None if item is None else str(item["version"])


def stored_pairs(aws: dict[str, str], version: str) -> int:
    return int(
        boto3.client("dynamodb").query(
            TableName=aws["table"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": odds_partition("E0", version)}},
            Select="COUNT",
        )["Count"]
    )


def publish_with(aws: dict[str, str], key: str, client: Any, sleeps: list[float] | None = None) -> Any:
    writer = OddsWriter(aws["table"], client, sleep=(sleeps if sleeps is not None else []).append)
    return publish_posterior(aws["bucket"], key, boto3.client("s3"), writer)


def test_throttling_and_unprocessed_items_are_retried_with_backoff_until_written(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    key = put(aws, make_posterior(codes=SEVEN, version=V1))
    client = FaultyDynamo(boto3.client("dynamodb"), throttle_first=2, unprocess_every_other=True)
    sleeps: list[float] = []
    published = publish_with(aws, key, client, sleeps)
    assert published.promotion.outcome == "promoted" and current(aws) == V1
    assert stored_pairs(aws, V1) == 42
    assert client.calls > 4  # two throttled calls and several partial batches before everything landed
    assert sleeps[:3] == [0.05, 0.1, 0.2]  # exponential backoff between attempts of one batch


def test_items_that_never_get_written_fail_the_run_whole_and_the_pointer_stays(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    publish_with(aws, put(aws, make_posterior(codes=SEVEN, version=V1)), boto3.client("dynamodb"))
    key = put(aws, make_posterior(codes=SEVEN, version=V2, seed=5))
    client = FaultyDynamo(boto3.client("dynamodb"), never_process=True)
    sleeps: list[float] = []
    with pytest.raises(WriteIncomplete, match="25 items still unwritten after 8 attempts"):
        publish_with(aws, key, client, sleeps)
    assert len(sleeps) == 8 and sleeps[-1] == pytest.approx(min(0.05 * 2**7, 5.0))
    assert current(aws) == V1 and client.pointer_puts == []


def test_a_throttling_error_that_is_not_retryable_is_raised_at_once(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    """botocore's Stubber stands in for DynamoDB answering ValidationException: no retry, no pointer."""
    key = put(aws, make_posterior(version=V1))
    client = boto3.client("dynamodb")
    with Stubber(client) as stub:
        stub.add_response("get_item", {})  # no version is current yet
        stub.add_client_error("batch_write_item", "ValidationException", "Item size has exceeded the maximum")
        with pytest.raises(ClientError, match="ValidationException"):
            publish_with(aws, key, client)
        stub.assert_no_pending_responses()
    assert current(aws) is None


def test_a_crash_half_way_leaves_the_old_version_current_and_the_retry_completes(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    publish_with(aws, put(aws, make_posterior(codes=SEVEN, version=V1)), boto3.client("dynamodb"))
    key = put(aws, make_posterior(codes=SEVEN, version=V2, seed=9))
    crashing = FaultyDynamo(boto3.client("dynamodb"), crash_after_batches=1)
    with pytest.raises(Crash):
        publish_with(aws, key, crashing)
    assert current(aws) == V1 and stored_pairs(aws, V2) == 25  # half written, not visible to readers
    assert crashing.pointer_puts == []

    from services.query.repository import OddsReader

    odds, pointer = OddsReader(aws["table"], boto3.client("dynamodb")).fixture("E0", "ARS", "CHE")
    assert pointer["version"] == V1 and odds["p_home"] > 0  # the last good odds are still served

    retried = publish_with(aws, key, boto3.client("dynamodb"))  # SQS redelivers the message
    assert retried.promotion.outcome == "promoted" and retried.promotion.previous_version == V1
    assert current(aws) == V2 and stored_pairs(aws, V2) == 42


def test_out_of_order_and_repeated_versions_the_newest_wins_once(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    keys = {version: put(aws, make_posterior(version=version, seed=n)) for n, version in enumerate((V1, V2, V3))}
    client = FaultyDynamo(boto3.client("dynamodb"))
    outcomes = [publish_with(aws, keys[version], client).promotion.outcome for version in (V3, V1, V3, V2, V3)]
    assert outcomes == ["promoted", "superseded", "already-current", "superseded", "already-current"]
    assert current(aws) == V3
    assert client.pointer_attempts == [V3, V1, V3, V2, V3]  # every delivery tries, conditionally...
    assert client.pointer_puts == [V3]  # ...and the pointer moved once
    latest = json.loads(
        boto3.client("s3").get_object(Bucket=aws["bucket"], Key="exports/E0/latest.json")["Body"].read()
    )
    assert latest["model"]["version"] == V3
    for superseded in (V1, V2):
        assert "Contents" not in boto3.client("s3").list_objects_v2(
            Bucket=aws["bucket"], Prefix=f"exports/E0/{superseded}"
        )


# --- Events ---------------------------------------------------------------------------------------


def s3_record(bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    body = json.loads(load_event("sqs-s3-posterior.json")["Records"][0]["body"])
    record = body["Records"][0]
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = key
    return body


def sqs_batch(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs-s3-posterior.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"m{n}", "body": body} for n, body in enumerate(bodies)]}


@pytest.fixture
def fresh_handler() -> None:
    from services.precompute import handler

    handler._dependencies.cache_clear()
    yield
    handler._dependencies.cache_clear()


@pytest.mark.usefixtures("fresh_handler")
@pytest.mark.parametrize(
    "key",
    [
        "results/E0/2024-25.csv",
        "exports/E0/latest.json",
        "posteriors/E0/latest.npz",
        "posteriors/E0/20250526T060000Z.npz.tmp",
        "posteriors/E0/sub/20250526T060000Z.npz",
        "posteriors/../posteriors/E0/20250526T060000Z.npz",
        "posteriors/e0/20250526T060000Z.npz",
    ],
)
def test_keys_outside_the_posterior_layout_are_ignored_without_a_read(
    aws: dict[str, str], make_posterior: Callable[..., Posterior], key: str
) -> None:
    put(aws, make_posterior(version=V2))  # the real posterior exists: none of these keys may reach it
    event = sqs_batch(json.dumps(s3_record(aws["bucket"], key.replace("/", "%2F"))))
    assert lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert current(aws) is None


@pytest.mark.usefixtures("fresh_handler")
def test_url_encoded_keys_are_decoded_once(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    put(aws, make_posterior(version=V2))
    encoded = "posteriors%2FE0%2F20250526T060000Z.npz"
    assert lambda_handler(sqs_batch(json.dumps(s3_record(aws["bucket"], encoded))), CONTEXT) == {
        "batchItemFailures": []
    }
    assert current(aws) == V2
    twice = "posteriors%252FE0%252F20250526T060000Z.npz"  # decoded once it is not a posterior key
    assert lambda_handler(sqs_batch(json.dumps(s3_record(aws["bucket"], twice))), CONTEXT) == {"batchItemFailures": []}


@pytest.mark.usefixtures("fresh_handler")
def test_one_bad_record_among_good_ones_fails_alone(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    good_old, good_new = put(aws, make_posterior(version=V1)), put(aws, make_posterior(version=V3, seed=4))
    bucket = aws["bucket"]
    batch = sqs_batch(
        json.dumps(s3_record(bucket, good_old)),
        "this is not JSON",
        load_event("sqs-s3-test-event.json")["Records"][0]["body"],
        json.dumps(s3_record(bucket, posterior_key("E0", V2))),  # announced, but the object is not there
        json.dumps(s3_record(bucket, "results/E0/2024-25.csv")),
        json.dumps(s3_record(bucket, good_new)),
    )
    response = lambda_handler(batch, CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert current(aws) == V3 and stored_pairs(aws, V1) == 12 and stored_pairs(aws, V3) == 12
