"""The fixtures' texts that the query keeps per version (services/query/repository.py): the replies are byte for
byte the documents serialised as powertools serialised them before, and a kept text never answers for another
version once the pointer has moved."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.shared.json_encoder import Encoder

from matchodds.core.documents import fixture_document, model_provenance
from matchodds.core.posterior import Posterior
from services.query import handler
from services.query.repository import POINTER_CACHE_SECONDS, OddsReader
from tests.integration.conftest import PUBLISHED_VERSION, Clock, Reply, count_calls, publish, served_by

pytestmark = pytest.mark.integration
NEXT_VERSION = "20250602T060000Z"
CODES = ("ARS", "CHE", "LIV", "MCI")
PAIRS = [("ARS", "MCI"), ("LIV", "CHE"), ("MCI", "ARS"), ("CHE", "LIV")]
# Known and unknown teams, a fixture twice, codes in lower case: every kind of entry a bulk reply has.
BULK = [("ars", "MCI"), ("LIV", "XYZ"), ("CHE", "LIV"), ("ARS", "MCI"), ("QQQ", "ZZZ"), ("MCI", "CHE")]


def as_before(document: dict[str, Any]) -> str:
    """A route's document as powertools' resolver serialised it, which is how the routes answered before."""
    return json.dumps(document, separators=(",", ":"), cls=Encoder)


def single_as_before(aws: dict[str, str], home: str, away: str) -> str:
    """GET /odds/{home}/{away} as the route built it before texts were kept, from a reader of its own."""
    odds, pointer = OddsReader(aws["table"], boto3.client("dynamodb")).fixture("E0", home, away)
    document = fixture_document(odds, pointer["team_names"])
    return as_before({"competition": "E0", **document, "model": model_provenance(pointer)})


def bulk_as_before(aws: dict[str, str], asked: Iterable[tuple[str, str]]) -> str:
    """POST /odds as the route built it before texts were kept, from a reader of its own."""
    pairs = [(home.upper(), away.upper()) for home, away in asked]
    found, pointer = OddsReader(aws["table"], boto3.client("dynamodb")).fixtures("E0", pairs)
    names, fixtures = pointer["team_names"], []
    for home, away in pairs:
        if (home, away) in found:
            fixtures.append(fixture_document(found[(home, away)], names))
            continue
        unknown = [code for code in (home, away) if code not in names]
        fixtures.append(
            {
                "home": {"code": home, "name": names.get(home)},
                "away": {"code": away, "name": names.get(away)},
                "error": "unknown_team",
                "message": f"unknown team{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in competition E0",
                "teams": unknown,
            }
        )
    return as_before({"competition": "E0", "model": model_provenance(pointer), "fixtures": fixtures})


def post(api: Callable[..., Reply], asked: Iterable[tuple[str, str]]) -> Reply:
    return api("POST", "/odds", body=json.dumps([{"home": home, "away": away} for home, away in asked]))


def assert_json_reply(reply: Reply, expected: str) -> None:
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert reply.text == expected


def test_replies_are_byte_for_byte_the_documents_serialised_as_before(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior
) -> None:
    for home, away in PAIRS:
        expected = single_as_before(aws, home, away)
        for _ in range(2):  # read and kept, then the kept text
            assert_json_reply(api("GET", f"/odds/{home}/{away}"), expected)
    expected = bulk_as_before(aws, BULK)
    for _ in range(2):  # MCI v CHE read, the others kept by the single requests; then every one kept
        assert_json_reply(post(api, BULK), expected)
    handler.reader.cache_clear()  # none kept
    assert_json_reply(post(api, BULK), expected)


def test_a_kept_fixture_is_answered_without_a_read(
    api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    first = api("GET", "/odds/ARS/MCI").text
    assert calls == {"dynamodb:GetItem": 2}  # the pointer, then the fixture
    assert api("GET", "/odds/ARS/MCI").text == first and calls == {"dynamodb:GetItem": 2}
    post(api, [("ARS", "MCI"), ("LIV", "CHE")])
    assert calls == {"dynamodb:GetItem": 2, "dynamodb:BatchGetItem": 1}  # LIV v CHE alone was read
    post(api, [("LIV", "CHE"), ("ARS", "MCI"), ("ARS", "XYZ")])
    assert calls == {"dynamodb:GetItem": 2, "dynamodb:BatchGetItem": 1}


def test_once_the_pointer_moves_every_answer_is_the_new_versions(
    aws: dict[str, str],
    api: Callable[..., Reply],
    published: Posterior,
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    served_by(monkeypatch, aws, clock)
    kept = {pair: api("GET", "/odds/{}/{}".format(*pair)).text for pair in PAIRS}
    old_bulk = post(api, BULK).text
    publish(aws, make_posterior(codes=CODES, version=NEXT_VERSION, seed=5))
    assert api("GET", "/odds/ARS/MCI").text == kept[("ARS", "MCI")]  # the pointer is cached a few seconds
    clock.now += POINTER_CACHE_SECONDS + 1
    for home, away in PAIRS:
        reply = api("GET", f"/odds/{home}/{away}")
        assert reply.json()["model"]["version"] == NEXT_VERSION and reply.text != kept[(home, away)]
        assert_json_reply(reply, single_as_before(aws, home, away))
    new_bulk = post(api, BULK)
    assert new_bulk.json()["model"]["version"] == NEXT_VERSION and new_bulk.text != old_bulk
    assert_json_reply(new_bulk, bulk_as_before(aws, BULK))


def test_a_version_gone_under_a_cached_pointer_answers_wholly_from_the_new_one(
    aws: dict[str, str],
    api: Callable[..., Reply],
    published: Posterior,
    make_posterior: Callable[..., Posterior],
) -> None:
    """Texts kept of the old version and a fixture not kept, asked for together after the old version's items
    expired under the cached pointer: one version answers them all, the new one."""
    api("GET", "/odds/ARS/MCI")
    publish(aws, make_posterior(codes=CODES, version=NEXT_VERSION, seed=5))
    table = boto3.resource("dynamodb").Table(aws["table"])
    for home in CODES:
        for away in CODES:
            if home != away:
                table.delete_item(Key={"pk": f"ODDS#E0#{PUBLISHED_VERSION}", "sk": f"{home}#{away}"})
    asked = [("ARS", "MCI"), ("LIV", "CHE")]
    reply = post(api, asked)
    assert reply.json()["model"]["version"] == NEXT_VERSION
    assert_json_reply(reply, bulk_as_before(aws, asked))
