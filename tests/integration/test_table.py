"""The season table (issue 21): precompute projects it with the version, GET /table serves it, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator

from matchodds.core.items import TABLE_FIELD, TABLE_SORT_KEY, odds_partition, pointer_key, table_key
from matchodds.core.keys import table_export_key
from matchodds.core.posterior import Posterior
from matchodds.core.season import SEASON_META_KEY, PlayedMatch, SeasonRecord
from tests.integration.conftest import PUBLISHED_VERSION, Reply, publish

pytestmark = pytest.mark.integration

CODES = ("ARS", "CHE", "LIV", "MCI")
LATER_VERSION = "20250602T060000Z"
PLAYED = (
    PlayedMatch(date(2024, 8, 17), "ARS", "CHE", 2, 0),
    PlayedMatch(date(2024, 8, 24), "LIV", "MCI", 1, 1),
    PlayedMatch(date(2024, 8, 31), "CHE", "LIV", 0, 3),
)


def with_season(posterior: Posterior) -> Posterior:
    record = SeasonRecord("2024-25", CODES, PLAYED)
    return replace(posterior, meta={**posterior.meta, SEASON_META_KEY: record.to_meta()})


@pytest.fixture
def projected(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Posterior:
    posterior = with_season(make_posterior(codes=CODES, version=PUBLISHED_VERSION))
    publish(aws, posterior)
    return posterior


def item(aws: dict[str, str], key: dict[str, str]) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(aws["table"])
    found: dict[str, Any] | None = table.get_item(Key=key).get("Item")
    return found


def test_precompute_writes_the_table_with_the_version_and_exports_it(aws: dict[str, str], projected: Posterior) -> None:
    stored = item(aws, table_key("E0", PUBLISHED_VERSION))
    assert stored is not None and stored["expires_at"] > 0  # expires with the version's odds
    pointer = item(aws, pointer_key("E0"))
    assert pointer is not None and pointer[TABLE_FIELD] is True
    s3 = boto3.client("s3")
    for version in (PUBLISHED_VERSION, "latest"):
        body = s3.get_object(Bucket=aws["bucket"], Key=table_export_key("E0", version, "json"))["Body"].read()
        document = json.loads(body)
        assert document["competition"] == "E0" and document["model"]["version"] == PUBLISHED_VERSION
        assert document["teams"] == json.loads(stored["table"])["teams"]
        rows = list(
            csv.DictReader(
                io.StringIO(
                    s3.get_object(Bucket=aws["bucket"], Key=table_export_key("E0", version, "csv"))["Body"]
                    .read()
                    .decode()
                )
            )
        )
        assert [row["code"] for row in rows] == [team["code"] for team in document["teams"]]
    assert table_export_key("E0", "latest", "json") == "exports/E0/latest-table.json"


def test_the_table_is_served_as_json(api: Callable[..., Reply], projected: Posterior) -> None:
    reply = api("GET", "/table", "competition=e0")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert document["competition"] == "E0" and document["model"]["version"] == PUBLISHED_VERSION
    assert (document["season"], document["through"]) == ("2024-25", "2024-08-31")
    assert document["simulations"] == 10_000 and document["remaining_matches"] == 12 - len(PLAYED)
    assert document["zones"] == {"title": 1, "europe": 4, "relegation": 3, "playoff": 0}
    teams = document["teams"]
    assert [team["code"] for team in teams] == ["LIV", "ARS", "MCI", "CHE"]  # 4, 3 (+2), 1, 0 points
    assert [team["position"] for team in teams] == [1, 2, 3, 4]
    liverpool = teams[0]
    assert (liverpool["name"], liverpool["played"], liverpool["won"], liverpool["drawn"]) == ("Team LIV", 2, 1, 1)
    assert (liverpool["goals_for"], liverpool["goals_against"], liverpool["points"]) == (4, 1, 4)
    assert sum(team["projection"]["p_title"] for team in teams) == pytest.approx(1.0, abs=1e-3)
    for team in teams:
        projection = team["projection"]
        assert len(projection["positions"]) == 4 and sum(projection["positions"]) == pytest.approx(1.0, abs=1e-3)
        assert projection["points_interval"]["low"] <= projection["expected_points"]
        assert projection["expected_points"] <= projection["points_interval"]["high"]
        assert projection["p_playoff"] is None  # the Premier League has no relegation play-off
    # The same version projects the same table: the seed is the version's.
    assert api("GET", "/table").json() == document


def test_the_table_is_served_as_csv(api: Callable[..., Reply], projected: Posterior) -> None:
    reply = api("GET", "/table", "format=csv")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/csv")
    assert f"E0-{PUBLISHED_VERSION}-table.csv" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    document = api("GET", "/table").json()
    assert [row["code"] for row in rows] == [team["code"] for team in document["teams"]]
    first, team = rows[0], document["teams"][0]
    assert float(first["p_title"]) == team["projection"]["p_title"] and first["p_playoff"] == ""
    assert [float(first[f"p_position_{n}"]) for n in range(1, 5)] == team["projection"]["positions"]
    assert api("GET", "/table", headers={"Accept": "text/csv"}).text == reply.text


def test_the_odds_table_holds_only_pairings(api: Callable[..., Reply], projected: Posterior) -> None:
    assert len(api("GET", "/odds").json()["fixtures"]) == len(CODES) * (len(CODES) - 1)


def test_a_version_without_a_season_serves_odds_and_no_table(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior
) -> None:
    assert item(aws, table_key("E0", PUBLISHED_VERSION)) is None
    assert api("GET", "/odds/ARS/CHE").status == 200
    reply = api("GET", "/table")
    assert reply.status == 404 and reply.json()["error"] == "no_table"
    assert PUBLISHED_VERSION in reply.json()["message"] and reply.json()["competition"] == "E0"


def test_table_refusals_are_the_other_routes(api: Callable[..., Reply], aws: dict[str, str]) -> None:
    assert api("GET", "/table").status == 503  # nothing published yet
    assert api("GET", "/table", "competition=X9").json()["error"] == "not_served"
    assert api("GET", "/table", "format=xml").status == 400


def test_a_later_version_brings_its_own_table_and_retires_the_old_one(
    aws: dict[str, str], api: Callable[..., Reply], projected: Posterior, make_posterior: Callable[..., Posterior]
) -> None:
    old_expiry = item(aws, table_key("E0", PUBLISHED_VERSION))["expires_at"]  # type: ignore[index]
    publish(aws, with_season(make_posterior(codes=CODES, version=LATER_VERSION, seed=2)))
    assert api("GET", "/table").json()["model"]["version"] == LATER_VERSION
    assert item(aws, table_key("E0", PUBLISHED_VERSION))["expires_at"] < old_expiry  # type: ignore[index]
    assert {TABLE_SORT_KEY} < {key["sk"] for key in partition_keys(aws, LATER_VERSION)}


def partition_keys(aws: dict[str, str], version: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(aws["table"])
    response = table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": odds_partition("E0", version)}
    )
    return [{"sk": entry["sk"]} for entry in response["Items"]]


def test_the_documented_schema_fits_the_example_and_a_real_reply(
    api: Callable[..., Reply], projected: Posterior
) -> None:
    document = api("GET", "/openapi.json").json()
    content = document["paths"]["/table"]["get"]["responses"]["200"]["content"]
    schema = content["application/json"]["schema"]
    for reply in (content["application/json"]["example"], api("GET", "/table").json()):
        Draft202012Validator(schema).validate(reply)
    assert content["text/csv"]["example"].startswith("competition,version,season,position,code")
    not_found = document["paths"]["/table"]["get"]["responses"]["404"]["content"]["application/json"]["examples"]
    assert not_found["no_season_table"]["value"]["error"] == "no_table"
