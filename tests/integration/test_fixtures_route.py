"""GET /fixtures against moto: a fixtures file priced by the pricing Lambda, then asked for by date range."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from matchodds.core.items import fixture_item, fixtures_partition
from matchodds.core.posterior import Posterior
from matchodds.core.pricing import edge
from matchodds.core.results import Fixture
from services.pricing import handler as pricing_handler
from services.query import handler
from tests.conftest import DATA
from tests.integration.conftest import Reply, count_calls, publish
from tests.integration.test_pricing import put_and_price, read

pytestmark = pytest.mark.integration
VERSION = "20250526T060000Z"
FIXTURES_FILE = DATA / "football-data" / "E0-2024-25-fixtures.csv"
# The file's teams but Ipswich: its fixture gets an error of its own, the others their odds.
CODES = ("MUN", "FUL", "LIV", "ARS", "WOL", "EVE", "BHA", "NEW", "SOU", "NFO", "BOU")


@pytest.fixture
def uploaded(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> dict[str, Any]:
    """The shipped E0 fixtures (16 and 17 August 2024) priced by the pricing Lambda; its priced JSON."""
    pricing_handler._dependencies.cache_clear()
    publish(aws, make_posterior(codes=CODES, version=VERSION))
    reply = put_and_price(aws, "fixtures/E0/opening.csv", FIXTURES_FILE.read_bytes().decode("utf-8-sig"))
    assert reply == {"batchItemFailures": []}
    pricing_handler._dependencies.cache_clear()
    return dict(json.loads(read(aws, "priced/E0/opening.json")))


def stored_fixtures(aws: dict[str, str]) -> list[str]:
    response = boto3.client("dynamodb").query(
        TableName=aws["table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": fixtures_partition("E0")}},
    )
    return [item["sk"]["S"] for item in response["Items"]]


def test_a_date_range_gives_each_fixture_with_our_odds_and_every_bookmakers_prices_and_edges(
    api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    reply = api("GET", "/fixtures", "competition=e0&from=2024-08-16&to=2024-08-17")
    assert reply.status == 200
    body = reply.json()
    assert (body["competition"], body["from"], body["to"], body["selection"]) == (
        "E0",
        "2024-08-16",
        "2024-08-17",
        "range",
    )
    assert body["model"]["version"] == VERSION
    assert body["bookmakers"]["PS"] == "Pinnacle" and body["bookmakers"]["Avg"] == "market average"
    fixtures = body["fixtures"]
    assert [(f["date"], f["kickoff"], f["home"]["code"], f["away"]["code"]) for f in fixtures] == [
        ("2024-08-16", "20:00", "MUN", "FUL"),
        ("2024-08-17", "15:00", "ARS", "WOL"),
        ("2024-08-17", "15:00", "EVE", "BHA"),
        ("2024-08-17", "12:30", "IPS", "LIV"),
        ("2024-08-17", "15:00", "NEW", "SOU"),
        ("2024-08-17", "15:00", "NFO", "BOU"),
    ]
    ipswich = fixtures[3]
    assert ipswich["error"] == "unknown_team" and ipswich["teams"] == ["IPS"] and "probabilities" not in ipswich
    assert ipswich["message"] == "unknown team IPS in competition E0"

    # The same numbers as the single-fixture route and the pricing Lambda's own priced file.
    united = fixtures[0]
    single = api("GET", "/odds/MUN/FUL").json()
    assert united["probabilities"] == single["probabilities"] and united["fair_odds"] == single["fair_odds"]
    pinnacle = united["bookmakers"]["PS"]
    assert pinnacle["prices"] == {"home": 1.63, "draw": 4.38, "away": 5.3}
    assert pinnacle["edges"]["home"] == round(edge(1.63, single["probabilities"]["home"]), 6)
    assert united["bookmakers"]["P"]["prices"] == {"over_2_5": 1.56, "under_2_5": 2.56}
    priced_by_pair = {(f["home"], f["away"]): f for f in uploaded["fixtures"]}
    for fixture in fixtures:
        if "error" in fixture:
            continue
        priced = priced_by_pair[(fixture["home"]["code"], fixture["away"]["code"])]
        assert fixture["probabilities"] == priced["probabilities"]
        for book, entry in fixture["bookmakers"].items():
            assert entry["edges"] == pytest.approx(priced["edges"][book], abs=1e-6), book


def test_the_csv_is_the_priced_files_layout(api: Callable[..., Reply], uploaded: dict[str, Any]) -> None:
    reply = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-16&format=csv")
    assert reply.status == 200 and reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="E0-fixtures-2024-08-16-2024-08-16.csv"' in reply.headers["content-disposition"]
    [row] = list(csv.DictReader(io.StringIO(reply.text)))
    assert (row["Date"], row["Time"], row["HomeTeam"], row["AwayTeam"], row["PSH"]) == (
        "2024-08-16",
        "20:00",
        "MUN",
        "FUL",
        "1.63",
    )
    assert row["mo_version"] == VERSION and float(row["mo_edge_PSH"]) == pytest.approx(
        edge(1.63, float(row["mo_p_home"])), abs=1e-4
    )


def test_without_dates_the_next_round_else_the_last_one_uploaded(
    aws: dict[str, str], api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    # Nothing uploaded from today on: the last uploaded round, the four days up to its last fixture.
    body = api("GET", "/fixtures").json()
    assert (body["selection"], body["from"], body["to"]) == ("last_round", "2024-08-14", "2024-08-17")
    assert len(body["fixtures"]) == 6
    # Given `from` alone: the round from the first fixture on or after it.
    body = api("GET", "/fixtures", "from=2024-08-17").json()
    assert (body["selection"], body["from"], body["to"]) == ("next_round", "2024-08-17", "2024-08-20")
    assert len(body["fixtures"]) == 5

    # A round ahead, and another a fortnight later: the default is the first of them only.
    today = datetime.now(UTC).date()
    soon, later = today + timedelta(days=3), today + timedelta(days=17)
    text = (
        "Div,Date,Time,HomeTeam,AwayTeam,PSH,PSD,PSA\n"
        f"E0,{soon:%d/%m/%Y},15:00,Arsenal,Liverpool,2.5,3.4,2.9\n"
        f"E0,{soon + timedelta(days=1):%d/%m/%Y},16:30,Everton,Fulham,2.4,3.3,3.1\n"
        f"E0,{later:%d/%m/%Y},15:00,Liverpool,Arsenal,2.1,3.6,3.4\n"
    )
    pricing_handler._dependencies.cache_clear()
    assert put_and_price(aws, "fixtures/E0/ahead.csv", text) == {"batchItemFailures": []}
    body = api("GET", "/fixtures").json()
    assert (body["selection"], body["from"]) == ("next_round", soon.isoformat())
    assert [(f["home"]["code"], f["away"]["code"]) for f in body["fixtures"]] == [("ARS", "LIV"), ("EVE", "FUL")]


def test_an_upload_of_the_same_fixture_replaces_it_even_on_another_day(
    aws: dict[str, str], api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    assert len(stored_fixtures(aws)) == 6
    moved = "Div,Date,Time,HomeTeam,AwayTeam,PSH,PSD,PSA\nE0,20/08/2024,19:45,Man United,Fulham,1.7,4.0,5.0\n"
    pricing_handler._dependencies.cache_clear()
    assert put_and_price(aws, "fixtures/E0/moved.csv", moved) == {"batchItemFailures": []}
    keys = stored_fixtures(aws)
    assert len(keys) == 6 and "2024-08-20#MUN#FUL" in keys and "2024-08-16#MUN#FUL" not in keys
    [united] = api("GET", "/fixtures", "from=2024-08-20&to=2024-08-20").json()["fixtures"]
    assert united["kickoff"] == "19:45" and set(united["bookmakers"]) == {"PS"}
    assert united["bookmakers"]["PS"]["prices"] == {"home": 1.7, "draw": 4.0, "away": 5.0}


def test_a_competition_without_odds_stores_no_fixtures_and_plain_files_have_no_dates(aws: dict[str, str]) -> None:
    pricing_handler._dependencies.cache_clear()
    text = FIXTURES_FILE.read_bytes().decode("utf-8-sig")
    assert put_and_price(aws, "fixtures/E0/early.csv", text) == {"batchItemFailures": []}
    assert stored_fixtures(aws) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2024-13-01", "from '2024-13-01' is not a date as YYYY-MM-DD, such as 2025-08-16"),
        ("to=16/08/2024", "to '16/08/2024' is not a date as YYYY-MM-DD, such as 2025-08-16"),
        ("from=2024-08-17&to=2024-08-16", "to 2024-08-16 is before from 2024-08-17"),
        (
            "from=2024-01-01&to=2024-03-03",
            "from 2024-01-01 to 2024-03-03 spans 63 days; at most 62 are served at once",
        ),
        ("format=xml", "format 'xml' is not one of json, csv"),
        # Dates whose round (+3 days) overflowed the calendar were 500s; any day outside the days served is a 400.
        ("from=9999-12-29", "from 9999-12-29 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("from=9999-12-31&to=9999-12-31", "from 9999-12-31 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("to=9999-12-31", "to 9999-12-31 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("from=0001-01-01", "from 0001-01-01 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("from=1989-12-31&to=1990-01-01", "from 1989-12-31 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("from=2099-12-31&to=2100-01-01", "to 2100-01-01 is outside the dates served, 1990-01-01 to 2099-12-31"),
        ("limit=0", "limit '0' is not a whole number from 1 to 100"),
        ("limit=101", "limit '101' is not a whole number from 1 to 100"),
        ("limit=-1", "limit '-1' is not a whole number from 1 to 100"),
        ("cursor=%%%", "cursor '%%%' is not a cursor of GET /fixtures; take the `next` link of a reply"),
        (
            "from=2024-08-17&to=2024-08-17&cursor=MjAyNC0wOC0xNiNNVU4jRlVM",
            "cursor 'MjAyNC0wOC0xNiNNVU4j' is not in 2024-08-17 to 2024-08-17, the range asked for",
        ),
    ],
)
def test_bad_dates_are_400s_naming_the_parameter(
    api: Callable[..., Reply], uploaded: dict[str, Any], query: str, message: str
) -> None:
    reply = api("GET", "/fixtures", query)
    assert (reply.status, reply.json()) == (400, {"error": "bad_request", "message": message})


def test_a_competition_not_served_or_not_published(api: Callable[..., Reply], uploaded: dict[str, Any]) -> None:
    assert api("GET", "/fixtures", "competition=X9").status == 404
    reply = api("GET", "/fixtures", "competition=SP1")
    assert reply.status == 503 and reply.json()["error"] == "not_ready"


def test_a_day_with_nothing_uploaded_is_an_empty_list(api: Callable[..., Reply], uploaded: dict[str, Any]) -> None:
    body = api("GET", "/fixtures", f"from={date(2030, 1, 1).isoformat()}").json()
    assert (body["selection"], body["from"], body["to"], body["fixtures"]) == (
        "next_round",
        "2030-01-01",
        "2030-01-04",
        [],
    )


def test_the_documented_schema_and_example_match_a_real_reply(
    api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    from jsonschema import Draft202012Validator

    document = api("GET", "/openapi.json").json()
    operation = document["paths"]["/fixtures"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["competition", "from", "to", "limit", "cursor", "format"]
    content = operation["responses"]["200"]["content"]
    schema, example = content["application/json"]["schema"], content["application/json"]["example"]
    priced_branch, error_branch = schema["properties"]["fixtures"]["items"]["oneOf"]
    real = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-17").json()
    for reply in (example, real):
        Draft202012Validator(schema).validate(reply)
    items = [*example["fixtures"], *real["fixtures"]]
    assert sorted("error" in item for item in items) == [False] * 7 + [True]
    for item in items:
        matched = [Draft202012Validator(branch).is_valid(item) for branch in (priced_branch, error_branch)]
        assert matched == ["error" not in item, "error" in item], item
    # The example is two real fixtures of 2024-25 with football-data's pre-match prices, priced as the route does.
    assert [(f["home"]["code"], f["away"]["code"]) for f in example["fixtures"]] == [("LIV", "IPS"), ("ARS", "MCI")]
    assert example["fixtures"][1]["bookmakers"]["PS"]["prices"] == {"home": 1.93, "draw": 3.63, "away": 3.85}
    assert content["text/csv"]["example"].startswith("Div,Date,Time,HomeTeam,AwayTeam,B365H,")
    messages = {
        e["value"]["message"] for e in operation["responses"]["400"]["content"]["application/json"]["examples"].values()
    }
    assert api("GET", "/fixtures", "from=2025-08-17&to=2025-08-16").json()["message"] in messages


def test_the_first_and_last_days_served_answer_and_a_stored_day_near_the_calendars_end_is_no_500(
    aws: dict[str, str], api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    for query in ("from=1990-01-01&to=1990-01-01", "from=2099-12-31&to=2099-12-31", "from=2099-12-31"):
        reply = api("GET", "/fixtures", query)
        assert reply.status == 200 and reply.json()["fixtures"] == [], query
    # A fixture stored before dates were bounded, on the calendar's last day: the round after it ends there.
    far = fixture_item("E0", Fixture("E0", date.max, "MUN", "FUL"), [], "old.csv", uploaded="old")
    boto3.resource("dynamodb").Table(aws["table"]).put_item(Item=far)
    body = api("GET", "/fixtures", "from=2099-12-31").json()
    assert (body["selection"], body["from"], body["to"]) == ("next_round", "9999-12-31", "9999-12-31")
    assert [(f["date"], f["home"]["code"]) for f in body["fixtures"]] == [("9999-12-31", "MUN")]


def test_a_range_is_served_a_page_at_a_time_with_a_next_link_to_the_rest(
    api: Callable[..., Reply], uploaded: dict[str, Any]
) -> None:
    everything = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-17").json()
    assert everything["next"] is None and len(everything["fixtures"]) == 6
    pages, query = [], "from=2024-08-16&to=2024-08-17&limit=4"
    while True:
        reply = api("GET", "/fixtures", query)
        assert reply.status == 200
        page = reply.json()
        pages.append(page["fixtures"])
        if page["next"] is None:
            assert "link" not in reply.headers
            break
        assert reply.headers["link"] == f'<{page["next"]}>; rel="next"'
        path, _, query = page["next"].partition("?")
        assert path == "/fixtures" and "competition=E0" in query and "limit=4" in query
    assert [len(page) for page in pages] == [4, 2]
    assert [fixture for page in pages for fixture in page] == everything["fixtures"]
    # CSV pages the same way, the link in the header.
    reply = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-17&limit=5&format=csv")
    assert len(list(csv.DictReader(io.StringIO(reply.text)))) == 5
    following = reply.headers["link"].removeprefix("<").removesuffix('>; rel="next"')
    assert "format=csv" in following
    rest = api("GET", "/fixtures", following.partition("?")[2])
    assert [row["HomeTeam"] for row in csv.DictReader(io.StringIO(rest.text))] == ["NFO"]


def test_a_page_answers_from_the_odds_stored_at_pricing_reading_odds_only_for_an_older_version(
    aws: dict[str, str],
    api: Callable[..., Reply],
    uploaded: dict[str, Any],
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = count_calls(monkeypatch)
    first = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-17").json()
    assert calls.get("dynamodb:BatchGetItem", 0) == 0 and calls["dynamodb:Query"] == 1
    newer = "20250602T060000Z"
    publish(aws, make_posterior(codes=CODES, version=newer, seed=7))
    handler.reader.cache_clear()  # a new reader: no pointer cached from before the new version
    calls.clear()
    second = api("GET", "/fixtures", "from=2024-08-16&to=2024-08-17").json()
    assert second["model"]["version"] == newer and calls["dynamodb:BatchGetItem"] == 1
    single = api("GET", "/odds/MUN/FUL").json()
    assert second["fixtures"][0]["probabilities"] == single["probabilities"]
    assert second["fixtures"][0]["probabilities"] != first["fixtures"][0]["probabilities"]


def test_a_range_holding_more_fixtures_than_a_page_answers_a_page_with_one_query_and_one_batch_read(
    aws: dict[str, str],
    api: Callable[..., Reply],
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 132 fixtures (every pairing of twelve clubs) over twenty days of August 2024: a reply once held them all,
    # however many were uploaded, and priced each again. Now a page is 100, then the rest a link away.
    pricing_handler._dependencies.cache_clear()
    publish(aws, make_posterior(codes=(*CODES, "CHE"), version=VERSION))
    names = ["Arsenal", "Chelsea", "Liverpool", "Man City", "Man United", "Fulham", "Everton", "Brighton"]
    names += ["Newcastle", "Southampton", "Wolves", "Bournemouth"]
    pairs = [(home, away) for home in names for away in names if home != away]
    rows = [f"E0,{10 + i % 20:02d}/08/2024,15:00,{home},{away},2,3.4,3.9\n" for i, (home, away) in enumerate(pairs)]
    text = "Div,Date,Time,HomeTeam,AwayTeam,PSH,PSD,PSA\n" + "".join(rows)
    assert put_and_price(aws, "fixtures/E0/season.csv", text) == {"batchItemFailures": []}
    calls = count_calls(monkeypatch)
    first = api("GET", "/fixtures", "from=2024-08-01&to=2024-08-31")
    page = first.json()
    assert len(page["fixtures"]) == 100 and page["next"] is not None
    assert calls.get("dynamodb:Query") == 1 and calls.get("dynamodb:BatchGetItem", 0) == 0  # priced at upload
    calls.clear()
    rest = api("GET", "/fixtures", page["next"].partition("?")[2]).json()
    assert len(rest["fixtures"]) == 32 and rest["next"] is None and calls.get("dynamodb:Query") == 1
    served = [(f["date"], f["home"]["code"], f["away"]["code"]) for f in page["fixtures"] + rest["fixtures"]]
    assert served == sorted(served) and len(set(served)) == 132
