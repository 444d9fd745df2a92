"""The query API against moto: the odds as published, and every error a user can cause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from matchodds.core.posterior import Posterior
from tests.integration.conftest import Reply

pytestmark = pytest.mark.integration


@pytest.fixture
def query(api: Callable[..., Reply]) -> Callable[..., tuple[int, dict[str, Any]]]:
    def call(path: str, query_string: str = "") -> tuple[int, dict[str, Any]]:
        reply = api("GET", path, query_string)
        return reply.status, reply.json()

    return call


def test_nothing_published_yet_is_a_503(query: Callable[..., Any]) -> None:
    status, body = query("/odds/ARS/MCI")
    assert status == 503 and body["error"] == "not_ready" and "E0" in body["message"]
    assert query("/teams")[0] == 503


def test_fixture_odds(query: Callable[..., Any], published: Posterior) -> None:
    status, body = query("/odds/ARS/MCI", "competition=E0")
    assert status == 200
    assert body["home"] == {"code": "ARS", "name": "Team ARS"} and body["away"]["code"] == "MCI"
    p = body["probabilities"]
    assert p["home"] + p["draw"] + p["away"] == pytest.approx(1, abs=3e-6)
    assert body["fair_odds"]["home"] == pytest.approx(1 / p["home"], rel=1e-5)
    assert body["model"]["version"] == published.version and body["model"]["data_through"] == "2025-05-25"
    assert body["model"]["fitted_at"] == published.meta["created_at"]
    assert set(body["expected_goals"]) == {"home", "away"} and "-" in body["most_likely_score"]["score"]


def test_codes_are_case_insensitive(query: Callable[..., Any], published: Posterior) -> None:
    assert query("/odds/ars/mci")[1]["probabilities"] == query("/odds/ARS/MCI")[1]["probabilities"]
    assert query("/odds/ARS/MCI", "competition=e0")[0] == 200


def test_unknown_team_is_a_404_naming_it(query: Callable[..., Any], published: Posterior) -> None:
    status, body = query("/odds/ARS/XYZ")
    assert status == 404 and body["teams"] == ["XYZ"] and "XYZ" in body["message"]
    status, body = query("/odds/QQQ/ZZZ")
    assert status == 404 and body["teams"] == ["QQQ", "ZZZ"]


@pytest.mark.parametrize(
    ("path", "query_string", "needle"),
    [
        ("/odds/ARS/ARS", "", "cannot play itself"),
        ("/odds/ars/Ars", "", "cannot play itself"),
        ("/odds/ARSENAL/MCI", "", "three-letter"),
        ("/odds/A1S/MCI", "", "three-letter"),
        ("/odds/ARS/MCI", "competition=E0;DROP", "competition"),
        ("/odds/ARS/MCI", "competition=", "competition"),
        ("/teams", "competition=%2F..", "competition"),
    ],
)
def test_malformed_requests_are_400s(
    query: Callable[..., Any], published: Posterior, path: str, query_string: str, needle: str
) -> None:
    status, body = query(path, query_string)
    assert status == 400 and body["error"] == "bad_request" and needle in body["message"]


def test_a_competition_with_nothing_published_is_a_503(query: Callable[..., Any], published: Posterior) -> None:
    status, body = query("/odds/ARS/MCI", "competition=SP1")
    assert status == 503 and "SP1" in body["message"]


def test_teams(query: Callable[..., Any], published: Posterior) -> None:
    status, body = query("/teams")
    assert status == 200 and [t["code"] for t in body["teams"]] == ["ARS", "CHE", "LIV", "MCI"]
    assert body["model"]["version"] == published.version


def test_unknown_route_is_a_404_not_a_500(query: Callable[..., Any], published: Posterior) -> None:
    assert query("/nothing/here")[0] == 404


def test_one_or_two_reads_per_request(aws: dict[str, str], published: Posterior) -> None:
    client = boto3.client("dynamodb")
    calls: list[str] = []
    real_get_item = client.get_item

    def counting_get_item(**kwargs: Any) -> Any:
        calls.append(kwargs["Key"]["sk"]["S"])
        return real_get_item(**kwargs)

    client.get_item = counting_get_item  # type: ignore[method-assign]
    from services.query.repository import OddsReader

    reader = OddsReader(aws["table"], client)
    reader.fixture("E0", "ARS", "MCI")
    reader.fixture("E0", "LIV", "CHE")
    assert calls == ["CURRENT", "ARS#MCI", "LIV#CHE"]  # the pointer is cached between requests
