"""The README's demo command, end to end: moto server, fit, S3 event, precompute, real HTTP, Ctrl-C."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
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
            "--max-r-hat",
            "1.05",
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
    assert get(f"{url}/odds/ARS/MCI?competition=N1")[0] == 404  # not served by the demo
    status, served = get(f"{url}/competitions")
    assert status == 200 and [(c["code"], c["status"]) for c in served["competitions"]] == [
        ("E0", "published"),
        *((code, "pending") for code in ("D1", "F1", "I1", "SP1")),
    ]


def request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type, text) of one real HTTP request."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}), timeout=30) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_markets_bulk_and_table_over_http(demo: tuple[str, list[str]]) -> None:
    url, _ = demo
    status, body = get(f"{url}/odds/ARS/MCI")
    assert status == 200 and len(body["markets"]["asian_handicap"]) == 21
    interval = body["credible_intervals"]["home"]
    assert interval["low"] < body["probabilities"]["home"] < interval["high"]
    fixtures = json.dumps([{"home": "ARS", "away": "MCI"}, {"home": "LIV", "away": "XYZ"}]).encode()
    status, _, text = request(f"{url}/odds", fixtures, {"Content-Type": "application/json"})
    bulk = json.loads(text)
    assert status == 200 and bulk["fixtures"][0]["probabilities"] == body["probabilities"]
    assert bulk["fixtures"][1]["error"] == "unknown_team"
    status, content_type, text = request(f"{url}/odds?format=csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and content_type.startswith("text/csv") and len(rows) == 380
    arsenal = next(row for row in rows if (row["home"], row["away"]) == ("ARS", "MCI"))
    assert float(arsenal["p_home"]) == body["probabilities"]["home"]


def test_page_docs_and_exports(demo: tuple[str, list[str]]) -> None:
    url, lines = demo
    status, content_type, page = request(f"{url}/")
    assert status == 200 and content_type.startswith("text/html") and 'api("competitions")' in page
    status, _, document = request(f"{url}/openapi.json")
    assert status == 200 and "/odds/{home}/{away}" in json.loads(document)["paths"]
    assert request(f"{url}/docs")[0] == 200
    moto_url = re.search(r"local AWS \(moto\) on (http://\S+);", "".join(lines)).group(1)
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    latest = json.loads(s3.get_object(Bucket="matchodds-local", Key="exports/E0/latest.json")["Body"].read())
    assert len(latest["fixtures"]) == 380
    assert latest == json.loads(request(f"{url}/odds")[2])


def test_a_fixtures_file_copied_into_the_bucket_comes_out_priced(demo: tuple[str, list[str]]) -> None:
    url, lines = demo
    moto_url = re.search(r"local AWS \(moto\) on (http://\S+);", "".join(lines)).group(1)
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.put_object(Bucket="matchodds-local", Key="fixtures/E0/next week.csv", Body=b"home,away\nARS,MCI\nLIV,XYZ\n")
    deadline = time.monotonic() + 30
    while True:
        try:
            body = s3.get_object(Bucket="matchodds-local", Key="priced/E0/next week.csv")["Body"].read()
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "the fixtures file was not priced within 30 s"
            time.sleep(0.2)
    arsenal, liverpool = csv.DictReader(io.StringIO(body.decode("utf-8")))
    served = json.loads(request(f"{url}/odds/ARS/MCI")[2])
    assert float(arsenal["mo_p_home"]) == pytest.approx(served["probabilities"]["home"], abs=1e-4)
    assert arsenal["mo_version"] == served["model"]["version"]
    assert liverpool["mo_p_home"] == "" and "XYZ" in liverpool["mo_note"]
