"""precompute against moto: every pair written before the flip, idempotent, never a step back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from adapters.posterior_store import PosteriorChanged, PosteriorObject
from entry.local.lambda_context import LambdaContext
from matchodds.core import grid
from matchodds.core.grid import ImplausibleOdds
from matchodds.core.items import EXPIRES_ATTRIBUTE, odds_from_item, odds_partition, pointer_key
from matchodds.core.keys import VERSION_FORMAT, ContractError, posterior_key
from matchodds.core.markets import MARKET_KEYS
from matchodds.core.posterior import (
    MAX_CLOCK_SKEW,
    MAX_POSTERIOR_BYTES,
    Posterior,
    encode_posterior,
)
from services.precompute import pipeline
from services.precompute.handler import lambda_handler, s3_objects
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
from services.query.repository import OddsReader
from tests.conftest import load_event

pytestmark = pytest.mark.integration
CONTEXT = LambdaContext("matchodds-precompute")
V1, V2 = "20250519T060000Z", "20250526T060000Z"


def put(aws: dict[str, str], posterior: Posterior) -> str:
    key = posterior_key(posterior.competition, posterior.version)
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(posterior))
    return key


def pointer(aws: dict[str, str], competition: str = "E0") -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(aws["table"])
    return table.get_item(Key=pointer_key(competition)).get("Item")


def version_items(aws: dict[str, str], version: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(aws["table"])
    return table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": odds_partition("E0", version)}
    )["Items"]


def sqs_event(aws: dict[str, str], *keys: str) -> dict[str, Any]:
    template = load_event("sqs-s3-posterior.json")["Records"][0]
    records = []
    for number, key in enumerate(keys):
        body = json.loads(template["body"])
        body["Records"][0]["s3"]["object"]["key"] = key.replace("/", "%2F")
        body["Records"][0]["s3"]["bucket"]["name"] = aws["bucket"]
        records.append({**template, "messageId": f"message-{number}", "body": json.dumps(body)})
    return {"Records": records}


def writer(aws: dict[str, str]) -> OddsWriter:
    return OddsWriter(aws["table"], boto3.client("dynamodb"), sleep=lambda _: None)


def test_writes_every_pair_then_flips_the_pointer(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    posterior = make_posterior(version=V1)
    key = put(aws, posterior)
    published = publish_posterior(aws["bucket"], key, boto3.client("s3"), writer(aws))
    assert published is not None and published.pairs == 12 and published.promotion.outcome == "promoted"
    items = [odds_from_item(item) for item in version_items(aws, V1)]
    assert len(items) == 12 and {(i["home"], i["away"]) for i in items} == {
        (h, a) for h in posterior.team_codes for a in posterior.team_codes if h != a
    }
    current = pointer(aws)
    assert current is not None and current["version"] == V1 and current["data_through"] == "2025-05-25"
    assert [team["code"] for team in current["teams"]] == list(posterior.team_codes)


def test_the_pointer_moves_only_after_the_last_item(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    client = boto3.client("dynamodb")
    seen_pointer_during_writes = []
    real_batch_write = client.batch_write_item

    def watching_batch_write(**kwargs: Any) -> dict[str, Any]:
        seen_pointer_during_writes.append(pointer(aws))
        return real_batch_write(**kwargs)

    client.batch_write_item = watching_batch_write  # type: ignore[method-assign]
    posterior = make_posterior(
        codes=("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY"), version=V1
    )  # 42 pairs: 2 batches
    publish_posterior(aws["bucket"], put(aws, posterior), boto3.client("s3"), OddsWriter(aws["table"], client))
    assert len(seen_pointer_during_writes) == 2 and seen_pointer_during_writes == [None, None]
    assert pointer(aws)["version"] == V1  # type: ignore[index]


def test_items_go_to_the_writer_as_they_are_made_and_the_pointer_after_the_last(
    aws: dict[str, str], make_posterior: Callable[..., Posterior], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No list of every item: each batch of 25 is written before the next is made (memory, not order, is the point)."""
    made: list[str] = []
    real_odds_item = pipeline.odds_item

    def counted_odds_item(*args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(f"{args[2]}#{args[3]}")
        return real_odds_item(*args, **kwargs)

    monkeypatch.setattr(pipeline, "odds_item", counted_odds_item)
    client = boto3.client("dynamodb")
    made_at_each_write: list[int] = []
    real_batch_write = client.batch_write_item

    def watching_batch_write(**kwargs: Any) -> dict[str, Any]:
        made_at_each_write.append(len(made))
        return real_batch_write(**kwargs)

    client.batch_write_item = watching_batch_write  # type: ignore[method-assign]
    posterior = make_posterior(codes=("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY"), version=V1)  # 42 pairs
    published = publish_posterior(
        aws["bucket"], put(aws, posterior), boto3.client("s3"), OddsWriter(aws["table"], client)
    )
    assert made_at_each_write == [25, 42] and published is not None and published.pairs == 42
    assert sorted(made) == sorted(item["sk"] for item in version_items(aws, V1)) and pointer(aws)["version"] == V1  # type: ignore[index]


def test_the_same_event_twice_gives_the_same_result(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    key = put(aws, make_posterior(version=V1))
    event = sqs_event(aws, key)
    assert lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    first = sorted(version_items(aws, V1), key=lambda item: item["sk"])
    assert lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    again = sorted(version_items(aws, V1), key=lambda item: item["sk"])
    strip = lambda items: [{k: v for k, v in i.items() if k != EXPIRES_ATTRIBUTE} for i in items]  # noqa: E731
    assert strip(first) == strip(again) and pointer(aws)["version"] == V1  # type: ignore[index]


def test_an_older_version_never_replaces_a_newer_one(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    new, old = put(aws, make_posterior(version=V2)), put(aws, make_posterior(version=V1, seed=7))
    assert lambda_handler(sqs_event(aws, new), CONTEXT) == {"batchItemFailures": []}
    assert lambda_handler(sqs_event(aws, old), CONTEXT) == {"batchItemFailures": []}
    assert pointer(aws)["version"] == V2  # type: ignore[index]
    new_expiry = min(item[EXPIRES_ATTRIBUTE] for item in version_items(aws, V2))
    old_expiry = max(item[EXPIRES_ATTRIBUTE] for item in version_items(aws, V1))
    assert old_expiry < new_expiry  # the loser is retired at once, the current version is not


def test_a_newer_version_retires_the_previous_one(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V2))), CONTEXT)
    assert pointer(aws)["version"] == V2  # type: ignore[index]
    assert max(i[EXPIRES_ATTRIBUTE] for i in version_items(aws, V1)) < min(
        i[EXPIRES_ATTRIBUTE] for i in version_items(aws, V2)
    )


def test_a_corrupt_posterior_fails_its_record_and_leaves_the_current_odds(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    good = put(aws, make_posterior(version=V1))
    lambda_handler(sqs_event(aws, good), CONTEXT)
    broken = posterior_key("E0", V2)
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=broken, Body=b"PK\x03\x04 truncated")
    response = lambda_handler(sqs_event(aws, good, broken), CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert pointer(aws)["version"] == V1 and version_items(aws, V2) == []  # type: ignore[index]


def test_keys_that_are_not_posteriors_and_test_events_are_ignored(aws: dict[str, str]) -> None:
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key="posteriors/E0/notes.txt", Body=b"x")
    assert lambda_handler(sqs_event(aws, "posteriors/E0/notes.txt"), CONTEXT) == {"batchItemFailures": []}
    assert lambda_handler(load_event("sqs-s3-test-event.json"), CONTEXT) == {"batchItemFailures": []}
    assert pointer(aws) is None


def test_url_encoded_keys_are_decoded(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    event = load_event("sqs-s3-posterior.json")  # the key arrives as posteriors%2FE0%2F20250526T060000Z.npz
    put(aws, make_posterior(version=V2))
    assert lambda_handler(event, CONTEXT) == {"batchItemFailures": []}
    assert pointer(aws)["version"] == V2  # type: ignore[index]


def s3_object(aws: dict[str, str], key: str) -> bytes | None:
    try:
        return boto3.client("s3").get_object(Bucket=aws["bucket"], Key=key)["Body"].read()
    except boto3.client("s3").exceptions.NoSuchKey:
        return None


def test_exports_are_written_after_the_flip(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    s3 = boto3.client("s3")
    pointer_at_each_put: list[tuple[str, str | None]] = []
    real_put = s3.put_object

    def watching_put(**kwargs: Any) -> Any:
        current = pointer(aws)
        pointer_at_each_put.append((kwargs["Key"], current["version"] if current else None))
        return real_put(**kwargs)

    s3.put_object = watching_put  # type: ignore[method-assign]
    posterior = make_posterior(version=V1)
    key = put(aws, posterior)
    published = publish_posterior(aws["bucket"], key, s3, writer(aws))
    assert published is not None
    expected = [f"exports/E0/{V1}.csv", f"exports/E0/{V1}.json", "exports/E0/latest.csv", "exports/E0/latest.json"]
    assert published.exports == expected
    assert pointer_at_each_put == [(name, V1) for name in expected]  # every export after the pointer moved
    table = json.loads(s3_object(aws, "exports/E0/latest.json") or b"")
    assert table["model"]["version"] == V1 and len(table["fixtures"]) == 12
    assert s3_object(aws, "exports/E0/latest.json") == s3_object(aws, f"exports/E0/{V1}.json")
    rows = list(csv.DictReader(io.StringIO((s3_object(aws, "exports/E0/latest.csv") or b"").decode())))
    assert [(row["home"], row["away"]) for row in rows] == [(row["home"], row["away"]) for row in table["fixtures"]]
    assert float(rows[0]["p_home"]) == table["fixtures"][0]["p_home"]
    head = boto3.client("s3").head_object(Bucket=aws["bucket"], Key="exports/E0/latest.csv")
    assert head["ContentType"].startswith("text/csv")


def test_exports_match_the_api(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    from services.query import handler
    from tests.integration.conftest import invoke

    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    handler.reader.cache_clear()
    assert json.loads(s3_object(aws, "exports/E0/latest.json") or b"") == invoke("GET", "/odds").json()
    assert (s3_object(aws, "exports/E0/latest.csv") or b"").decode() == invoke("GET", "/odds", "format=csv").text
    handler.reader.cache_clear()


def test_a_superseded_version_exports_nothing(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V2))), CONTEXT)
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1, seed=7))), CONTEXT)
    assert s3_object(aws, f"exports/E0/{V1}.csv") is None and s3_object(aws, f"exports/E0/{V1}.json") is None
    assert json.loads(s3_object(aws, "exports/E0/latest.json") or b"")["model"]["version"] == V2


def test_a_newer_version_replaces_latest_and_keeps_the_old_file(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V2, seed=3))), CONTEXT)
    assert json.loads(s3_object(aws, "exports/E0/latest.json") or b"")["model"]["version"] == V2
    assert json.loads(s3_object(aws, f"exports/E0/{V1}.json") or b"")["model"]["version"] == V1


def test_a_retry_after_a_failed_export_writes_it(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    s3 = boto3.client("s3")
    key = put(aws, make_posterior(version=V1))
    real_put = s3.put_object
    s3.put_object = lambda **kwargs: (_ for _ in ()).throw(RuntimeError("S3 down"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        publish_posterior(aws["bucket"], key, s3, writer(aws))
    assert pointer(aws)["version"] == V1 and s3_object(aws, "exports/E0/latest.csv") is None  # type: ignore[index]
    s3.put_object = real_put  # type: ignore[method-assign]
    again = publish_posterior(aws["bucket"], key, s3, writer(aws))
    assert again is not None and again.promotion.outcome == "already-current" and len(again.exports) == 4


def test_exports_do_not_trigger_precompute(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    messages = (
        boto3.client("sqs").receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    )
    keys = [json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"] for m in messages if "Records" in m["Body"]]
    assert keys and all(key.startswith("posteriors") for key in keys)  # the posterior's own event only


def test_items_carry_every_market(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    item = odds_from_item(version_items(aws, V1)[0])
    assert set(item["markets"]) == set(MARKET_KEYS) and len(item["markets"]["asian_handicap"]) == 21
    assert len(item["markets"]["correct_score"]) == 49


# --- Versions from the future -----------------------------------------------------------------------
FUTURE = "99991231T235959Z"
NOW = datetime(2025, 5, 26, 6, 0, tzinfo=UTC)


def rewritten(blob: bytes, meta: dict[str, Any] | None = None, **arrays: np.ndarray) -> bytes:
    """A posterior's file with meta fields and arrays replaced, as a buggy or hostile writer would (no validation)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        content = {name: npz[name] for name in npz.files}
    content["meta"] = np.array(json.dumps({**json.loads(str(content["meta"][()])), **(meta or {})}))
    content.update({f"draws/{name}": value for name, value in arrays.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **content)
    return buffer.getvalue()


def failed(event: dict[str, Any]) -> list[str]:
    """The ids of the records the handler failed: SQS retries them, then moves them to the (alarmed) DLQ."""
    try:
        response = lambda_handler(event, CONTEXT)
    except BatchProcessingError:  # every record failed: the invocation fails and SQS retries them all
        return [record["messageId"] for record in event["Records"]]
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_far_future_version_is_refused_and_later_versions_are_still_promoted(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    """99991231T235959Z once pinned the pointer: every real version after it was silently superseded."""
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    future = posterior_key("E0", FUTURE)
    body = rewritten(encode_posterior(make_posterior()), {"version": FUTURE, "created_at": "9999-12-31T23:59:59+00:00"})
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=future, Body=body)
    assert failed(sqs_event(aws, future)) == ["message-0"]
    assert pointer(aws)["version"] == V1 and version_items(aws, FUTURE) == []  # type: ignore[index]
    assert lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V2))), CONTEXT) == {"batchItemFailures": []}
    assert pointer(aws)["version"] == V2  # type: ignore[index]


def test_a_version_ahead_of_the_clock_by_more_than_the_skew_is_refused(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    clocked = OddsWriter(aws["table"], boto3.client("dynamodb"), sleep=lambda _: None, clock=NOW.timestamp)
    at_the_limit = (NOW + MAX_CLOCK_SKEW).strftime(VERSION_FORMAT)
    beyond = (NOW + MAX_CLOCK_SKEW + timedelta(seconds=1)).strftime(VERSION_FORMAT)
    s3 = boto3.client("s3")
    published = publish_posterior(aws["bucket"], put(aws, make_posterior(version=at_the_limit)), s3, clocked)
    assert published is not None and published.promotion.outcome == "promoted"
    with pytest.raises(ContractError, match=f"posterior version {beyond} is from the future"):
        publish_posterior(aws["bucket"], put(aws, make_posterior(version=beyond)), s3, clocked)
    assert pointer(aws)["version"] == at_the_limit and version_items(aws, beyond) == []  # type: ignore[index]


def test_a_version_that_is_not_its_own_creation_time_is_refused(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    key = posterior_key("E0", V2)
    body = rewritten(encode_posterior(make_posterior(version=V2)), {"created_at": "2025-05-19T06:00:00+00:00"})
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=body)
    with pytest.raises(ContractError, match=f"posterior version {V2} is not its created_at 2025-05-19T06:00:00"):
        publish_posterior(aws["bucket"], key, boto3.client("s3"), writer(aws))
    assert pointer(aws) is None


# --- Implausible posteriors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draws", "problem"),
    [
        ({"rho": np.full((2, 50), 0.95, np.float32)}, "draws of rho reach 0.95"),  # P(0-0) = -0.053 was served
        ({"intercept": np.full((2, 50), -4.0, np.float32)}, "draws of intercept reach -4"),  # 0.03 xg, a 95 % draw
    ],
    ids=["rho-0.95", "intercept--4"],
)
def test_implausible_posteriors_fail_their_record_and_write_nothing(
    aws: dict[str, str], make_posterior: Callable[..., Posterior], draws: dict[str, np.ndarray], problem: str
) -> None:
    lambda_handler(sqs_event(aws, put(aws, make_posterior(version=V1))), CONTEXT)
    key = posterior_key("E0", V2)
    boto3.client("s3").put_object(
        Bucket=aws["bucket"], Key=key, Body=rewritten(encode_posterior(make_posterior(version=V2)), **draws)
    )
    assert failed(sqs_event(aws, key)) == ["message-0"]
    with pytest.raises(ContractError, match=problem):
        publish_posterior(aws["bucket"], key, boto3.client("s3"), writer(aws))
    assert pointer(aws)["version"] == V1 and version_items(aws, V2) == []  # type: ignore[index]


def test_a_score_grid_that_is_not_a_distribution_is_refused_before_any_dynamodb_write(
    aws: dict[str, str], make_posterior: Callable[..., Posterior], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Precompute's own check, should a grid break past the contract and the grid maths' own bounds."""
    broken = make_posterior(version=V1)
    broken.draws["rho"] = np.full_like(broken.draws["intercept"], 0.95)  # unbounded, P(0-0) < 0
    key = put(aws, make_posterior(version=V1))
    monkeypatch.setattr(pipeline, "decode_posterior", lambda blob, now=None: broken)  # the contract let it through
    monkeypatch.setattr(grid, "held_rho", lambda *rates_and_rho: rates_and_rho[-1])  # the maths lost its hold on rho
    client = boto3.client("dynamodb")
    writes: list[dict[str, Any]] = []
    real_batch_write = client.batch_write_item

    def watching_batch_write(**kwargs: Any) -> dict[str, Any]:
        writes.append(kwargs)
        return real_batch_write(**kwargs)

    client.batch_write_item = watching_batch_write  # type: ignore[method-assign]
    with pytest.raises(ImplausibleOdds, match="score grid of ARS v CHE is not a probability distribution: cells -0"):
        publish_posterior(aws["bucket"], key, boto3.client("s3"), OddsWriter(aws["table"], client))
    assert writes == [] and pointer(aws) is None and version_items(aws, V1) == []


# --- A version's object may not change under it ------------------------------------------------------


def queued(aws: dict[str, str]) -> list[dict[str, Any]]:
    """The S3 notifications moto put on the precompute queue, as Lambda's SQS records (s3:TestEvent left out)."""
    sqs, records = boto3.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
            if "Records" in json.loads(message["Body"]):
                records.append(
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": {},
                        "messageAttributes": {},
                        "md5OfBody": message["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": aws["queue_arn"],
                        "awsRegion": "us-east-1",
                    }
                )
    return records


def deliver(record: dict[str, Any]) -> list[str]:
    """One SQS record through the precompute handler; the ids of the failed records."""
    return failed({"Records": [record]})


def announced(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(record["body"])["Records"][0]["s3"]["object"]


def served(aws: dict[str, str]) -> tuple[Any, ...]:
    """Everything a reader sees of E0: a fixture with its pointer, every item, the exports."""
    odds, current = OddsReader(aws["table"], boto3.client("dynamodb")).fixture("E0", "ARS", "MCI")
    exports = [
        s3_object(aws, f"exports/E0/{name}") for name in (f"{V1}.csv", f"{V1}.json", "latest.csv", "latest.json")
    ]
    return odds, current, sorted(version_items(aws, V1), key=lambda item: item["sk"]), exports


@pytest.fixture
def fresh_handler() -> Any:
    from services.precompute import handler

    handler._dependencies.cache_clear()
    yield
    handler._dependencies.cache_clear()


@pytest.mark.usefixtures("fresh_handler")
def test_an_overwritten_current_version_is_refused_and_what_is_served_stays(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    s3, key = boto3.client("s3"), posterior_key("E0", V1)
    etag = s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(make_posterior(version=V1)))["ETag"]
    (first,) = queued(aws)
    assert announced(first)["eTag"] == etag.strip('"')  # moto's events carry the ETag unquoted, as S3's do
    assert deliver(first) == []
    assert pointer(aws)["source"] == {"bucket": aws["bucket"], "key": key, "etag": etag.strip('"')}  # type: ignore[index]
    before = served(aws)

    other = encode_posterior(make_posterior(version=V1, seed=99, intercept=0.6))  # different draws, same version
    new_etag = s3.put_object(Bucket=aws["bucket"], Key=key, Body=other)["ETag"].strip('"')
    (overwrite,) = queued(aws)
    assert announced(overwrite)["eTag"] == new_etag != etag.strip('"')
    assert deliver(overwrite) == [overwrite["messageId"]]  # retried, then dead-lettered: the alarm
    with pytest.raises(PosteriorChanged, match=f"ETag {new_etag}.* is not the object version {V1} was published from"):
        publish_posterior(aws["bucket"], key, s3, writer(aws), etag=new_etag)
    assert served(aws) == before  # items, pointer and exports untouched


@pytest.mark.usefixtures("fresh_handler")
def test_an_event_whose_object_was_overwritten_since_is_refused_and_the_new_objects_event_is_published(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    """The read is conditional on the event's ETag: what is computed is the object the event describes."""
    s3, key = boto3.client("s3"), posterior_key("E0", V1)
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(make_posterior(version=V1)))
    replacement = make_posterior(version=V1, seed=99, intercept=0.6)
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(replacement))
    stale, fresh = queued(aws)
    assert deliver(stale) == [stale["messageId"]]
    with pytest.raises(PosteriorChanged, match="is no longer the object its event announced"):
        publish_posterior(aws["bucket"], key, s3, writer(aws), etag=announced(stale)["eTag"])
    assert pointer(aws) is None and version_items(aws, V1) == []
    assert deliver(fresh) == []
    current = pointer(aws)
    assert current is not None and current["source"]["etag"] == announced(fresh)["eTag"]
    odds, _ = OddsReader(aws["table"], boto3.client("dynamodb")).fixture("E0", "ARS", "MCI")
    draws = replacement.draws
    xg = np.exp(draws["intercept"] + draws["home"] / 2 + draws["attack"][..., 0] + draws["defence"][..., 3]).mean()
    assert odds["xg_home"] == pytest.approx(float(xg), rel=1e-5)  # the replacement's odds, not the first object's


@pytest.mark.usefixtures("fresh_handler")
def test_on_a_versioned_bucket_the_pointer_records_the_object_version_and_an_overwrite_is_refused(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    s3, key = boto3.client("s3"), posterior_key("E0", V1)
    s3.put_bucket_versioning(Bucket=aws["bucket"], VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(make_posterior(version=V1)))
    (event,) = queued(aws)
    assert deliver(event) == []
    assert pointer(aws)["source"]["version_id"] == first["VersionId"]  # type: ignore[index]
    before = served(aws)
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(make_posterior(version=V1, seed=99)))
    (overwrite,) = queued(aws)
    assert deliver(overwrite) == [overwrite["messageId"]]
    assert served(aws) == before
    # S3 puts the VersionId in its events on a versioned bucket (moto does not): an event naming the first
    # object, redelivered now, is refused as well, even if the same bytes were written again (same ETag).
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(make_posterior(version=V1)))
    queued(aws)
    body = json.loads(event["body"])
    body["Records"][0]["s3"]["object"]["versionId"] = first["VersionId"]
    with pytest.raises(PosteriorChanged, match=f"is now object version .*, not {first['VersionId']}"):
        publish_posterior(aws["bucket"], key, s3, writer(aws), etag=first["ETag"], version_id=first["VersionId"])
    assert deliver({**event, "body": json.dumps(body)}) == [event["messageId"]]
    assert served(aws) == before


def test_a_current_version_whose_pointer_records_no_object_is_refused(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    """A pointer written before ETags were recorded cannot show that an object is the one it published."""
    key = put(aws, make_posterior(version=V1))
    publish_posterior(aws["bucket"], key, boto3.client("s3"), writer(aws))
    boto3.resource("dynamodb").Table(aws["table"]).update_item(
        Key=pointer_key("E0"), UpdateExpression="REMOVE #s", ExpressionAttributeNames={"#s": "source"}
    )
    with pytest.raises(PosteriorChanged, match="its pointer records no ETag"):
        publish_posterior(aws["bucket"], key, boto3.client("s3"), writer(aws))


def test_the_events_etag_and_version_id_are_read() -> None:
    body = json.loads(load_event("sqs-s3-posterior.json")["Records"][0]["body"])
    body["Records"][0]["s3"]["object"].update(eTag="0123abcd", versionId="v-7")
    assert s3_objects(body) == [
        PosteriorObject("matchodds-local", "posteriors/E0/20250526T060000Z.npz", etag="0123abcd", version_id="v-7")
    ]


# --- An object too large to be a posterior ----------------------------------------------------------


class Unread:
    """A body that must not be read."""

    def __init__(self) -> None:
        self.closed = False

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body of an oversized object was read")

    def close(self) -> None:
        self.closed = True


def test_an_object_larger_than_any_posterior_is_refused_before_its_body_is_read(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    key, s3 = put(aws, make_posterior(version=V1)), boto3.client("s3")
    real_get = s3.get_object
    body = Unread()

    def huge_get(**kwargs: Any) -> dict[str, Any]:
        return {**real_get(**kwargs), "ContentLength": MAX_POSTERIOR_BYTES + 1, "Body": body}

    s3.get_object = huge_get  # type: ignore[method-assign]
    with pytest.raises(ContractError, match=f"is {MAX_POSTERIOR_BYTES + 1:,} bytes, more than a posterior's"):
        publish_posterior(aws["bucket"], key, s3, writer(aws))
    assert body.closed and pointer(aws) is None
