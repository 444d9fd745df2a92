"""The demo's "served" line counts the teams of the version it announces, read afresh from that version's pointer.

Issue 31: the demo printed "E0 served ..., 20 teams" while /teams had 21. It counted through the query API's
/teams, which answers from a pointer cached for a few seconds: the version before's teams.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable

import pytest

from entry.demo import announce
from entry.local.http_bridge import serve_http_api
from entry.local.stack import watch_versions
from matchodds.core.posterior import Posterior
from tests.integration.conftest import PUBLISHED_VERSION, Clock, publish, served_by

pytestmark = pytest.mark.integration
REFIT_VERSION = "20250602T060000Z"
FOUR = ("ARS", "CHE", "LIV", "MCI")
FIVE = (*FOUR, "TAM")  # a refit whose data names one more club
# Only against a hang: the watch reads the pointer every second.
ANNOUNCE_TIMEOUT_SECONDS = 120


def served_teams(api_url: str) -> list[str]:
    with urllib.request.urlopen(f"{api_url}/teams?competition=E0", timeout=30) as response:
        return [team["code"] for team in json.loads(response.read())["teams"]]


def test_the_served_line_counts_the_announced_versions_teams_not_the_apis_cached_ones(
    aws: dict[str, str],
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(aws, make_posterior(codes=FOUR, version=PUBLISHED_VERSION))
    served_by(monkeypatch, aws, Clock())  # a clock that never moves: the API's pointer cache never expires
    from services.query import handler

    server = serve_http_api(handler.lambda_handler, 0)
    api_url = f"http://127.0.0.1:{server.server_port}"
    stop, refit_announced = threading.Event(), threading.Event()
    try:
        assert served_teams(api_url) == list(FOUR)  # the API now holds the first version's pointer
        publish(aws, make_posterior(codes=FIVE, version=REFIT_VERSION))
        on_version = announce(api_url, aws["bucket"], "E0", PUBLISHED_VERSION)

        def announced(competition: str, version: str, *teams: list[str]) -> None:
            on_version(competition, version, *teams)
            if version == REFIT_VERSION:
                refit_announced.set()

        watch = watch_versions(aws["table"], lambda: ["E0"], announced, stop)
        assert refit_announced.wait(ANNOUNCE_TIMEOUT_SECONDS), "the watch never announced the refit"
        # The condition of the fault: the API still answers with the cached version before's four teams.
        assert served_teams(api_url) == list(FOUR)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    watch.join()  # before moto goes, with the test
    printed = capsys.readouterr().out
    assert f"E0 served: version {REFIT_VERSION}, 5 teams." in printed, printed
    assert f"curl '{api_url}/odds/ARS/CHE?competition=E0'" in printed
    assert PUBLISHED_VERSION not in printed  # the version the demo announced at start is not announced again
