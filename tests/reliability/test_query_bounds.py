"""The query API on hostile input: bounded sizes, JSON errors that say what was wrong, no read before validation."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from matchodds.core.posterior import Posterior
from services.query import clients
from services.query.protocol import MAX_BODY_BYTES, MAX_PATH_LENGTH, MAX_QUERY_LENGTH
from tests.integration.conftest import Reply, publish_four_teams

pytestmark = pytest.mark.integration


# Every test here reads the one published version and writes nothing, so the module shares one
# local AWS and one publication instead of provisioning and precomputing them for each of its tests.
@pytest.fixture(scope="module")
def aws(module_aws: dict[str, str]) -> dict[str, str]:
    return module_aws


@pytest.fixture(scope="module")
def published(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Posterior:
    return publish_four_teams(aws, make_posterior)


@pytest.fixture
def table_calls(published: Posterior, api: Callable[..., Reply]) -> Iterator[list[str]]:
    """Every DynamoDB operation the query handler's client makes, recorded at the botocore boundary."""
    from services.query import handler

    calls: list[str] = []
    clients.session().register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="count-reads"
    )
    handler.reader.cache_clear()  # the handler's client is made afresh, on the hooked session
    yield calls
    clients.session().unregister("before-call.dynamodb", unique_id="count-reads")
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
        ("DELETE", "/odds/ARS/MCI", "", None, 405, "DELETE is not allowed on /odds/ARS/MCI; it answers GET"),
        ("PUT", "/odds", "", None, 405, "it answers GET, POST"),
        ("TRACE", "/teams", "", None, 405, "it answers GET"),
        ("BREW", "/nothing/here", "", None, 404, "no route BREW /nothing/here"),
        ("GET", "/odds/ARS", "", None, 404, "no route"),
        # Integers past Python's int() digit limit: a bare ValueError out of json.loads, once a 500.
        ("POST", "/odds", "", "[" + "1" * 5000 + "]", 400, "a number of 5000 digits"),
        ("POST", "/odds", "", '[{"home": -' + "9" * 4301 + ', "away": "MCI"}]', 400, "a number of 4301 digits"),
        ("POST", "/odds", "", '[{"home": ' + "9" * 101 + ', "away": "MCI"}]', 400, "as strings"),
        # `$` matched before a trailing newline; str.upper() turned ı into I, ß into SS, ﬀ into FF.
        ("GET", "/odds/ARS/MCI", "competition=E0%0A", None, 400, "competition 'E0\\n'"),
        ("GET", "/teams", "competition=e0%0A", None, 400, "competition"),
        ("GET", "/odds", "competition=%C3%9F", None, 400, "competition 'ß'"),
        ("GET", "/teams", "competition=%EF%AC%800", None, 400, "competition"),
        ("GET", "/odds/ıps/MCI", "", None, 400, "team 'ıps' is not a three-letter"),
        ("GET", "/odds/ARS/aß", "", None, 400, "three-letter"),
        ("POST", "/odds", "", '[{"home": "ars\\n", "away": "MCI"}]', 400, "fixtures[0].home 'ars\\n'"),
        ("POST", "/odds", "", '[{"home": "ARS", "away": "MCI\\n"}]', 400, "fixtures[0].away"),
        ("POST", "/odds", "", '[{"home": "\\u0131ps", "away": "MCI"}]', 400, "three-letter"),
        ("POST", "/odds", "", '[{"home": "ARS", "away": "\\ufb00a"}]', 400, "three-letter"),
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


@pytest.fixture(scope="module")
def local_server(published: Posterior) -> Iterator[tuple[str, int]]:
    """The demo's HTTP server (entry.local.http_bridge) in front of the query handler, on a free loopback port."""
    from entry.local.http_bridge import serve_http_api
    from services.query import handler

    server = serve_http_api(handler.lambda_handler, 0)
    try:
        yield server.server_address[0], server.server_port
    finally:
        server.shutdown()
        server.server_close()


def over_http(address: tuple[str, int], method: str, path: str) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def raw_request(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], str]:
    """Bytes no HTTP client would send; the first reply read back (a dropped connection fails the test)."""
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()


def json_error(status: int, headers: dict[str, str], text: str, expected: int) -> dict[str, Any]:
    assert status == expected, text
    assert headers["content-type"].startswith("application/json"), text
    body = json.loads(text)
    assert isinstance(body["error"], str) and isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("TRACE", "/odds/ARS/MCI", 405, "GET"),
        ("PATCH", "/odds", 405, "GET, POST"),
        ("OPTIONS", "/teams", 405, "GET"),
        ("CONNECT", "/odds/ARS/MCI", 405, "GET"),
        ("BREW", "/", 405, "GET"),
        ("DELETE", "/openapi.json", 405, "GET"),
        ("TRACE", "/nothing/here", 404, None),
        ("M-SEARCH", "/odds/ARS", 404, None),
    ],
)
def test_the_local_server_answers_every_method_as_the_api_does(
    local_server: tuple[str, int], table_calls: list[str], method: str, path: str, status: int, allow: str | None
) -> None:
    reply_status, headers, text = over_http(local_server, method, path)
    body = json_error(reply_status, headers, text, status)
    assert body["error"] == ("method_not_allowed" if allow else "not_found") and method in body["message"]
    assert headers.get("allow") == allow
    assert table_calls == []


@pytest.mark.parametrize(
    ("headers", "status", "needle"),
    [
        (b"Content-Length: " + b"9" * 5000, 413, "is over the"),
        (b"Content-Length: 99999999999", 413, "is over the"),
        (b"Content-Length: -1", 400, "Content-Length '-1' is not a number of bytes"),
        (b"Content-Length: 1e3", 400, "not a number of bytes"),
        (b"Content-Length: 1_0", 400, "not a number of bytes"),  # which int() reads as 10
        (b"Transfer-Encoding: chunked", 411, "Content-Length"),
    ],
)
def test_the_local_server_refuses_a_body_length_it_cannot_read_with_a_json_error(
    local_server: tuple[str, int], table_calls: list[str], headers: bytes, status: int, needle: str
) -> None:
    request = b"POST /odds HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n\r\n5\r\n[{}]\n\r\n0\r\n\r\n"
    body = json_error(*raw_request(local_server, request), status)
    assert needle in body["message"] and len(body["message"]) < 300
    assert table_calls == []


def test_the_local_servers_own_refusal_is_a_json_error(local_server: tuple[str, int], table_calls: list[str]) -> None:
    reply = raw_request(local_server, b"GET /odds /ARS HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert "Bad request syntax" in json_error(*reply, 400)["message"]  # http.server's words, as JSON
    assert table_calls == []


def test_the_local_server_still_serves_the_api(local_server: tuple[str, int], table_calls: list[str]) -> None:
    status, headers, text = over_http(local_server, "GET", "/odds/ars/mci")
    assert status == 200 and json.loads(text)["home"]["code"] == "ARS"
    assert table_calls == ["GetItem", "GetItem"]


def test_a_client_that_disconnects_mid_reply_is_one_line_in_the_log(
    local_server: tuple[str, int], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="entry.local.http_bridge"):
        with socket.create_connection(local_server, timeout=60) as client:
            client.sendall(b"GET /odds HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert client.recv(12) == b"HTTP/1.1 200"  # the reply has begun
            # Closed with a reset (linger 0), as a killed client's connection ends.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stderr = ""
        for _ in range(600):  # the server's thread meets the reset within milliseconds; a minute at most
            stderr += capsys.readouterr().err
            if "disconnected" in caplog.text or "Traceback" in stderr:
                break
            time.sleep(0.1)
    said = [record.getMessage() for record in caplog.records if record.name == "entry.local.http_bridge"]
    one_line = "client 127.0.0.1 disconnected during 'GET /odds HTTP/1.1' ("
    assert len(said) == 1 and said[0].startswith(one_line), (said, stderr)
    assert "Traceback" not in stderr
