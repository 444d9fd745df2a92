"""The pricing Lambda against moto: a fixtures file put in S3 becomes priced/ CSV and JSON from the stored odds."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from entry.local.lambda_context import LambdaContext
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
from services.pricing import handler
from services.pricing.pipeline import price_object
from services.pricing.store import StoredOdds
from tests.conftest import load_event

pytestmark = pytest.mark.integration
CONTEXT = LambdaContext("matchodds-pricing")
VERSION = "20250526T060000Z"
FOOTBALL_DATA = (
    "Div,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A,B365>2.5,B365<2.5\r\n"
    "E0,24/05/2025,16:00,Arsenal,Chelsea,2.1,3.5,3.6,1.8,2.05\r\n"
    "E0,24/05/2025,16:00,Liverpool,Wolves,1.3,5.5,9,1.5,2.6\r\n"
    "SP1,24/05/2025,20:00,Barcelona,Getafe,1.2,7,13,1.5,2.6\r\n"
)


@pytest.fixture(autouse=True)
def fresh_clients() -> Any:
    handler._dependencies.cache_clear()
    yield
    handler._dependencies.cache_clear()


def publish(aws: dict[str, str], posterior: Posterior) -> None:
    key = posterior_key(posterior.competition, posterior.version)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(posterior))
    publish_posterior(aws["bucket"], key, s3, OddsWriter(aws["table"], boto3.client("dynamodb")))


def fixtures_event(aws: dict[str, str], key: str, uploaded: datetime | None = None) -> dict[str, Any]:
    """The sample SQS-delivered S3 event with its key (URL-encoded as S3 sends it) replaced, and its time the
    upload's (now, unless given), as S3 stamps it."""
    event = load_event("sqs-s3-fixtures.json")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["key"] = key.replace("/", "%2F").replace(" ", "+")
    body["Records"][0]["s3"]["bucket"]["name"] = aws["bucket"]
    body["Records"][0]["eventTime"] = (uploaded or datetime.now(UTC)).isoformat(timespec="milliseconds")
    event["Records"][0]["body"] = json.dumps(body)
    return event


def put_and_price(aws: dict[str, str], key: str, text: str) -> dict[str, Any]:
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=text.encode("utf-8"))
    return handler.lambda_handler(fixtures_event(aws, key), CONTEXT)


def read(aws: dict[str, str], key: str) -> str:
    return boto3.client("s3").get_object(Bucket=aws["bucket"], Key=key)["Body"].read().decode("utf-8")


def test_a_football_data_file_is_priced_from_the_stored_odds(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    publish(aws, make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version=VERSION))
    assert put_and_price(aws, "fixtures/E0/week-38.csv", FOOTBALL_DATA) == {"batchItemFailures": []}
    rows = list(csv.DictReader(io.StringIO(read(aws, "priced/E0/week-38.csv"))))
    assert [row["HomeTeam"] for row in rows] == ["Arsenal", "Liverpool", "Barcelona"]  # nothing dropped
    arsenal, liverpool, barcelona = rows
    stored = StoredOdds(aws["table"], boto3.client("dynamodb")).odds("E0", VERSION, [("ARS", "CHE")])[("ARS", "CHE")]
    assert arsenal["mo_version"] == VERSION and float(arsenal["mo_p_home"]) == pytest.approx(stored["p_home"], abs=1e-4)
    over = stored["markets"]["over"]["2.5"]
    assert float(arsenal["mo_p_over_2_5"]) == pytest.approx(over, abs=1e-4)
    assert float(arsenal["mo_p_btts"]) == pytest.approx(stored["markets"]["btts"], abs=1e-4)
    assert float(arsenal["mo_edge_B365H"]) == pytest.approx(2.1 * stored["p_home"] - 1, abs=1e-4)
    assert float(arsenal["mo_edge_B365_under_2_5"]) == pytest.approx(2.05 * (1 - over) - 1, abs=1e-4)
    assert liverpool["mo_p_home"] == "" and liverpool["mo_note"] == "unknown team WOL in competition E0"
    assert barcelona["mo_p_home"] == "" and "only E0" in barcelona["mo_note"]
    document = json.loads(read(aws, "priced/E0/week-38.json"))
    first = document["fixtures"][0]
    assert document["competition"] == "E0" and len(document["fixtures"]) == 3
    assert first["probabilities"]["home"] == pytest.approx(stored["p_home"])
    assert first["markets"]["over_2_5"]["probability"] == pytest.approx(over)
    assert first["edges"]["B365"]["home"] == pytest.approx(2.1 * stored["p_home"] - 1)
    assert document["fixtures"][1]["note"] == liverpool["mo_note"]


def test_a_plain_home_away_file_takes_codes_or_names(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    publish(aws, make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version=VERSION))
    assert (
        put_and_price(aws, "fixtures/E0/plain.csv", "home,away\nARS,CHE\nMan City,Liverpool\n")["batchItemFailures"]
        == []
    )
    rows = list(csv.DictReader(io.StringIO(read(aws, "priced/E0/plain.csv"))))
    assert [(row["home"], row["away"]) for row in rows] == [("ARS", "CHE"), ("Man City", "Liverpool")]
    assert all(row["mo_version"] == VERSION and row["mo_note"] == "" for row in rows)
    document = json.loads(read(aws, "priced/E0/plain.json"))
    assert [(f["home"], f["away"], f["date"]) for f in document["fixtures"]] == [
        ("ARS", "CHE", None),
        ("MCI", "LIV", None),
    ]


def test_a_competition_without_odds_yet_is_priced_with_a_note_on_every_row(aws: dict[str, str]) -> None:
    assert put_and_price(aws, "fixtures/E0/early.csv", FOOTBALL_DATA)["batchItemFailures"] == []
    rows = list(csv.DictReader(io.StringIO(read(aws, "priced/E0/early.csv"))))
    assert len(rows) == 3 and all(row["mo_p_home"] == "" for row in rows)
    assert rows[0]["mo_note"] == "no odds have been published for competition E0 yet"


def test_an_unreadable_file_writes_its_error_and_fails_its_record_only(aws: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    text = "Div,Date,HomeTeam,AwayTeam\nE0,24/05/2025,Arsenal,Chelsea\nE0,31/02/2025,Liverpool,Wolves\n"
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/broken.csv", Body=text.encode())
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/fine.csv", Body=b"home,away\nARS,CHE\n")
    broken, fine = (
        fixtures_event(aws, key)["Records"][0] for key in ("fixtures/E0/broken.csv", "fixtures/E0/fine.csv")
    )
    event = {"Records": [{**broken, "messageId": "broken"}, {**fine, "messageId": "fine"}]}
    assert handler.lambda_handler(event, CONTEXT) == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert "no odds have been published" in read(aws, "priced/E0/fine.csv")
    error = json.loads(read(aws, "priced/E0/broken.error.json"))
    assert error["error"] == "unreadable_fixtures" and error["line"] == 3 and "31/02/2025" in error["message"]
    listed = boto3.client("s3").list_objects_v2(Bucket=aws["bucket"], Prefix="priced/E0/broken")
    assert [entry["Key"] for entry in listed["Contents"]] == ["priced/E0/broken.error.json"]


def test_keys_outside_a_competitions_fixtures_and_test_events_are_ignored(aws: dict[str, str]) -> None:
    assert put_and_price(aws, "fixtures/readme.txt", "hello")["batchItemFailures"] == []
    assert handler.lambda_handler(load_event("sqs-s3-test-event.json"), CONTEXT) == {"batchItemFailures": []}
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws["bucket"], Prefix="priced/")


def test_more_than_a_hundred_fixtures_are_read_in_batches(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    codes = tuple(f"T{a}{b}" for a in "ABCDEFGHIJ" for b in "AB")  # 20 teams, 380 pairings
    publish(aws, make_posterior(codes=codes, version=VERSION, draws=10))
    text = "home,away\n" + "".join(f"{h},{a}\n" for h in codes for a in codes if h != a)
    calls: list[int] = []
    client = boto3.client("dynamodb")
    original = client.batch_get_item

    def counted(**kwargs: Any) -> Any:
        calls.append(len(kwargs["RequestItems"][aws["table"]]["Keys"]))
        return original(**kwargs)

    client.batch_get_item = counted  # type: ignore[method-assign]
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key="fixtures/E0/all.csv", Body=text.encode())
    written = price_object(aws["bucket"], "fixtures/E0/all.csv", boto3.client("s3"), StoredOdds(aws["table"], client))
    assert written == ["priced/E0/all.csv", "priced/E0/all.json"]
    assert calls == [100, 100, 100, 80]
    rows = list(csv.DictReader(io.StringIO(read(aws, "priced/E0/all.csv"))))
    assert len(rows) == 380 and all(row["mo_note"] == "" for row in rows)


def test_a_file_copied_into_the_bucket_is_priced_through_the_s3_event_and_the_poller(
    aws: dict[str, str], make_posterior: Callable[..., Posterior]
) -> None:
    from entry.local.event_sources import EventSourceMapping

    publish(aws, make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version=VERSION))
    poller = EventSourceMapping(
        aws["pricing_queue_url"], aws["pricing_queue_arn"], handler.lambda_handler, "matchodds-pricing"
    )
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key="fixtures/E0/copied-in.csv", Body=b"home,away\nARS,LIV\n")
    while poller.poll_once(wait_seconds=0):  # the s3:TestEvent of provisioning, then the file's event
        pass
    [row] = list(csv.DictReader(io.StringIO(read(aws, "priced/E0/copied-in.csv"))))
    assert row["mo_version"] == VERSION and row["mo_note"] == ""
    assert poller.poll_once(wait_seconds=0) == 0  # priced/ is not under fixtures/: no event for its own output
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws["pricing_dlq_url"])


def test_the_weekly_fit_still_reads_the_fixtures_prefix_with_a_plain_file_in_it(aws: dict[str, str]) -> None:
    """A plain home,away file dropped in for pricing must not break the fit, which reads the same prefix."""
    from matchodds.core.roster import season_roster
    from services.fit.main import load_fixtures

    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/plain.csv", Body=b"home,away\nARS,CHE\n")
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/week.csv", Body=FOOTBALL_DATA.encode())
    fixtures = load_fixtures(None, aws["bucket"], "E0", s3)
    assert [(f.home, f.away, f.date is None) for f in fixtures] == [
        ("ARS", "CHE", True),
        ("ARS", "CHE", False),
        ("LIV", "WOL", False),
    ]
    assert season_roster([], fixtures).season == "2024-25"  # the dated rows name the season; the plain one none


def test_an_s3_notification_gives_each_objects_upload_time_and_sequencer() -> None:
    body = json.loads(load_event("sqs-s3-fixtures.json")["Records"][0]["body"])
    [created] = handler.created_objects(body)
    assert (created.bucket, created.key, created.sequencer) == (
        "matchodds-local",
        "fixtures/E0/week-38.csv",
        "0055AED6DCD90281E5",
    )
    assert created.uploaded == datetime(2025, 5, 20, 9, tzinfo=UTC)
    del body["Records"][0]["eventTime"]  # then the object's LastModified orders the upload
    assert handler.created_objects(body)[0].uploaded is None
