"""One deployment, several competitions: /competitions, a 404 for one not served, a 503 for one not yet published."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator

from matchodds.core.posterior import Posterior
from matchodds.core.settings import COMPETITIONS_VARIABLE
from matchodds.core.teams import TeamTable
from services.query import clients, handler
from services.query.protocol import NOT_READY_RETRY_AFTER_SECONDS
from services.query.repository import OddsReader, OddsUnavailable
from tests.integration.conftest import PUBLISHED_VERSION, Reply, publish

pytestmark = pytest.mark.integration
# Every route that takes ?competition=, as a client calls it.
COMPETITION_ROUTES = [
    ("GET", "/odds/ARS/MCI", None),
    ("POST", "/odds", json.dumps([{"home": "ARS", "away": "MCI"}])),
    ("GET", "/odds", None),
    ("GET", "/teams", None),
]
EREDIVISIE = ("Ajax", "PSV Eindhoven", "Feyenoord", "AZ Alkmaar")


@pytest.fixture
def table_calls(api: Callable[..., Reply]) -> Iterator[list[str]]:
    """Every DynamoDB operation the query handler's client makes, recorded at the botocore boundary."""
    calls: list[str] = []
    clients.session().register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="count-competition-reads"
    )
    handler.reader.cache_clear()
    yield calls
    clients.session().unregister("before-call.dynamodb", unique_id="count-competition-reads")
    handler.reader.cache_clear()


@pytest.fixture
def serving(monkeypatch: pytest.MonkeyPatch, api: Callable[..., Reply]) -> Callable[[str], None]:
    """Configure the deployment's competitions, as its environment would at start-up."""

    def configure(competitions: str) -> None:
        monkeypatch.setenv(COMPETITIONS_VARIABLE, competitions)
        handler.reader.cache_clear()

    return configure


def competitions_schema(api: Callable[..., Reply]) -> dict[str, Any]:
    document = api("GET", "/openapi.json").json()
    return document["paths"]["/competitions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_competitions_lists_what_is_served_from_one_batch_read(
    api: Callable[..., Reply], published: Posterior, table_calls: list[str]
) -> None:
    reply = api("GET", "/competitions")
    assert reply.status == 200 and table_calls == ["BatchGetItem"]
    listed = reply.json()["competitions"]
    assert listed == [
        {
            "code": "E0",
            "name": "Premier League",
            "status": "published",
            "version": PUBLISHED_VERSION,
            "fitted_at": published.meta["created_at"],
            "data_through": "2025-05-25",
            "team_count": 4,
        },
        {"code": "D1", "name": "Bundesliga", "status": "pending"},
        {"code": "F1", "name": "Ligue 1", "status": "pending"},
        {"code": "I1", "name": "Serie A", "status": "pending"},
        {"code": "SP1", "name": "La Liga", "status": "pending"},
    ]
    Draft202012Validator(competitions_schema(api)).validate(reply.json())
    # The pointers read for the list serve the next request from the cache.
    assert api("GET", "/teams", "competition=E0").status == 200 and table_calls == ["BatchGetItem"]


@pytest.mark.parametrize(("method", "path", "body"), COMPETITION_ROUTES)
def test_a_competition_not_served_is_a_404_that_names_it_before_any_read(
    api: Callable[..., Reply], published: Posterior, table_calls: list[str], method: str, path: str, body: str | None
) -> None:
    reply = api(method, path, "competition=x9", body)
    assert reply.status == 404, reply.text
    error = reply.json()
    assert error["error"] == "not_served" and error["competition"] == "X9"
    assert error["message"] == "competition X9 is not served here; GET /competitions lists the ones that are"
    assert table_calls == []


@pytest.mark.parametrize(("method", "path", "body"), COMPETITION_ROUTES)
def test_a_served_competition_with_nothing_published_is_a_503_with_retry_after(
    api: Callable[..., Reply], published: Posterior, method: str, path: str, body: str | None
) -> None:
    reply = api(method, path, "competition=d1", body)
    assert reply.status == 503, reply.text
    assert reply.headers["retry-after"] == str(NOT_READY_RETRY_AFTER_SECONDS) == "3600"
    error = reply.json()
    assert error["error"] == "not_ready" and error["competition"] == "D1" and "D1" in error["message"]


def test_a_configured_division_the_table_lacks_is_served_with_its_clubs_names(
    api: Callable[..., Reply], aws: dict[str, str], make_posterior: Callable[..., Posterior], serving: Any
) -> None:
    serving("SC0, N1")
    table = TeamTable.load()
    codes = tuple(table.code("N1", name) for name in EREDIVISIE)
    posterior = make_posterior(codes=codes, competition="N1", version=PUBLISHED_VERSION)
    publish(aws, replace(posterior, team_names=tuple(table.name(code, "N1") for code in codes)))

    assert api("GET", "/competitions").json()["competitions"] == [
        {"code": "SC0", "name": "Scottish Premiership", "status": "pending"},
        {
            "code": "N1",
            "name": "Eredivisie",
            "status": "published",
            "version": PUBLISHED_VERSION,
            "fitted_at": posterior.meta["created_at"],
            "data_through": "2025-05-25",
            "team_count": 4,
        },
    ]
    teams = api("GET", "/teams", "competition=n1").json()["teams"]
    assert teams == [{"code": code, "name": name} for code, name in zip(codes, EREDIVISIE, strict=True)]
    fixture = api("GET", f"/odds/{codes[0]}/{codes[1].lower()}", "competition=N1").json()
    assert fixture["home"] == {"code": codes[0], "name": "Ajax"} and fixture["away"]["name"] == "PSV Eindhoven"
    # E0 is not in this deployment's list, and without ?competition= a route answers for its first one.
    assert api("GET", "/teams", "competition=E0").status == 404
    assert api("GET", "/teams").json()["competition"] == "SC0"


def test_pointers_the_table_keeps_throttling_are_a_503_naming_them(aws: dict[str, str], published: Posterior) -> None:
    client = boto3.client("dynamodb")

    def never(**kwargs: Any) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": {aws["table"]: kwargs["RequestItems"][aws["table"]]}}

    client.batch_get_item = never  # type: ignore[method-assign]
    reader = OddsReader(aws["table"], client, competitions=("E0", "D1"), max_attempts=3, sleep=lambda _: None)
    with pytest.raises(OddsUnavailable, match="the current versions of E0, D1 could not be read in time"):
        reader.pointers()
