"""The page at /, the OpenAPI document at /openapi.json and Swagger UI at /docs, through the handler."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from matchodds.contract import COMPETITION_NAMES, Posterior
from services.query.app import app
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
            assert "competition" in names and set(re.findall(r"{(\w+)}", path)) <= names
            assert "200" in operation["responses"] and "400" in operation["responses"]
            for content in operation["responses"]["200"]["content"].values():
                assert content["example"]
    fixture = document["paths"]["/odds/{home}/{away}"]["get"]
    example = fixture["responses"]["200"]["content"]["application/json"]["example"]
    assert example["home"]["name"] == "Arsenal" and example["away"]["name"] == "Manchester City"
    assert len(example["markets"]["asian_handicap"]) == 21 and example["model"]["matches"] == 380
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
    competitions = json.loads(re.search(r"const COMPETITIONS = (\{.*?\});", page.text).group(1))
    assert competitions == COMPETITION_NAMES
    assert "fetch(BASE + path" in page.text and "https://" not in page.text.replace("football-data.co.uk", "")


def test_odds_requests_do_not_load_pydantic() -> None:
    probe = (
        "import sys, services.query.handler as h, services.query.app as a; "
        "print('pydantic' in sys.modules, 'numpy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
