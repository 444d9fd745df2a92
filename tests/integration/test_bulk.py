"""POST /odds and GET /odds against moto: one batch read, per-fixture errors, JSON and CSV, input refused first."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from matchodds.core.documents import TABLE_COLUMNS
from matchodds.core.posterior import Posterior
from services.query.repository import OddsReader, OddsUnavailable
from tests.integration.conftest import Reply, count_calls, publish

pytestmark = pytest.mark.integration
CODES = ("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY", "EVE", "FUL", "IPS", "LEI", "LIV")  # 132 pairs


def post(api: Callable[..., Reply], fixtures: Any, query_string: str = "") -> Reply:
    return api("POST", "/odds", query_string, body=fixtures if isinstance(fixtures, str) else json.dumps(fixtures))


def test_bulk_odds_in_one_batch_read_with_per_fixture_errors(
    api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    asked = [
        {"home": "ars", "away": "MCI"},
        {"home": "LIV", "away": "XYZ"},
        {"home": "CHE", "away": "LIV"},
        {"home": "ARS", "away": "MCI"},  # the same fixture twice is answered twice, read once
        {"home": "QQQ", "away": "ZZZ"},
    ]
    reply = post(api, asked)
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["competition"] == "E0" and body["model"]["version"] == published.version
    fixtures = body["fixtures"]
    assert [(f["home"]["code"], f["away"]["code"]) for f in fixtures] == [
        ("ARS", "MCI"),
        ("LIV", "XYZ"),
        ("CHE", "LIV"),
        ("ARS", "MCI"),
        ("QQQ", "ZZZ"),
    ]
    assert (
        fixtures[1]["error"] == "unknown_team" and fixtures[1]["teams"] == ["XYZ"] and "XYZ" in fixtures[1]["message"]
    )
    assert fixtures[4]["teams"] == ["QQQ", "ZZZ"] and fixtures[1]["home"]["name"] == "Team LIV"
    assert calls == {"dynamodb:GetItem": 1, "dynamodb:BatchGetItem": 1}  # the pointer, then one batch read
    single = api("GET", "/odds/ARS/MCI").json()
    assert fixtures[0] == fixtures[3] == {k: v for k, v in single.items() if k not in ("competition", "model")}
    assert fixtures[2]["markets"]["asian_handicap"][10]["line"] == 0


def test_a_hundred_fixtures_is_one_batch_get(
    api: Callable[..., Reply],
    aws: dict[str, str],
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish(aws, make_posterior(codes=CODES, version="20250526T060000Z"))
    pairs = [{"home": h, "away": a} for h in CODES for a in CODES if h != a][:100]
    calls = count_calls(monkeypatch)
    reply = post(api, pairs)
    assert reply.status == 200 and len(reply.json()["fixtures"]) == 100
    assert all("error" not in fixture for fixture in reply.json()["fixtures"])
    assert calls["dynamodb:BatchGetItem"] == 1
    assert post(api, pairs + pairs[:1]).json()["message"] == "the body must list 1 to 100 fixtures, not 101"


def test_unprocessed_keys_are_retried(aws: dict[str, str], published: Posterior) -> None:
    client = boto3.client("dynamodb")
    real = client.batch_get_item
    replies: list[int] = []

    def one_at_a_time(**kwargs: Any) -> dict[str, Any]:
        keys = kwargs["RequestItems"][aws["table"]]["Keys"]
        answer = real(RequestItems={aws["table"]: {"Keys": keys[:1]}})
        if keys[1:]:
            answer["UnprocessedKeys"] = {aws["table"]: {"Keys": keys[1:]}}
        replies.append(len(keys))
        return answer

    client.batch_get_item = one_at_a_time  # type: ignore[method-assign]
    sleeps: list[float] = []
    reader = OddsReader(aws["table"], client, sleep=sleeps.append)
    found, _ = reader.fixtures("E0", [("ARS", "MCI"), ("LIV", "CHE"), ("CHE", "ARS")])
    assert set(found) == {("ARS", "MCI"), ("LIV", "CHE"), ("CHE", "ARS")} and replies == [3, 2, 1]
    assert sleeps == sorted(sleeps) and len(sleeps) == 2  # backing off

    def never(**kwargs: Any) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": {aws["table"]: kwargs["RequestItems"][aws["table"]]}}

    client.batch_get_item = never  # type: ignore[method-assign]
    with pytest.raises(OddsUnavailable):
        OddsReader(aws["table"], client, max_attempts=3, sleep=lambda _: None).fixtures("E0", [("ARS", "MCI")])


@pytest.mark.parametrize(
    ("body", "query_string", "needle"),
    [
        ("", "", "must be a JSON list"),
        ("[{", "", "not JSON"),
        ('{"home": "ARS", "away": "MCI"}', "", "not an object"),
        ("[]", "", "1 to 100 fixtures, not 0"),
        ('[{"home": "ARS"}]', "", 'fixtures[0] must be an object with exactly "home" and "away"'),
        ('[{"home": "ARS", "away": "MCI", "at": "x"}]', "", "fixtures[0] must be an object"),
        ('["ARS-MCI"]', "", "fixtures[0] must be an object"),
        ('[{"home": "ARS", "away": "MCI"}, {"home": 1, "away": "MCI"}]', "", "fixtures[1]: home and away must be"),
        ('[{"home": "ARS", "away": "MCI"}, {"home": "ARSENAL", "away": "MCI"}]', "", "fixtures[1].home 'ARSENAL'"),
        ('[{"home": "ARS", "away": "ars"}]', "", "fixtures[0]: a team cannot play itself"),
        ('[{"home": "ARS", "away": "MCI"}]', "competition=E0;x", "competition"),
    ],
)
def test_bad_bulk_requests_are_400s_before_any_read(
    api: Callable[..., Reply],
    published: Posterior,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    query_string: str,
    needle: str,
) -> None:
    calls = count_calls(monkeypatch)
    reply = post(api, body, query_string)
    assert reply.status == 400 and reply.json()["error"] == "bad_request"
    assert needle in reply.json()["message"]
    assert calls == {}


def test_bulk_for_a_competition_with_nothing_published(api: Callable[..., Reply], published: Posterior) -> None:
    reply = post(api, [{"home": "ARS", "away": "MCI"}], "competition=SP1")
    assert reply.status == 503 and reply.json()["error"] == "not_ready"


def test_the_whole_table_as_json_and_csv(
    api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    table = api("GET", "/odds", "competition=e0")
    assert table.status == 200 and table.headers["content-type"] == "application/json"
    document = table.json()
    assert document["competition"] == "E0" and document["model"]["version"] == published.version
    rows = document["fixtures"]
    assert len(rows) == 12 and document["columns"] == list(TABLE_COLUMNS)
    assert [(r["home"], r["away"]) for r in rows] == sorted((r["home"], r["away"]) for r in rows)
    # the pointer; the rows are the version's export (test_odds_table_exports.py)
    assert calls == {"dynamodb:GetItem": 1, "s3:GetObject": 1}
    single = api("GET", "/odds/CHE/LIV").json()
    row = next(r for r in rows if (r["home"], r["away"]) == ("CHE", "LIV"))
    assert row["p_home"] == single["probabilities"]["home"] and row["home_name"] == "Team CHE"
    assert row["odds_ah_home_-0.75"] == single["markets"]["asian_handicap"][7]["home"]["fair_odds"]
    assert row["odds_over_2.5"] == single["markets"]["over_under"][2]["over"]["fair_odds"]

    as_csv = api("GET", "/odds", "format=csv")
    assert as_csv.status == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert f'filename="E0-{published.version}.csv"' in as_csv.headers["content-disposition"]
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(parsed) == 12 and float(parsed[0]["p_home"]) == rows[0]["p_home"]
    assert api("GET", "/odds", headers={"Accept": "text/csv"}).text == as_csv.text
    assert api("GET", "/odds", headers={"Accept": "application/json;q=0.5, text/csv"}).text == as_csv.text
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert api("GET", "/odds", headers={"Accept": browser}).headers["content-type"] == "application/json"
    assert api("GET", "/odds", "format=JSON", headers={"Accept": "text/csv"}).json()["fixtures"] == rows


def test_table_errors(api: Callable[..., Reply], published: Posterior) -> None:
    reply = api("GET", "/odds", "format=xml")
    assert reply.status == 400 and "format 'xml'" in reply.json()["message"]
    assert api("GET", "/odds", "competition=D1").status == 503
    assert api("GET", "/odds", "competition=..").status == 400


def test_a_stale_pointer_is_read_afresh(
    aws: dict[str, str], published: Posterior, make_posterior: Callable[..., Posterior]
) -> None:
    reader = OddsReader(aws["table"], boto3.client("dynamodb"))
    assert reader.pointer("E0")["version"] == published.version
    publish(aws, make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version="20250602T060000Z", seed=5))
    table = boto3.resource("dynamodb").Table(aws["table"])
    for home in ("ARS", "CHE", "LIV", "MCI"):  # the old version expires under the cached pointer
        for away in ("ARS", "CHE", "LIV", "MCI"):
            if home != away:
                table.delete_item(Key={"pk": f"ODDS#E0#{published.version}", "sk": f"{home}#{away}"})
    found, pointer = reader.fixtures("E0", [("ARS", "MCI")])
    assert pointer["version"] == "20250602T060000Z" and ("ARS", "MCI") in found
    rows, pointer = reader.table_odds("E0")
    assert len(rows) == 12 and pointer["version"] == "20250602T060000Z"
