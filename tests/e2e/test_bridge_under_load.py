"""32 clients posting 50 fixtures each at once to the local stack (moto in server mode, the HTTP bridge): all answered.

Waited on by progress: every client's reply is read as it comes; the socket timeout only guards against a hang.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from typing import Any

import pytest

from bench.load import query_stack

pytestmark = pytest.mark.e2e
CLIENTS = 32
FIXTURES = 50
REPLY_TIMEOUT_SECONDS = 900


def test_concurrent_posts_of_50_fixtures_are_all_answered_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with query_stack() as stack:
        codes = stack.posterior.team_codes
        host, port = stack.api_url.removeprefix("http://").split(":")
        # Each client asks for five fixtures of its own ten times over: 50 in the reply, five items read.
        asked = [
            [(codes[client % len(codes)], codes[(client + step) % len(codes)]) for step in range(1, 6)] * 10
            for client in range(CLIENTS)
        ]
        replies: list[tuple[int, Any] | BaseException | None] = [None] * CLIENTS
        start = threading.Barrier(CLIENTS)

        def post(client: int) -> None:
            body = json.dumps([{"home": home, "away": away} for home, away in asked[client]])
            connection = http.client.HTTPConnection(host, int(port), timeout=REPLY_TIMEOUT_SECONDS)
            try:
                connection.connect()
                start.wait()  # every client connected before any sends
                connection.request("POST", "/odds", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                replies[client] = response.status, json.loads(response.read())
            except BaseException as error:  # reported below, with the client's number
                start.abort()  # no client waits for one that will not come
                replies[client] = error
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(client,)) for client in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for client, reply in enumerate(replies):
        assert isinstance(reply, tuple), f"client {client}: {reply!r}"
        status, body = reply
        assert status == 200, body
        answered = [(fixture["home"]["code"], fixture["away"]["code"]) for fixture in body["fixtures"]]
        assert answered == asked[client] and len(answered) == FIXTURES
        assert all(0 < fixture["probabilities"]["home"] < 1 for fixture in body["fixtures"])
    # The handler's calls to moto stay within its client's pooled connections (no "Connection pool is full").
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
