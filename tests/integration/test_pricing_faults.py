"""The pricing Lambda against moto, fed what a careless or hostile upload gives it: it always leaves priced files
or an error file, never a crash that hides the file, and the latest upload of a fixture wins whatever order
the uploads are handled in."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from matchodds.core.items import fixtures_partition
from matchodds.core.keys import priced_key
from matchodds.core.posterior import Posterior
from matchodds.core.results import MAX_FILE_BYTES
from services.pricing import handler
from services.pricing import pipeline as pricing_pipeline
from services.pricing.pipeline import FixturesUnreadable, price_object
from services.pricing.store import StoredOdds
from tests.integration.test_pricing import CONTEXT, VERSION, fixtures_event, publish

pytestmark = pytest.mark.integration
HEADER = "Div,Date,Time,HomeTeam,AwayTeam,PSH,PSD,PSA\n"
CODES = ("ARS", "CHE", "LIV", "MCI", "MUN", "FUL")


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    handler._dependencies.cache_clear()
    yield
    handler._dependencies.cache_clear()


@pytest.fixture
def published(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> None:
    publish(aws, make_posterior(codes=CODES, version=VERSION))


def put(aws: dict[str, str], key: str, text: str) -> None:
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=key, Body=text.encode("utf-8"))


def price(aws: dict[str, str], key: str, uploaded: datetime | None = None) -> dict[str, Any]:
    return handler.lambda_handler(fixtures_event(aws, key, uploaded), CONTEXT)


def priced_keys(aws: dict[str, str]) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=aws["bucket"], Prefix="priced/")
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def error_document(aws: dict[str, str], competition: str, name: str) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=priced_key(competition, name, "error.json"))["Body"]
    document: dict[str, Any] = json.loads(body.read())
    return document


def stored_days(aws: dict[str, str], home: str, away: str) -> list[str]:
    """The days on which the table holds home v away."""
    response = boto3.client("dynamodb").query(
        TableName=aws["table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": fixtures_partition("E0")}},
        ConsistentRead=True,
    )
    items = [item for item in response["Items"] if (item["home"]["S"], item["away"]["S"]) == (home, away)]
    return [item["date"]["S"] for item in items]


def test_a_file_with_an_impossible_date_gets_an_error_file_naming_its_line(
    aws: dict[str, str], published: None
) -> None:
    # Nine fixtures of one day and one dated 31/12/9999: the file, which crashed pricing after the priced
    # files (the fixture's expiry, its season's end overflowed) and left no error file. The parser refuses such a
    # date with its line now, and the items no longer overflow on one (tests/unit/test_fixture_items.py).
    day = date.today() + timedelta(days=5)
    pairs = [(h, a) for h in ("Arsenal", "Chelsea", "Liverpool") for a in ("Man City", "Man United", "Fulham")]
    rows = [f"E0,{day:%d/%m/%Y},15:00,{home},{away},2.0,3.4,3.9\n" for home, away in pairs]
    put(aws, "fixtures/E0/far.csv", HEADER + "".join(rows) + "E0,31/12/9999,15:00,Man City,Arsenal,2,3.4,3.9\n")
    s3, odds = boto3.client("s3"), StoredOdds(aws["table"], boto3.client("dynamodb"))
    with pytest.raises(FixturesUnreadable, match="far.csv, line 11"):
        price_object(aws["bucket"], "fixtures/E0/far.csv", s3, odds)
    error = error_document(aws, "E0", "far")
    assert error["error"] == "unreadable_fixtures" and error["line"] == 11, error
    assert "fixtures/E0/far.csv" in error["message"] and "31/12/9999" in error["message"], error
    assert priced_keys(aws) == ["priced/E0/far.error.json"] and stored_days(aws, "ARS", "MCI") == []


def test_a_file_over_the_size_limit_gets_an_error_file_and_is_never_read(
    aws: dict[str, str], published: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = "E0,16/08/2025,15:00,Arsenal,Chelsea,2.0,3.4,3.9\n"
    put(aws, "fixtures/E0/huge.csv", HEADER + row * (MAX_FILE_BYTES // len(row) + 1))
    s3 = boto3.client("s3")
    bodies: list[Any] = []
    real_get = s3.get_object

    def get_object(**kwargs: Any) -> Any:
        response = real_get(**kwargs)
        bodies.append(response["Body"])
        return response

    monkeypatch.setattr(s3, "get_object", get_object)
    with pytest.raises(FixturesUnreadable, match="huge.csv"):
        price_object(aws["bucket"], "fixtures/E0/huge.csv", s3, StoredOdds(aws["table"], boto3.client("dynamodb")))
    error = error_document(aws, "E0", "huge")
    assert error["error"] == "unreadable_fixtures" and error["line"] is None and "huge.csv" in error["message"]
    assert [body._amount_read for body in bodies] == [0]  # refused on its length, not a byte read
    assert priced_keys(aws) == ["priced/E0/huge.error.json"]


def test_a_throttled_table_fails_the_record_for_a_retry_without_an_error_file(
    aws: dict[str, str], published: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(aws, "fixtures/E0/week.csv", HEADER + "E0,16/08/2025,15:00,Arsenal,Chelsea,2.0,3.4,3.9\n")
    dynamodb = boto3.client("dynamodb")

    def throttled(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(dynamodb, "get_item", throttled)
    with pytest.raises(ClientError, match="ThrottlingException"):
        price_object(aws["bucket"], "fixtures/E0/week.csv", boto3.client("s3"), StoredOdds(aws["table"], dynamodb))
    assert priced_keys(aws) == []


def test_a_fixture_that_cannot_be_stored_leaves_the_others_stored_and_an_error_file_naming_it(
    aws: dict[str, str], published: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_item = pricing_pipeline.fixture_item

    def overflowing(competition: str, fixture: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if fixture.home == "MCI":  # as the expiry of a far date overflowed before it was bounded
            raise OverflowError("date value out of range")
        return real_item(competition, fixture, *args, **kwargs)

    monkeypatch.setattr(pricing_pipeline, "fixture_item", overflowing)
    rows = "E0,16/08/2025,15:00,Arsenal,Chelsea,2.0,3.4,3.9\nE0,16/08/2025,17:30,Man City,Fulham,1.4,5,8\n"
    put(aws, "fixtures/E0/week.csv", HEADER + rows)
    assert price(aws, "fixtures/E0/week.csv") == {"batchItemFailures": []}
    assert priced_keys(aws) == ["priced/E0/week.csv", "priced/E0/week.error.json", "priced/E0/week.json"]
    assert stored_days(aws, "ARS", "CHE") == ["2025-08-16"] and stored_days(aws, "MCI", "FUL") == []
    error = error_document(aws, "E0", "week")
    assert error["error"] == "unstored_fixtures" and "1 fixture(s) priced but not stored" in error["message"]
    assert error["fixtures"] == [
        {"home": "MCI", "away": "FUL", "message": "MCI v FUL on 2025-08-16: date value out of range"}
    ]


@pytest.mark.parametrize("order", [(5, 4, 3, 2, 1, 0), (2, 5, 0, 3, 1, 4), (0, 1, 2, 3, 4, 5)])
def test_the_latest_upload_of_a_moved_fixture_wins_whatever_order_pricing_handles_them_in(
    aws: dict[str, str], published: None, order: tuple[int, ...]
) -> None:
    # Six uploads, a second apart, each putting MUN v FUL on another day of the season; ARS v CHE rides along.
    first = datetime(2025, 8, 1, 9, tzinfo=UTC)
    for upload in range(6):
        day = date(2025, 8, 16) + timedelta(days=upload)
        rows = f"E0,{day:%d/%m/%Y},15:00,Man United,Fulham,1.7,4,5\nE0,{day:%d/%m/%Y},12:30,Arsenal,Chelsea,2,3.4,3.9\n"
        put(aws, f"fixtures/E0/move-{upload}.csv", HEADER + rows)
    for upload in order:
        reply = price(aws, f"fixtures/E0/move-{upload}.csv", first + timedelta(seconds=upload))
        assert reply == {"batchItemFailures": []}
    assert stored_days(aws, "MUN", "FUL") == stored_days(aws, "ARS", "CHE") == ["2025-08-21"]


def test_an_upload_handled_twice_or_at_the_same_moment_as_another_is_stored_once(
    aws: dict[str, str], published: None
) -> None:
    moment = datetime(2025, 8, 1, 9, tzinfo=UTC)
    put(aws, "fixtures/E0/a.csv", HEADER + "E0,16/08/2025,15:00,Man United,Fulham,1.7,4,5\n")
    put(aws, "fixtures/E0/b.csv", HEADER + "E0,17/08/2025,15:00,Man United,Fulham,1.7,4,5\n")
    for key in ("fixtures/E0/a.csv", "fixtures/E0/b.csv", "fixtures/E0/a.csv", "fixtures/E0/b.csv"):
        assert price(aws, key, moment) == {"batchItemFailures": []}
    assert len(stored_days(aws, "MUN", "FUL")) == 1  # ties broken by the key: never both days, never neither
