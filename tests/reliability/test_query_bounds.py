"""The query API on hostile input: bounded sizes, JSON errors that say what was wrong, no read before validation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from matchodds.contract import Posterior
from services.query.app import MAX_BODY_BYTES, MAX_PATH_LENGTH, MAX_QUERY_LENGTH
from tests.integration.conftest import Reply

pytestmark = pytest.mark.integration


@pytest.fixture
def table_calls(published: Posterior, api: Callable[..., Reply]) -> Iterator[list[str]]:
    """Every DynamoDB operation the query handler's client makes, recorded at the boto3 boundary."""
    from services.query import handler

    calls: list[str] = []
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="count-reads"
    )
    handler.reader.cache_clear()  # the handler's client is made afresh, on the hooked session
    yield calls
    boto3.DEFAULT_SESSION.events.unregister("before-call.dynamodb", unique_id="count-reads")
    handler.reader.cache_clear()


def error_of(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert isinstance(body["message"], str) and body["message"] and body["error"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "query_string", "body", "status", "needle"),
    [
        ("GET", "/odds/ARS/" + "M" * MAX_PATH_LENGTH, "", None, 414, "the path has"),
        ("GET", "/odds/ARS/MCI", "competition=" + "E" * MAX_QUERY_LENGTH, None, 414, "the query string has"),
        ("GET", "/teams", "x=" + "%00" * MAX_QUERY_LENGTH, None, 414, "query string"),
        ("POST", "/odds", "", json.dumps([{"home": "ARS", "away": "MCI"}] * 600), 413, "the body has"),
        ("POST", "/odds", "", " " * (MAX_BODY_BYTES + 1), 413, "the body has"),
        ("POST", "/odds", "", "[" * 5000 + "]" * 5000, 400, "nests too deeply"),
        ("POST", "/odds", "", '{"home": "ARS"', 400, "not JSON"),
        ("POST", "/odds", "", "[]", 400, "1 to 100 fixtures"),
        ("POST", "/odds", "", '[{"home": "ARS", "away": "MCI", "x": 1}]', 400, "exactly"),
        ("POST", "/odds", "", '[{"home": 1, "away": "MCI"}]', 400, "as strings"),
        ("POST", "/odds", "", '[{"home": "AR\\u0000", "away": "MCI"}]', 400, "three-letter"),
        ("GET", "/odds/%27OR1/MCI", "", None, 400, "three-letter"),
        ("GET", "/odds/ARS/MCI", "competition=E0%23ODDS", None, 400, "competition"),
        ("GET", "/odds", "format=xml", None, 400, "format"),
        ("GET", "/nothing/here", "", None, 404, "no route GET /nothing/here"),
        ("DELETE", "/odds/ARS/MCI", "", None, 404, "no route DELETE"),
        ("GET", "/odds/ARS", "", None, 404, "no route"),
    ],
)
def test_hostile_requests_get_a_json_error_and_never_reach_the_table(
    api: Callable[..., Reply],
    table_calls: list[str],
    method: str,
    path: str,
    query_string: str,
    body: str | None,
    status: int,
    needle: str,
) -> None:
    body_json = error_of(api(method, path, query_string, body), status)
    assert needle in body_json["message"]
    assert len(body_json["message"]) < 300  # an echo of the input is cut short
    assert table_calls == []


def test_a_body_that_is_not_utf8_is_a_400(api: Callable[..., Reply], table_calls: list[str]) -> None:
    from services.query import handler
    from tests.conftest import load_event
    from tests.integration.conftest import CONTEXT

    event = load_event("http-odds.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/odds"
    event["requestContext"]["http"]["method"] = "POST"
    event["queryStringParameters"], event["rawQueryString"] = None, ""
    event["body"], event["isBase64Encoded"] = base64.b64encode(b"\xff\xfe[{").decode(), True
    response = handler.lambda_handler(event, CONTEXT)
    assert response["statusCode"] == 400 and "not UTF-8" in json.loads(response["body"])["message"]
    assert table_calls == []


def test_a_valid_request_still_reads_once_or_twice(api: Callable[..., Reply], table_calls: list[str]) -> None:
    assert api("GET", "/odds/ARS/MCI").status == 200
    assert table_calls == ["GetItem", "GetItem"]  # the pointer, then the fixture
