"""The demo's HTTP bridge (entry.local.http_bridge) takes many clients at once: each connection queued and answered."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable

import pytest

from entry.local.http_bridge import serve_http_api
from matchodds.core.posterior import Posterior
from services.query import handler
from tests.integration.conftest import publish_four_teams

pytestmark = pytest.mark.integration
CLIENTS = 64
PAIRS = (("ARS", "CHE"), ("CHE", "LIV"), ("LIV", "MCI"), ("MCI", "ARS"))
# Only against a hang: each reply is read as it comes, and a healthy bridge answers all of them in seconds.
REPLY_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="module")
def aws(module_aws: dict[str, str]) -> dict[str, str]:
    return module_aws


@pytest.fixture(scope="module")
def published(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Posterior:
    return publish_four_teams(aws, make_posterior)


def test_64_connections_made_while_the_accept_loop_is_busy_are_all_kept_and_answered(published: Posterior) -> None:
    handler.reader.cache_clear()
    server = serve_http_api(handler.lambda_handler, 0)
    address = server.server_address[0], server.server_port
    clients: list[socket.socket] = []
    try:
        # The accept loop stopped, the socket still listening: the kernel completes each handshake and queues
        # it until the loop takes it, as it does while the loop waits for the GIL behind busy request threads.
        # With socketserver's backlog (5) the seventh connect would get no answer to its SYN: no timeout
        # here, the kernel's own retries (about two minutes) end it with an error.
        server.shutdown()
        for number in range(CLIENTS):
            clients.append(socket.create_connection(address))
            home, away = PAIRS[number % len(PAIRS)]
            clients[-1].sendall(f"GET /odds/{home}/{away} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        threading.Thread(target=server.serve_forever, name="http-api-resumed", daemon=True).start()
        for number, client in enumerate(clients):
            client.settimeout(REPLY_TIMEOUT_SECONDS)
            reply = http.client.HTTPResponse(client)
            reply.begin()  # a reset or a closed connection fails the test here
            body = json.loads(reply.read())
            assert reply.status == 200, body
            assert (body["home"]["code"], body["away"]["code"]) == PAIRS[number % len(PAIRS)]
    finally:
        for client in clients:
            client.close()
        server.shutdown()
        server.server_close()
        handler.reader.cache_clear()


def test_no_two_requests_share_an_invocation_of_a_handler_that_keeps_the_current_event_in_its_module() -> None:
    # As powertools' resolver does (`app.current_event`): a handler is one Lambda instance's, which serves one
    # invocation at a time. Run in threads side by side, each request would read whichever event came last.
    current: dict[str, object] = {}

    def keeps_its_event(event: dict[str, object], context: object) -> dict[str, object]:
        current["event"] = event
        time.sleep(0.005)  # gives the other request threads the GIL while this invocation is under way
        path = current["event"]["rawPath"]  # type: ignore[index]
        return {"statusCode": 200, "body": json.dumps({"path": path}), "headers": {"Content-Type": "application/json"}}

    server = serve_http_api(keeps_its_event, 0)
    replies: dict[int, object] = {}
    start = threading.Barrier(CLIENTS)

    def ask(client: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=REPLY_TIMEOUT_SECONDS)
        try:
            connection.connect()
            start.wait()  # every client connected before any sends
            connection.request("GET", f"/client/{client}")
            replies[client] = json.loads(connection.getresponse().read())["path"]
        except BaseException as error:  # reported below, with the client's number
            start.abort()
            replies[client] = error
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=ask, args=(client,)) for client in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
        server.server_close()
    assert replies == {client: f"/client/{client}" for client in range(CLIENTS)}
