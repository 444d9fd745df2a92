"""The page at /, the OpenAPI document at /openapi.json and Swagger UI at /docs, through the handler."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from matchodds.core.posterior import Posterior
from services.query.app import app
from services.query.protocol import MAX_BODY_BYTES, MAX_PATH_LENGTH, MAX_QUERY_LENGTH
from tests.integration.conftest import Reply

pytestmark = pytest.mark.integration
UNDOCUMENTED = {("GET", "/"), ("GET", "/openapi.json"), ("GET", "/docs")}


def resolver_routes() -> set[tuple[str, str]]:
    """Every (method, OpenAPI path) the resolver serves, and whether it is in the schema."""
    routes = {}
    for route in [*app._static_routes, *app._dynamic_routes]:  # powertools keeps its routes here
        routes[(route.method, route.openapi_path)] = route.include_in_schema
    return routes


def test_the_document_describes_exactly_the_routes(api: Callable[..., Reply]) -> None:
    reply = api("GET", "/openapi.json")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    document = reply.json()
    described = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    routes = resolver_routes()
    assert described == {route for route, documented in routes.items() if documented}
    assert {route for route, documented in routes.items() if not documented} == UNDOCUMENTED
    assert document["openapi"].startswith("3.") and document["servers"] == [{"url": "/"}]


def test_every_operation_has_parameters_responses_and_real_examples(api: Callable[..., Reply]) -> None:
    document = api("GET", "/openapi.json").json()
    for path, methods in document["paths"].items():
        for operation in methods.values():
            names = {parameter["name"] for parameter in operation["parameters"]}
            takes_competition = path != "/competitions"  # the list of what is served is the one route without it
            assert ("competition" in names) == takes_competition and set(re.findall(r"{(\w+)}", path)) <= names
            assert "200" in operation["responses"] and ("400" in operation["responses"]) == takes_competition
            if takes_competition:
                not_found = operation["responses"]["404"]["content"]["application/json"]["examples"]
                assert not_found["a_competition_not_served"]["value"]["error"] == "not_served"
                assert "Retry-After" in operation["responses"]["503"]["headers"]
            for content in operation["responses"]["200"]["content"].values():
                assert content["example"]
    fixture = document["paths"]["/odds/{home}/{away}"]["get"]
    example = fixture["responses"]["200"]["content"]["application/json"]["example"]
    assert example["home"]["name"] == "Arsenal" and example["away"]["name"] == "Manchester City"
    assert len(example["markets"]["asian_handicap"]) == 21 and example["model"]["matches"] == 1520
    assert {p["name"]: p["in"] for p in fixture["parameters"]} == {
        "home": "path",
        "away": "path",
        "competition": "query",
    }
    bulk = document["paths"]["/odds"]["post"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 100
    assert "text/csv" in document["paths"]["/odds"]["get"]["responses"]["200"]["content"]


def test_docs_work_offline(api: Callable[..., Reply]) -> None:
    page = api("GET", "/docs", headers={"Accept-Encoding": "gzip"})
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers.get("content-encoding") == "gzip"  # 1.8 MB of Swagger UI, compressed on the way
    assert "SwaggerUIBundle" in page.text and '"/odds/{home}/{away}"' in page.text
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]?https?:", page.text)  # nothing from a CDN
    assert json.loads(api("GET", "/docs", "format=json").text) == api("GET", "/openapi.json").json()


def test_a_stage_is_the_server(api: Callable[..., Reply]) -> None:
    from services.query.openapi import document

    assert document(app, "/prod/")["servers"] == [{"url": "/prod/"}]


def test_the_page(api: Callable[..., Reply], published: Posterior) -> None:
    page = api("GET", "/")
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    # The page asks the API which competitions have odds, rather than carrying a list of its own.
    assert 'api("competitions")' in page.text and "Premier League" not in page.text
    assert "fetch(BASE + path" in page.text and "https://" not in page.text.replace("football-data.co.uk", "")
    # The backtest's track record by league is in the page as served, not left for a request of its own.
    assert "/*TRACK_RECORD*/null" not in page.text and '"model_over_pinnacle": 1.029' in page.text


def test_odds_requests_do_not_load_pydantic() -> None:
    probe = (
        "import sys, services.query.handler as h, services.query.app as a; "
        "print('pydantic' in sys.modules, 'numpy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def reply_schema(document: dict[str, Any], path: str, method: str, status: str = "200") -> dict[str, Any]:
    return document["paths"][path][method]["responses"][status]["content"]["application/json"]


def test_a_bulk_item_matches_exactly_one_branch_of_the_oneof(api: Callable[..., Reply], published: Posterior) -> None:
    document = api("GET", "/openapi.json").json()
    bulk = reply_schema(document, "/odds", "post")
    priced_branch, error_branch = bulk["schema"]["properties"]["fixtures"]["items"]["oneOf"]
    asked = [{"home": "ARS", "away": "MCI"}, {"home": "LIV", "away": "XYZ"}, {"home": "QQQ", "away": "che"}]
    real = api("POST", "/odds", body=json.dumps(asked)).json()
    items = [*bulk["example"]["fixtures"], *real["fixtures"]]
    assert sorted("error" in item for item in items) == [False] * 3 + [True] * 3  # both kinds, from both sources
    for item in items:
        matched = [Draft202012Validator(branch).is_valid(item) for branch in (priced_branch, error_branch)]
        assert matched == ["error" not in item, "error" in item], item
    for reply in (bulk["example"], real):
        Draft202012Validator(bulk["schema"]).validate(reply)
    fixture = reply_schema(document, "/odds/{home}/{away}", "get")
    for reply in (fixture["example"], api("GET", "/odds/ARS/MCI").json()):
        Draft202012Validator(fixture["schema"]).validate(reply)  # every member named: none is left unchecked


def example_messages(document: dict[str, Any], path: str, method: str, status: str) -> set[str]:
    examples = reply_schema(document, path, method, status)["examples"].values()
    return {example["value"]["message"] for example in examples}


def test_size_limits_and_the_same_team_rule_are_documented_with_the_apis_own_replies(
    api: Callable[..., Reply],
) -> None:
    document = api("GET", "/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert "414" in operation["responses"], (method, path)
    assert "413" in document["paths"]["/odds"]["post"]["responses"]

    def message(method: str, path: str, query_string: str = "", body: str | None = None) -> str:
        return str(api(method, path, query_string, body).json()["message"])

    long_path = "/odds/ARS/" + "M" * MAX_PATH_LENGTH
    assert message("GET", long_path) in example_messages(document, "/odds/{home}/{away}", "get", "414")
    long_query = "competition=" + "E" * MAX_QUERY_LENGTH
    assert message("GET", "/teams", long_query) in example_messages(document, "/teams", "get", "414")
    big_body = "[]" + " " * (MAX_BODY_BYTES - 1)  # one byte over
    assert message("POST", "/odds", body=big_body) in example_messages(document, "/odds", "post", "413")

    same_team = message("POST", "/odds", body='[{"home": "ARS", "away": "ars"}]')
    assert "cannot play itself" in same_team and same_team in example_messages(document, "/odds", "post", "400")
    same_team = message("GET", "/odds/ARS/ars")
    assert same_team in example_messages(document, "/odds/{home}/{away}", "get", "400")
    fixture_schema = document["paths"]["/odds"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "different teams" in fixture_schema["items"]["description"]
    assert "not the home team" in document["paths"]["/odds/{home}/{away}"]["get"]["parameters"][1]["description"]
