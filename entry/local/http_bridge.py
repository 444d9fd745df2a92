"""API Gateway, locally: an HTTP server on loopback that turns each request into an HTTP API (v2) event.

The query handler answers it in this process, one invocation at a time as one Lambda instance
does. The server bounds what a front server bounds (header section, payload, idle connections) and
answers its own refusals in the API's JSON error form.
"""

from __future__ import annotations

import base64
import collections
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from entry.local.lambda_context import LambdaContext

logger = logging.getLogger(__name__)
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway refuses a larger request payload itself
# The HTTP bridge's listen backlog. socketserver's default, 5, is fewer than the clients a load test or a
# page opens at once: while the accept loop waits its turn for the GIL, the kernel drops the SYNs beyond
# it and each client waits 1 s, then 3 s, to retry. Linux caps it at net.core.somaxconn (4096 here).
LISTEN_BACKLOG = 1024
# A request's header section, bounded as any front server bounds it (nginx's default is 32 KiB in 8 KiB lines;
# http.server alone took 100 lines of 64 KiB each, 6.4 MB held per connection). No client of the API needs a
# tenth of it; API Gateway itself takes 10,240 bytes of request line and header values, but browsers send a
# loopback page every cookie any local app set on 127.0.0.1, which can pass that.
# Lines counted as http.client counts them (it refuses a 101st), the blank line ending the section included.
MAX_HEADER_LINES = 100
MAX_HEADER_BYTES = 64 * 1024
# A connection that sends nothing for this long (before its request line, between keep-alive requests, or
# within a request) is closed: otherwise each one idle holds a server thread for good. Keep-alive clients
# that send one request after another (bench.load, a browser) never wait that long.
IDLE_TIMEOUT_SECONDS = 30.0
# How many query handler invocations the bridge runs at once: one, as one Lambda instance does; later
# requests wait their turn, in arrival order (in AWS each would have its own instance). A handler may keep
# per-invocation state in its module, as powertools' resolver keeps `app.current_event`: two invocations in
# threads of one process answered each other's requests (a 50-fixture POST got another client's fixtures).
QUERY_CONCURRENCY = 1


def http_api_event(method: str, target: str, headers: dict[str, str], body: bytes, client_ip: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for one HTTP request."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    now = time.time()
    lowered = {name.lower(): value for name, value in headers.items()}
    text_body: str | None = None
    encoded = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "queryStringParameters": {name: ",".join(values) for name, values in query.items()} or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text_body,
        "isBase64Encoded": encoded,
    }


def local_error_code(status: int) -> str:
    """The API's error code for a status the local server answers itself, before the handler."""
    if status in (413, 414, 431):
        return "too_large"
    if status < 500:
        return "bad_request"
    return HTTPStatus(status).phrase.lower().replace(" ", "_")


class TakeTurns:
    """At most `slots` holders at once; the others get a slot in the order they asked for one.

    threading.Semaphore lets a newcomer take a freed slot before the thread it woke, so under load one
    request can wait behind many that came after it; here a freed slot goes to the longest waiter.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, not {slots}")
        self._free = slots
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # set by the holder that hands its slot over

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class HeadersTooLarge(Exception):
    """A request's header section over MAX_HEADER_LINES lines or MAX_HEADER_BYTES bytes (answered 431)."""


class HeaderSection(io.BufferedIOBase):
    """The connection's reader as http.client.parse_headers sees it: lines until the budget is spent, then refusal.

    It never reads past the budget, so a client streaming headers costs at most MAX_HEADER_BYTES of memory.
    """

    def __init__(self, source: io.BufferedIOBase, most_lines: int, most_bytes: int) -> None:
        super().__init__()
        self._source, self._most_lines, self._most_bytes = source, most_lines, most_bytes
        self._lines = self._bytes = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1, /) -> bytes:
        """One header line, refused with HeadersTooLarge once the section passes either bound."""
        room = self._most_bytes - self._bytes + 1  # one byte past the budget tells "over" from "exactly at"
        line = self._source.readline(room if size is None or size < 0 else min(size, room))
        self._bytes += len(line)
        if self._bytes > self._most_bytes:
            raise HeadersTooLarge(f"the request's headers are over {self._most_bytes} bytes")
        self._lines += 1
        if self._lines > self._most_lines:
            raise HeadersTooLarge(f"the request has over {self._most_lines} header lines")
        return line


class LocalHTTPServer(ThreadingHTTPServer):
    """A thread per connection, none of which holds the process open, behind a backlog for many clients."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def serve_http_api(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    port: int,
    host: str = "127.0.0.1",
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
) -> ThreadingHTTPServer:
    """Serve the query handler on host:port in a background thread, as API Gateway would."""
    invocations = TakeTurns(QUERY_CONCURRENCY)

    class Bridge(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The version of a reply sent before the request's own is known (a malformed request line): with
        # http.server's HTTP/0.9 it went out with no status line nor headers, a bare JSON body.
        default_request_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for its own
        # delayed ACK (40 ms on Linux) before the body arrives.
        disable_nagle_algorithm = True
        # Each socket read and write waits at most this long; http.server then closes the connection.
        timeout = idle_timeout

        def handle(self) -> None:
            # A client that goes away mid-reply (a closed tab, a stopped curl) is routine for a server:
            # one line in the log, not socketserver's traceback on stderr.
            try:
                super().handle()
            except ConnectionError as error:
                request = getattr(self, "requestline", "") or "its request"
                client = self.client_address[0]
                logger.info("client %s disconnected during %r (%s)", client, request, type(error).__name__)

        def __getattr__(self, name: str) -> Any:
            # http.server answers a method without a do_<METHOD> (TRACE, CONNECT, a made-up one) with
            # its own 501 HTML page. Every method goes to the handler instead, whose JSON 405 or 404
            # is the API's answer.
            if name.startswith("do_"):
                return self._invoke
            raise AttributeError(name)

        def parse_request(self) -> bool:
            """http.server's parsing, with a request line that names its HTTP version and a bounded header section."""
            words = str(self.raw_requestline, "iso-8859-1").split()
            if len(words) == 2:
                # HTTP/0.9's form, which http.server takes and then answers with a bare body: API Gateway
                # speaks HTTP/1.0 at the oldest.
                self.command, self.request_version, self.close_connection = "", self.default_request_version, True
                self.requestline = " ".join(words)
                self.send_error(400, f"Bad request syntax ({self.requestline[:100]!r}): no HTTP version")
                return False
            connection = self.rfile
            self.rfile = HeaderSection(connection, MAX_HEADER_LINES, MAX_HEADER_BYTES)
            try:
                parsed = super().parse_request()
            except HeadersTooLarge as error:
                self.send_error(431, str(error))
                return False
            finally:
                self.rfile = connection
            if parsed and len(self.headers.get_all("Content-Length") or ()) > 1:
                # Two lengths, equal or not, are how a request is smuggled past a front server that reads
                # the other one (RFC 9112 section 6.3): refused, as is a Transfer-Encoding.
                self.send_error(400, "the request has more than one Content-Length header")
                return False
            return parsed

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own refusals (a malformed request line, headers too long) as the API's JSON errors."""
            self.log_error("code %d, message %s", code, message)
            self._reply(
                code,
                [("Content-Type", "application/json"), ("Connection", "close")],
                json.dumps({"error": local_error_code(code), "message": message or HTTPStatus(code).phrase}).encode(),
            )

        def _content_length(self) -> int | None:
            """The body's length in bytes; None once a header that gives no usable length is answered."""
            if "Transfer-Encoding" in self.headers:
                self.send_error(411, "send the body with a Content-Length; a chunked body is not read")
                return None
            given = (self.headers.get("Content-Length") or "0").strip()
            # Checked before int(): a 5000-digit length would make int() raise, a negative one would
            # make read() wait for the client to close.
            if not (given.isascii() and given.isdigit()):
                self.send_error(400, f"Content-Length {given[:20]!r} is not a number of bytes")
                return None
            digits = given.lstrip("0") or "0"
            if len(digits) > len(str(MAX_PAYLOAD_BYTES)) or int(digits) > MAX_PAYLOAD_BYTES:
                self.send_error(
                    413, f"Content-Length {digits[:20]} is over the {MAX_PAYLOAD_BYTES} bytes API Gateway accepts"
                )
                return None
            return int(digits)

        def _invoke(self) -> None:
            length = self._content_length()
            if length is None:
                return
            body = self.rfile.read(length) if length else b""
            # HEAD is GET without the body (RFC 9110 section 9.3.2), which _reply leaves out: the API has no
            # HEAD routes, and answered 405.
            method = "GET" if self.command == "HEAD" else self.command
            event = http_api_event(method, self.path, dict(self.headers.items()), body, self.client_address[0])
            try:
                with invocations:
                    response = handler(event, LambdaContext("matchodds-query"))
            except Exception:  # API Gateway answers 500 when the integration fails
                logger.exception("query handler raised")
                response = {
                    "statusCode": 500,
                    "body": json.dumps({"message": "Internal Server Error"}),
                    "headers": {"Content-Type": "application/json"},
                }
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
            headers = [(name, str(value)) for name, value in (response.get("headers") or {}).items()]
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers += [(name, str(value)) for value in values]
            headers += [("Set-Cookie", cookie) for cookie in response.get("cookies") or []]
            self._reply(int(response.get("statusCode", 200)), headers, data)

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            # A 304 has no body, and a length in it would be the 200's (RFC 9110 section 8.6): a 0 there misleads
            # a cache into storing an empty representation.
            if status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD" and status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.client_address[0], *args)

    server = LocalHTTPServer((host, port), Bridge)
    threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
    logger.info("HTTP API on http://%s:%d", host, server.server_port)  # port 0 picks a free one
    return server
