"""The query API fuzzed from its own OpenAPI document by schemathesis, over real HTTP on the local stack.

Valid and invalid input (schemathesis' positive and negative modes) for every operation the document
describes. Every answer must be a non-5xx, and every error a JSON object whose message says what was
wrong. Every date parameter is tried too at the edges of the days served and of the calendar, which random
generation all but never draws (`from=9999-12-29` was a 500 that it missed). The one 5xx the API promises
is 503 not_ready, with Retry-After, for a competition it serves with nothing published (here: any of the
five but E0), which tells a client to come back later rather than that the server broke; a competition it
does not serve is a 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from bench.load import COMPETITION, QueryStack, query_stack
from matchodds.core.keys import DEFAULT_COMPETITIONS

pytestmark = pytest.mark.fuzz
MAX_EXAMPLES = 12  # per operation and mode: the whole fuzz stays well under a minute
# A whole-table answer reads 380 items from moto, whose serialiser alone takes 7 s on an idle 2-core
# machine (several times that under load): three examples, of which schemathesis' first is the table.
EXAMPLES = {"GET /odds": 3}
# Per request: the whole table on a loaded machine, with room to spare. The test checks what the API
# answers, not how fast; a reply that never comes still fails it.
REQUEST_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def stack() -> Iterator[QueryStack]:
    with query_stack() as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(stack: QueryStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


OPERATIONS = (
    "GET /odds/{home}/{away}",
    "POST /odds",
    "GET /odds",
    "GET /teams",
    "GET /competitions",
    "GET /table",
    "GET /fixtures",
)
# /competitions takes no input: one valid case is all there is to draw, and no invalid one.
EXAMPLES["GET /competitions"] = 1
CASES = [
    pytest.param(label, mode, id=f"{label}-{mode}")
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (label == "GET /competitions" and mode == GenerationMode.NEGATIVE)
]


def test_the_document_describes_every_route(api_schema: schemathesis.BaseSchema) -> None:
    operations = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert operations == set(OPERATIONS)


def check_reply(case: schemathesis.Case, response: schemathesis.Response) -> None:
    """No 5xx but the promised not_ready; an error is JSON with an error code and a message."""
    described = f"{case.method} {response.request.url} -> {response.status_code}: {response.text[:300]}"
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), described
    body = json.loads(response.text)
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], described
    assert isinstance(body.get("error"), str), described
    if response.status_code >= 500:
        assert response.status_code == 503 and body["error"] == "not_ready", described
        assert body["competition"] in DEFAULT_COMPETITIONS, described  # served, but not yet published
        assert body["competition"] != COMPETITION, described  # the published competition is always served
        assert int(response.headers["retry-after"][0]) > 0, described
    if body["error"] == "not_served":
        assert response.status_code == 404 and body["competition"] not in DEFAULT_COMPETITIONS, described


# schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's cases are drawn
# from its Hypothesis strategy here.
@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_server_error_and_every_error_says_what_was_wrong(
    api_schema: schemathesis.BaseSchema, stack: QueryStack, label: str, mode: GenerationMode
) -> None:
    method, path = label.split(" ")
    operation = api_schema[path][method]
    answered: list[int] = []

    @settings(
        max_examples=EXAMPLES.get(label, MAX_EXAMPLES),
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(base_url=stack.api_url, timeout=REQUEST_TIMEOUT_SECONDS)
        answered.append(response.status_code)
        check_reply(case, response)

    fuzz()
    assert len(answered) >= EXAMPLES.get(label, MAX_EXAMPLES) // 2  # the cases were sent, not filtered away


# The edges of the days the API serves (1990-01-01 to 2099-12-31) and of the calendar, each side: a date whose
# round (three days on) overflowed was a 500 that random generation never drew in 12 examples.
BOUNDARY_DATES = ("0001-01-01", "1989-12-31", "1990-01-01", "2099-12-31", "2100-01-01", "9999-12-29", "9999-12-31")


def date_parameters(operation: schemathesis.APIOperation) -> list[str]:
    """The query parameters the document says are dates."""
    return [p.name for p in operation.query if p.definition.get("schema", {}).get("format") == "date"]


def test_some_operation_takes_dates(api_schema: schemathesis.BaseSchema) -> None:
    dated = [op.ok().label for op in api_schema.get_all_operations() if date_parameters(op.ok())]
    assert dated == ["GET /fixtures"]  # so the boundary test below has something to try


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_date_parameter_at_the_edges_of_the_days_served_and_of_the_calendar(
    api_schema: schemathesis.BaseSchema, stack: QueryStack, label: str
) -> None:
    method, path = label.split(" ")
    operation = api_schema[path][method]
    names = date_parameters(operation)
    queries = [{name: day} for name in names for day in BOUNDARY_DATES]
    queries += [dict.fromkeys(names, day) for day in BOUNDARY_DATES] if len(names) > 1 else []
    for query in queries:
        case = operation.Case(query=query)
        response = case.call(base_url=stack.api_url, timeout=REQUEST_TIMEOUT_SECONDS)
        check_reply(case, response)
