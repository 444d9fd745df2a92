"""Broken posteriors: refused by precompute, dead-lettered by SQS after its retries, the current odds served.

The DLQ test runs the local stack's own path: moto in server mode as AWS, the bucket's S3 -> SQS
notification, the queue's redrive policy (PRECOMPUTE_MAX_RECEIVES), and entry.local.event_sources' poller
handing each message to the real precompute handler as Lambda's event-source mapping does.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from entry.local.event_sources import EventSourceMapping
from entry.local.provision import LocalNames, provision
from entry.local.stack import wait_for_version
from matchodds.core.items import PRECOMPUTE_MAX_RECEIVES, odds_partition
from matchodds.core.keys import ContractError, posterior_key
from matchodds.core.posterior import Posterior, decode_posterior, encode_posterior

GOOD = "20250519T060000Z"
Arrays = dict[str, np.ndarray]


def corrupt(blob: bytes, change: Callable[[Arrays], None]) -> bytes:
    """A correctly encoded posterior with one defect written into it, as a buggy writer would."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _meta_without(field: str) -> Callable[[Arrays], None]:
    def change(arrays: Arrays) -> None:
        meta = json.loads(str(arrays["meta"][()]))
        del meta[field]
        arrays["meta"] = np.array(json.dumps(meta))

    return change


def _nan_draw(arrays: Arrays) -> None:
    attack = arrays["draws/attack"].copy()
    attack[1, 7, 2] = np.nan
    arrays["draws/attack"] = attack


def _flattened_chains(arrays: Arrays) -> None:
    arrays["draws/intercept"] = arrays["draws/intercept"].reshape(-1)


def _draws_for_fewer_teams(arrays: Arrays) -> None:
    arrays["draws/defence"] = arrays["draws/defence"][..., :-1]


def _an_extra_team(arrays: Arrays) -> None:
    arrays["team_codes"] = np.append(arrays["team_codes"], "NEW")
    arrays["team_names"] = np.append(arrays["team_names"], "Newcomers")


def _names_shorter_than_codes(arrays: Arrays) -> None:
    arrays["team_names"] = arrays["team_names"][:-1]


def _no_defence(arrays: Arrays) -> None:
    del arrays["draws/defence"]


def _no_team_codes(arrays: Arrays) -> None:
    del arrays["team_codes"]


def _integer_draws(arrays: Arrays) -> None:
    arrays["draws/home"] = arrays["draws/home"].astype(np.int64)


def _absurd_rates(arrays: Arrays) -> None:
    arrays["draws/intercept"] = arrays["draws/intercept"] + 5.0


def _negative_low_scores(arrays: Arrays) -> None:
    arrays["draws/rho"] = np.full_like(arrays["draws/intercept"], 0.95)  # served P(0-0) = -0.053


def _an_unknown_member(arrays: Arrays) -> None:
    arrays["draws/bomb"] = np.zeros(1000)


# (version, defect, what the refusal says)
DEFECTS = [
    ("20250601T060000Z", _flattened_chains, "intercept draws have shape (100,), not (chains, draws)"),
    ("20250602T060000Z", _nan_draw, "draws of attack are not all finite numbers"),
    ("20250603T060000Z", _meta_without("data_window"), "posterior meta lacks ['data_window']"),
    ("20250604T060000Z", _no_defence, "posterior lacks draws of ['defence']"),
    ("20250605T060000Z", _no_team_codes, "posterior lacks ['team_codes']"),
    ("20250606T060000Z", _draws_for_fewer_teams, "draws of defence have shape (2, 50, 3), expected (2, 50, 4)"),
    ("20250607T060000Z", _an_extra_team, "draws of attack have shape (2, 50, 4), expected (2, 50, 5)"),
    ("20250608T060000Z", _names_shorter_than_codes, "team names do not match team codes"),
    ("20250609T060000Z", _integer_draws, "draws of home are not all finite numbers"),
    ("20250610T060000Z", _absurd_rates, "draws of intercept reach 5.41, outside the plausible [-1.6, 1.8]"),
    ("20250611T060000Z", _negative_low_scores, "draws of rho reach 0.95, outside the plausible [-0.5, 0.5]"),
    ("20250612T060000Z", _an_unknown_member, "posterior holds unknown members 'draws/bomb.npy'"),
]


def broken_posterior(make_posterior: Callable[..., Posterior], version: str, defect: Callable[[Arrays], None]) -> bytes:
    return corrupt(encode_posterior(make_posterior(version=version)), defect)


@pytest.mark.unit
@pytest.mark.parametrize(("version", "defect", "problem"), DEFECTS, ids=[d[1].__name__ for d in DEFECTS])
def test_precompute_refuses_each_defect_saying_what_it_is(
    make_posterior: Callable[..., Posterior], version: str, defect: Callable[[Arrays], None], problem: str
) -> None:
    with pytest.raises(ContractError) as refused:
        decode_posterior(broken_posterior(make_posterior, version, defect))
    assert problem in str(refused.value)


@pytest.mark.unit
@pytest.mark.parametrize("blob", [b"", b"not a zip", b"PK\x03\x04" + bytes(64)])
def test_bytes_that_are_not_a_posterior_are_refused(blob: bytes) -> None:
    with pytest.raises(ContractError, match="not a readable npz"):
        decode_posterior(blob)


@pytest.fixture
def local_stack(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto in server mode on loopback, provisioned by the code the demo uses (1 s visibility timeout)."""
    from moto.server import ThreadedMotoServer

    from services.precompute import handler

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # any free port
    server.start()
    port = server.get_host_and_port()[1]
    # moto's backends live in the process: a server started earlier in it left its state.
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    handler._dependencies.cache_clear()
    try:
        names = LocalNames()
        yield {"bucket": names.bucket, "table": names.table, **provision(names, visibility_timeout=1)}
    finally:
        handler._dependencies.cache_clear()
        server.stop()


def queue_depth(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.mark.e2e
def test_broken_posteriors_end_in_the_dead_letter_queue_after_their_retries_and_the_odds_stay(
    local_stack: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    from services.precompute.handler import lambda_handler
    from services.query.repository import OddsReader

    deliveries: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    def counting_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            for notification in json.loads(record["body"]).get("Records", []):  # none in s3:TestEvent
                deliveries[unquote_plus(notification["s3"]["object"]["key"])] += 1
        try:
            response = lambda_handler(event, context)
        except BatchProcessingError:  # every record failed: the invocation fails, as Lambda reports it
            failures.update(record["messageId"] for record in event["Records"])
            raise
        failures.update(failure["itemIdentifier"] for failure in response["batchItemFailures"])
        return response

    def deliver(wait_seconds: int) -> int:
        """One poll of the event-source mapping; a failed invocation leaves its message to SQS."""
        try:
            return poller.poll_once(wait_seconds=wait_seconds)
        except BatchProcessingError:
            return 1

    s3, bucket = boto3.client("s3"), local_stack["bucket"]
    poller = EventSourceMapping(local_stack["queue_url"], local_stack["queue_arn"], counting_handler)
    s3.put_object(Bucket=bucket, Key=posterior_key("E0", GOOD), Body=encode_posterior(make_posterior(version=GOOD)))
    while deliver(wait_seconds=2):  # the s3:TestEvent sent when the notification was set, then GOOD
        pass
    assert wait_for_version(local_stack["table"], "E0", timeout=5) == GOOD
    reader = OddsReader(local_stack["table"], boto3.client("dynamodb"))
    served_before, _ = reader.fixture("E0", "ARS", "MCI")

    for version, defect, _ in DEFECTS:
        s3.put_object(
            Bucket=bucket, Key=posterior_key("E0", version), Body=broken_posterior(make_posterior, version, defect)
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and queue_depth(local_stack["queue_url"]) > 0:
        deliver(wait_seconds=1)

    dead = []
    while True:
        messages = boto3.client("sqs").receive_message(
            QueueUrl=local_stack["dlq_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        if not messages.get("Messages"):
            break
        for message in messages["Messages"]:
            dead.append(unquote_plus(json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"]))
            boto3.client("sqs").delete_message(QueueUrl=local_stack["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
    broken_keys = sorted(posterior_key("E0", version) for version, _, _ in DEFECTS)
    assert sorted(dead) == broken_keys  # every broken posterior is waiting there, visible to the alarm
    assert all(deliveries[key] == PRECOMPUTE_MAX_RECEIVES for key in broken_keys), deliveries
    assert sum(failures.values()) == PRECOMPUTE_MAX_RECEIVES * len(DEFECTS)

    fresh = OddsReader(local_stack["table"], boto3.client("dynamodb"))
    served_after, pointer = fresh.fixture("E0", "ARS", "MCI")
    assert pointer["version"] == GOOD and served_after == served_before
    for version, _, _ in DEFECTS:
        partition = odds_partition("E0", version)
        found = boto3.client("dynamodb").query(
            TableName=local_stack["table"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
            Select="COUNT",
        )
        assert found["Count"] == 0, version  # not one odds item of a refused version


@pytest.mark.e2e
def test_an_unreadable_fixtures_file_ends_in_the_pricing_dead_letter_queue_with_its_error_file(
    local_stack: dict[str, str],
) -> None:
    from matchodds.core.keys import PRICING_MAX_RECEIVES
    from services.pricing import handler

    handler._dependencies.cache_clear()  # the clients of an earlier test point at another endpoint
    deliveries: Counter[str] = Counter()

    def counting_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            for notification in json.loads(record["body"]).get("Records", []):  # none in s3:TestEvent
                deliveries[unquote_plus(notification["s3"]["object"]["key"])] += 1
        return dict(handler.lambda_handler(event, context))

    poller = EventSourceMapping(
        local_stack["pricing_queue_url"], local_stack["pricing_queue_arn"], counting_handler, "matchodds-pricing"
    )

    def deliver(wait_seconds: int) -> int:
        try:
            return poller.poll_once(wait_seconds=wait_seconds)
        except BatchProcessingError:  # the one record failed: the invocation fails and SQS keeps the message
            return 1

    s3, bucket = boto3.client("s3"), local_stack["bucket"]
    s3.put_object(Bucket=bucket, Key="fixtures/E0/broken.csv", Body=b"Div,Date,HomeTeam\nE0,24/05/2025,Arsenal\n")
    s3.put_object(Bucket=bucket, Key="fixtures/E0/fine.csv", Body=b"home,away\nARS,CHE\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and queue_depth(local_stack["pricing_queue_url"]) > 0:
        deliver(wait_seconds=1)
    try:
        dead = boto3.client("sqs").receive_message(QueueUrl=local_stack["pricing_dlq_url"], WaitTimeSeconds=1)
        [message] = dead["Messages"]
        assert (
            unquote_plus(json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"]) == "fixtures/E0/broken.csv"
        )
        assert deliveries["fixtures/E0/broken.csv"] == PRICING_MAX_RECEIVES and deliveries["fixtures/E0/fine.csv"] == 1
        error = json.loads(s3.get_object(Bucket=bucket, Key="priced/E0/broken.error.json")["Body"].read())
        assert error["line"] == 1 and "missing column(s) AwayTeam" in error["message"]
        fine = s3.get_object(Bucket=bucket, Key="priced/E0/fine.csv")["Body"].read().decode()
        assert "no odds have been published for competition E0 yet" in fine  # priced all the same, row kept
    finally:
        handler._dependencies.cache_clear()
