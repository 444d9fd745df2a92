"""The README's demo command, end to end: moto server, fit, S3 event, precompute, real HTTP, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from matchodds.cli import get_json as get
from matchodds.local import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MATCHODDS_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "matchodds",
            "demo",
            "--port",
            str(port),
            "--warmup",
            "300",
            "--samples",
            "300",
            "--seed",
            "2",
            "--min-ess",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 240
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        process.kill()
    if process.poll() is not None:
        pytest.fail("the demo stopped before serving:\n" + "".join(lines))
    yield f"http://127.0.0.1:{port}", lines
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    lines.append(rest)
    assert process.returncode == 0, "".join(lines)
    assert "shutting down" in rest


def test_demo_prints_real_fixture_odds(demo: tuple[str, list[str]]) -> None:
    _, lines = demo
    text = "".join(lines)
    assert "Arsenal v Manchester City" in text and "Liverpool v Manchester United" in text
    assert "football-data.co.uk" in text and "curl" in text


def test_odds_over_http(demo: tuple[str, list[str]]) -> None:
    url, _ = demo
    status, body = get(f"{url}/odds/LIV/ips")
    assert status == 200 and body["away"]["name"] == "Ipswich Town"
    p = body["probabilities"]
    assert p["home"] > 0.6 and p["home"] + p["draw"] + p["away"] == pytest.approx(1, abs=3e-6)
    assert body["model"]["data_through"] == "2025-05-25" and body["model"]["matches"] == 4 * 380
    status, teams = get(f"{url}/teams?competition=E0")
    assert status == 200 and len(teams["teams"]) == 20


def test_errors_over_http(demo: tuple[str, list[str]]) -> None:
    url, _ = demo
    status, body = get(f"{url}/odds/ARS/XYZ")
    assert status == 404 and "XYZ" in body["message"]
    assert get(f"{url}/odds/ARS/ARS")[0] == 400
    assert get(f"{url}/odds/ARS/MCI?competition=D1")[0] == 503
