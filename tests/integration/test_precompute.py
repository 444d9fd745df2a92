"""precompute against moto: every pair written before the flip, idempotent, never a step back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from matchodds.contract import (
    EXPIRES_ATTRIBUTE,
    MARKET_KEYS,
    Posterior,
    encode_posterior,
    odds_partition,
    pointer_key,
    posterior_key,
)
from matchodds.local import LambdaContext
from services.precompute.handler import lambda_handler
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
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
    items = version_items(aws, V1)
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
    item = version_items(aws, V1)[0]
    assert set(item["markets"]) == set(MARKET_KEYS) and len(item["markets"]["asian_handicap"]) == 21
    assert len(item["markets"]["correct_score"]) == 49
