"""The demo's HTTP server (entry.local.http_bridge) speaks HTTP/1.1 to any client: the refusals have a status line, the
header section and idle connections are bounded, a body has one length, HEAD is GET without the body, and a 304
carries no length of its own.

Every exchange is over a real socket, with the bytes a client sent (issue 31's probes, sent as they were).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from entry.local.http_bridge import IDLE_TIMEOUT_SECONDS, MAX_HEADER_BYTES, MAX_HEADER_LINES, serve_http_api
from matchodds.core.posterior import Posterior
from services.query import handler
from tests.integration.conftest import publish_four_teams

pytestmark = pytest.mark.integration
# Only against a hang: a healthy server answers (or closes) within milliseconds.
REPLY_TIMEOUT_SECONDS = 20
# Short enough for a test to wait on, long enough that a client on a busy machine sends its request in time.
SHORT_IDLE_SECONDS = 2.0
HEAD_OF_REQUEST = b"GET /teams HTTP/1.1\r\nHost: 127.0.0.1\r\n"


class Recorder:
    """A query handler stand-in that answers 200 and remembers each event it was handed."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: object) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "body": json.dumps({"ok": True}), "headers": {"Content-Type": "application/json"}}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def serving(query: Callable[[dict[str, Any], Any], dict[str, Any]], **options: Any) -> Iterator[tuple[str, int]]:
    server = serve_http_api(query, 0, **options)
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stub_server(recorder: Recorder) -> Iterator[tuple[str, int]]:
    yield from serving(recorder)


@pytest.fixture
def short_idle_server(recorder: Recorder) -> Iterator[tuple[str, int]]:
    yield from serving(recorder, idle_timeout=SHORT_IDLE_SECONDS)


@pytest.fixture(scope="module")
def aws(module_aws: dict[str, str]) -> dict[str, str]:
    return module_aws


@pytest.fixture(scope="module")
def api_server(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Iterator[tuple[str, int]]:
    """The query handler itself behind the server, four teams published."""
    publish_four_teams(aws, make_posterior)
    handler.reader.cache_clear()
    try:
        yield from serving(handler.lambda_handler)
    finally:
        handler.reader.cache_clear()


def reply_to(address: tuple[str, int], request: bytes) -> tuple[bytes, http.client.HTTPResponse]:
    """The raw reply to `request`, read to the close its refusal ends with, and that reply as http.client reads it."""
    with socket.create_connection(address, timeout=REPLY_TIMEOUT_SECONDS) as connection:
        connection.sendall(request)
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    reader = socket.socketpair()
    with reader[0], reader[1]:
        reader[0].sendall(raw)
        reader[0].shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(reader[1])
        response.begin()  # a reply with no status line (HTTP/0.9's) fails here: BadStatusLine
        response.read()
    return raw, response


def json_refusal(raw: bytes, response: http.client.HTTPResponse, status: int) -> dict[str, Any]:
    assert raw.startswith(f"HTTP/1.1 {status} ".encode()), raw[:200]
    assert response.getheader("Content-Type") == "application/json" and response.getheader("Connection") == "close"
    body: dict[str, Any] = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert isinstance(body["error"], str) and isinstance(body["message"], str) and body["message"]
    return body


def ends(connection: socket.socket) -> bytes:
    """What the server sends before it closes the connection (b"" when it closes having sent nothing)."""
    connection.settimeout(REPLY_TIMEOUT_SECONDS)  # a server that never closes fails the test with a timeout
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    ("request_line", "status", "needle"),
    [
        (b"GARBAGE", 400, "Bad request syntax"),
        (b"GET /odds /ARS HTTP/1.1", 400, "Bad request syntax"),
        (b"GET /teams HTTX/1.1", 400, "Bad request version"),
        (b"GET /teams", 400, "no HTTP version"),  # HTTP/0.9's form: answered with the body alone before
        (b"GET /teams HTTP/2.0", 505, "Invalid HTTP version (2.0)"),
        (b"PRI * HTTP/2.0", 505, "Invalid HTTP version (2.0)"),  # an HTTP/2 client's preface
        (b"GET /teams HTTP/3", 400, "Bad request version"),
    ],
)
def test_a_malformed_or_http2_request_line_gets_an_http11_status_line_and_a_json_error(
    stub_server: tuple[str, int], recorder: Recorder, request_line: bytes, status: int, needle: str
) -> None:
    raw, response = reply_to(stub_server, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert response.version == 11 and response.status == status
    assert needle in json_refusal(raw, response, status)["message"]
    assert recorder.events == []


@pytest.mark.parametrize("lengths", [(b"2", b"2"), (b"2", b"3"), (b"3", b"2")])
def test_a_request_with_two_content_lengths_is_refused_equal_or_not(
    stub_server: tuple[str, int], recorder: Recorder, lengths: tuple[bytes, bytes]
) -> None:
    headers = b"".join(b"Content-Length: " + length + b"\r\n" for length in lengths)
    raw, response = reply_to(stub_server, b"POST /odds HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n[]x")
    assert "more than one Content-Length" in json_refusal(raw, response, 400)["message"]
    assert recorder.events == []


def header_section(total_bytes: int, lines: int = 0) -> bytes:
    """Filler header lines after HEAD_OF_REQUEST making the section (its blank line included) `total_bytes` long."""
    section_size = total_bytes - len(HEAD_OF_REQUEST.partition(b"\r\n")[2]) - len(b"\r\n")
    if lines:
        filler = [b"X-Filler-%03d: x\r\n" % number for number in range(lines)]
    else:  # lines of 1 KiB, under http.server's 64 KiB for one line, the last one taking what is left
        filler = [b"X-Filler: " + b"x" * (1024 - 12) + b"\r\n"] * (section_size // 1024)
        rest = section_size - sum(map(len, filler))
        filler += [b"X-Rest: " + b"y" * (rest - 10) + b"\r\n"] if rest >= 10 else []
    request = HEAD_OF_REQUEST + b"".join(filler) + b"\r\n"
    if not lines:
        assert len(request) - len(HEAD_OF_REQUEST.partition(b"\r\n")[0]) - 2 == total_bytes
    return request


def closing(request: bytes) -> bytes:
    """The request as HTTP/1.0, after whose reply the server closes the connection (reply_to reads to the close)."""
    return request.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)


def test_a_header_section_at_the_bound_is_served(stub_server: tuple[str, int], recorder: Recorder) -> None:
    raw, response = reply_to(stub_server, closing(header_section(MAX_HEADER_BYTES)))
    assert response.status == 200, raw[:300]
    assert len(recorder.events) == 1


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1, 3_600_000])  # issue 31's probe sent 3.6 MB
def test_a_header_section_over_the_bound_is_a_431(stub_server: tuple[str, int], recorder: Recorder, size: int) -> None:
    with socket.create_connection(stub_server, timeout=REPLY_TIMEOUT_SECONDS) as connection:
        # The server stops reading at the bound and closes: the send may fail, the reply is still there to read.
        with contextlib.suppress(ConnectionError):
            connection.sendall(header_section(size))
        response = http.client.HTTPResponse(connection)
        response.begin()
        body = json.loads(response.read())
    assert response.status == 431 and response.version == 11
    assert body["error"] == "too_large" and f"over {MAX_HEADER_BYTES} bytes" in body["message"]
    assert recorder.events == []


def test_header_lines_over_the_bound_are_a_431(stub_server: tuple[str, int], recorder: Recorder) -> None:
    # Host, the fillers and the blank line: one line over the bound, then exactly at it.
    raw, response = reply_to(stub_server, header_section(0, lines=MAX_HEADER_LINES - 1))
    assert f"over {MAX_HEADER_LINES} header lines" in json_refusal(raw, response, 431)["message"]
    raw, response = reply_to(stub_server, closing(header_section(0, lines=MAX_HEADER_LINES - 2)))
    assert response.status == 200 and len(recorder.events) == 1


def test_the_server_closes_a_connection_that_sends_nothing(short_idle_server: tuple[str, int]) -> None:
    with socket.create_connection(short_idle_server) as connection:
        assert ends(connection) == b""


def test_the_server_closes_a_connection_idle_mid_request(
    short_idle_server: tuple[str, int], recorder: Recorder
) -> None:
    with socket.create_connection(short_idle_server) as connection:
        connection.sendall(HEAD_OF_REQUEST)  # the headers' blank line never comes
        assert ends(connection) == b""
    assert recorder.events == []


def test_a_keep_alive_connection_serves_requests_then_closes_once_idle(
    short_idle_server: tuple[str, int], recorder: Recorder
) -> None:
    with socket.create_connection(short_idle_server, timeout=REPLY_TIMEOUT_SECONDS) as connection:
        for _ in range(3):  # one connection, three requests: keep-alive holds
            connection.sendall(HEAD_OF_REQUEST + b"\r\n")
            response = http.client.HTTPResponse(connection)
            response.begin()
            assert response.status == 200 and json.loads(response.read()) == {"ok": True}
            assert not response.will_close
        assert ends(connection) == b""
    assert len(recorder.events) == 3


def test_the_server_closes_idle_connections_by_default() -> None:
    server = serve_http_api(Recorder(), 0)
    bridge: Any = server.RequestHandlerClass  # the handler class serve_http_api made
    try:
        assert bridge.timeout == IDLE_TIMEOUT_SECONDS == 30.0
    finally:
        server.shutdown()
        server.server_close()


def get(address: tuple[str, int], method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    connection = http.client.HTTPConnection(*address, timeout=REPLY_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/teams?competition=E0", "/odds/ARS/MCI?competition=E0", "/odds?competition=E0"])
def test_head_is_answered_as_get_without_the_body(api_server: tuple[str, int], path: str) -> None:
    status, headers, body = get(api_server, "GET", path)
    assert status == 200 and body
    connection = http.client.HTTPConnection(*api_server, timeout=REPLY_TIMEOUT_SECONDS)
    try:
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        head_headers = {name.lower(): value for name, value in head.getheaders()}
        assert head_headers["content-length"] == str(len(body))
        assert head_headers["content-type"] == headers["content-type"]
        assert head_headers.get("etag") == headers.get("etag")
        # The same connection goes on: no body was sent that the next reply would be read from.
        connection.request("GET", path)
        again = connection.getresponse()
        assert again.status == 200 and again.read() == body
    finally:
        connection.close()


def test_a_304_carries_no_length_of_its_own(api_server: tuple[str, int]) -> None:
    status, headers, _ = get(api_server, "GET", "/odds?competition=E0")
    assert status == 200 and headers["etag"]
    status, not_modified, body = get(api_server, "GET", "/odds?competition=E0", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and not_modified["etag"] == headers["etag"]
    # RFC 9110 section 8.6: a Content-Length in a 304 is the 200's or none; "0" told caches the table was empty.
    assert not_modified.get("content-length") in (None, headers["content-length"])


def test_if_none_match_any_is_a_304_where_a_get_would_be_a_200_with_an_etag(api_server: tuple[str, int]) -> None:
    status, headers, _ = get(api_server, "GET", "/odds?competition=E0")
    assert status == 200 and headers["etag"]
    status, not_modified, body = get(api_server, "GET", "/odds?competition=E0", {"If-None-Match": "*"})
    assert status == 304 and body == b"" and not_modified["etag"] == headers["etag"]
