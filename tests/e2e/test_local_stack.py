"""The README's demo command, end to end: moto server, fit, S3 event, precompute, real HTTP, Ctrl-C.

The demo is waited on by its progress, not by the clock: its log is read line by line as it comes, and
the wait fails only when the demo exits or falls silent for QUIET_SECONDS (its longest silent stretch
is the fit: 214 s on a loaded 2-core machine), never because a slow machine took longer than usual.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

pytestmark = pytest.mark.e2e
QUIET_SECONDS = 900.0
# A whole-table reply reads 380 items through moto's serialiser: 7 s idle, several times that under load.
# Checks are on what is answered; a reply that never comes still fails.
REQUEST_TIMEOUT_SECONDS = 600
SERVING = "Ctrl-C stops everything."
# Any free port (the demo prints the one it bound), fewer draws than the model's own, a looser gate.
SAMPLER = ["--seed", "2", "--warmup", "300", "--samples", "300", "--max-r-hat", "1.05", "--min-ess", "100"]
# Two of the shipped leagues (each fit costs a minute or two here): the first served, the second on its way.
DEMO_ARGS = ["--port", "0", "--moto-port", "0", "--competitions", "E0,D1", *SAMPLER]


def request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type, text) of one real HTTP request."""
    ask = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(ask, timeout=REQUEST_TIMEOUT_SECONDS) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def get(url: str) -> tuple[int, Any]:
    """(status, parsed JSON) of one GET."""
    status, _, text = request(url)
    return status, json.loads(text)


class DemoLog:
    """The demo's output, read by a thread as it comes, so that waiting can watch it grow."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._grown = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="demo-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._grown:
                self.lines.append(line.rstrip("\n"))
                self._grown.notify_all()
        with self._grown:
            self._grown.notify_all()  # end of output: the demo exited

    def text(self) -> str:
        return "\n".join(self.lines)

    def tail(self, count: int = 25) -> str:
        return "\n".join(self.lines[-count:])

    def wait_for(self, *needles: str, doing: str, start: int = 0, quiet_seconds: float = QUIET_SECONDS) -> str:
        """The first line from `start` on that holds one of `needles`; fails if the demo exits or falls silent."""
        began = time.monotonic()
        with self._grown:
            seen, heard = start, time.monotonic()
            while True:
                for line in self.lines[seen:]:
                    if any(needle in line for needle in needles):
                        return line
                if len(self.lines) > seen:
                    seen, heard = len(self.lines), time.monotonic()
                elif not self._reader.is_alive() or time.monotonic() - heard > quiet_seconds:
                    break
                self._grown.wait(timeout=1.0)
        waited = time.monotonic() - began
        how = f"it exited ({self._exit_code()})" if not self._reader.is_alive() else f"silent {quiet_seconds:.0f} s"
        pytest.fail(f"demo did not {doing} in {waited:.0f} s ({how}): last lines:\n{self.tail()}")

    def _exit_code(self) -> int | None:
        """Its exit code once its output has ended (None if it closed its output and lives on)."""
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Stop it at once, reaped before anything reads its state."""
        self.process.kill()
        self.process.wait()
        self._reader.join()

    def close(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as a person stops it; the exit code once it has stopped and its output is read."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"demo did not stop in {timeout:.0f} s after Ctrl-C: last lines:\n{self.tail()}")
        self._reader.join(timeout=timeout)
        return code


def start_demo() -> DemoLog:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MATCHODDS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "entry", "demo", *DEMO_ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    return DemoLog(process)


def serving_url(log: DemoLog) -> str:
    """The API's URL once the demo says it serves, and only once it answers there."""
    log.wait_for(SERVING, doing="serve")
    url = re.search(r"The query API is up on (http://\S+?);", log.text()).group(1)
    status, body = get(f"{url}/teams")
    assert status == 200 and body["teams"], f"the demo said it serves but {url}/teams answered {status}"
    return url


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, DemoLog]]:
    log = start_demo()
    try:
        url = serving_url(log)
    except BaseException:
        log.kill()
        raise
    yield url, log
    assert log.close() == 0, log.tail()
    assert "shutting down" in log.text()
    assert "Traceback" not in log.text(), log.text()


def test_demo_prints_real_fixture_odds(demo: tuple[str, DemoLog]) -> None:
    _, log = demo
    text = log.text()
    assert "Arsenal v Manchester City" in text and "Liverpool v Manchester United" in text
    assert "football-data.co.uk" in text and "curl" in text


def test_odds_over_http(demo: tuple[str, DemoLog]) -> None:
    url, _ = demo
    status, body = get(f"{url}/odds/LIV/ips")
    assert status == 200 and body["away"]["name"] == "Ipswich Town"
    p = body["probabilities"]
    assert p["home"] > 0.6 and p["home"] + p["draw"] + p["away"] == pytest.approx(1, abs=3e-6)
    assert body["model"]["data_through"] == "2025-05-25" and body["model"]["matches"] == 4 * 380
    status, teams = get(f"{url}/teams?competition=E0")
    assert status == 200 and len(teams["teams"]) == 20


def test_errors_over_http(demo: tuple[str, DemoLog]) -> None:
    url, _ = demo
    status, body = get(f"{url}/odds/ARS/XYZ")
    assert status == 404 and "XYZ" in body["message"]
    assert get(f"{url}/odds/ARS/ARS")[0] == 400
    assert get(f"{url}/odds/ARS/MCI?competition=F1")[0] == 404  # not among this demo's --competitions
    status, served = get(f"{url}/competitions")
    assert status == 200 and [c["code"] for c in served["competitions"]] == ["E0", "D1"]
    assert served["competitions"][0]["status"] == "published"
    if served["competitions"][1]["status"] == "pending":  # D1's fit still runs: on its way, not a fault
        assert get(f"{url}/odds/BAY/BVB?competition=D1")[0] == 503


def test_markets_bulk_and_table_over_http(demo: tuple[str, DemoLog]) -> None:
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


def test_page_docs_and_exports(demo: tuple[str, DemoLog]) -> None:
    url, log = demo
    status, content_type, page = request(f"{url}/")
    assert status == 200 and content_type.startswith("text/html") and 'api("competitions")' in page
    status, _, document = request(f"{url}/openapi.json")
    assert status == 200 and "/odds/{home}/{away}" in json.loads(document)["paths"]
    assert request(f"{url}/docs")[0] == 200
    moto_url = re.search(r"local AWS \(moto\) on (http://\S+)", log.text()).group(1)
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    latest = json.loads(s3.get_object(Bucket="matchodds-local", Key="exports/E0/latest.json")["Body"].read())
    assert len(latest["fixtures"]) == 380
    assert latest == json.loads(request(f"{url}/odds")[2])


def test_the_demo_serves_a_round_of_real_fixtures_with_their_prices(demo: tuple[str, DemoLog]) -> None:
    """The demo uploads the opening round of 2024-25 once E0 is out; GET /fixtures lists it, priced."""
    url, _ = demo
    # Uploaded before the API came up; the pricing poller stores it soon after. The bound only has to
    # outlast a loaded machine (the pricing Lambda's own log lines are not in the demo's log to wait on).
    deadline = time.monotonic() + 300
    while len((round_ := get(f"{url}/fixtures?competition=E0&from=2024-08-16&to=2024-08-17")[1])["fixtures"]) < 7:
        assert time.monotonic() < deadline, "the demo's round was not stored for GET /fixtures"
        time.sleep(0.5)
    assert len(round_["fixtures"]) == 7  # of the round's 10 (16 to 19 August): the range asked for
    united = round_["fixtures"][0]
    assert (united["date"], united["home"]["code"], united["away"]["code"]) == ("2024-08-16", "MUN", "FUL")
    assert united["bookmakers"]["PS"]["prices"] == {"home": 1.63, "draw": 4.38, "away": 5.3}
    assert united["probabilities"] == get(f"{url}/odds/MUN/FUL")[1]["probabilities"]


def test_a_fixtures_file_copied_into_the_bucket_comes_out_priced(demo: tuple[str, DemoLog]) -> None:
    url, log = demo
    moto_url = re.search(r"local AWS \(moto\) on (http://\S+)", log.text()).group(1)
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.put_object(Bucket="matchodds-local", Key="fixtures/E0/next-week.csv", Body=b"home,away\nARS,MCI\nLIV,XYZ\n")
    deadline = time.monotonic() + 30
    while True:
        try:
            body = s3.get_object(Bucket="matchodds-local", Key="priced/E0/next-week.csv")["Body"].read()
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "the fixtures file was not priced within 30 s"
            time.sleep(0.2)
    arsenal, liverpool = csv.DictReader(io.StringIO(body.decode("utf-8")))
    served = json.loads(request(f"{url}/odds/ARS/MCI")[2])
    assert float(arsenal["mo_p_home"]) == pytest.approx(served["probabilities"]["home"], abs=1e-4)
    assert arsenal["mo_version"] == served["model"]["version"]
    assert liverpool["mo_p_home"] == "" and "XYZ" in liverpool["mo_note"]


def test_the_demo_log_has_no_jax_backend_message_and_no_warning(demo: tuple[str, DemoLog]) -> None:
    _, log = demo
    assert "Unable to initialize backend" not in log.text() and "backend 'tpu'" not in log.text(), log.text()
    assert not [line for line in log.lines if " WARNING " in line or " ERROR " in line], log.text()


def test_a_client_that_disconnects_mid_reply_is_one_line_in_the_log(demo: tuple[str, DemoLog]) -> None:
    url, log = demo
    address = urlsplit(url).hostname, urlsplit(url).port
    start = len(log.lines)
    with socket.create_connection(address, timeout=300) as client:
        client.sendall(b"GET /odds HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the whole table, 0.9 MB
        assert client.recv(12) == b"HTTP/1.1 200"  # the reply has begun
        # Closed with a reset (linger 0), as a killed client's connection ends: the rest has nowhere to go.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    line = log.wait_for("disconnected", "Traceback", doing="log the disconnect", start=start)
    # Other leagues' fits log beside it (they run in the background): the disconnect itself is one line.
    about_it = [seen for seen in log.lines[start:] if "disconnect" in seen or "Traceback" in seen or "Error" in seen]
    assert about_it == [line] and "client 127.0.0.1 disconnected during 'GET /odds HTTP/1.1'" in line
    assert get(f"{url}/teams")[0] == 200  # and the server carries on


def test_the_second_league_arrives_with_no_other_command(demo: tuple[str, DemoLog]) -> None:
    url, log = demo
    log.wait_for("D1 served: version", doing="serve D1 after E0")
    status, served = get(f"{url}/competitions")
    d1 = served["competitions"][1]
    assert (d1["code"], d1["status"], d1["team_count"], d1["data_through"]) == ("D1", "published", 18, "2024-05-18")
    status, body = get(f"{url}/odds/BAY/BVB?competition=D1")
    assert status == 200 and body["home"]["name"] == "Bayern Munich"


@pytest.mark.parametrize(
    ("competition", "teams", "round_size", "champion"), [("E0", 20, 10, "LIV"), ("D1", 18, 9, "LEV")]
)
def test_every_league_of_the_demo_serves_its_table_and_a_round(
    demo: tuple[str, DemoLog], competition: str, teams: int, round_size: int, champion: str
) -> None:
    """The issue's "done when": /table and /fixtures serve on the demo for every competition it serves."""
    url, log = demo
    if competition != "E0":
        log.wait_for(f"{competition} served: version", doing=f"serve {competition}")
    status, table = get(f"{url}/table?competition={competition}")
    # The shipped seasons are finished (E0 2024-25, the others 2023-24): the projection is the final table.
    assert status == 200 and len(table["teams"]) == teams, table
    leader = table["teams"][0]
    assert (leader["position"], leader["code"], leader["projection"]["p_title"]) == (1, champion, 1.0)
    status, _, text = request(f"{url}/table?competition={competition}&format=csv")
    assert status == 200 and len(list(csv.DictReader(io.StringIO(text)))) == teams
    # The league's opening round, uploaded by the demo once the league is out, stored by the pricing poller.
    deadline = time.monotonic() + 300
    while len((round_ := get(f"{url}/fixtures?competition={competition}")[1])["fixtures"]) < round_size:
        assert time.monotonic() < deadline, f"{competition}'s sample round was not stored for GET /fixtures"
        time.sleep(0.5)
    assert len(round_["fixtures"]) == round_size
    first = round_["fixtures"][0]
    pair = f"{first['home']['code']}/{first['away']['code']}"
    assert first["probabilities"] == get(f"{url}/odds/{pair}?competition={competition}")[1]["probabilities"]
    assert first["bookmakers"]["B365"]["prices"]["home"] > 1


def test_uploads_end_in_new_odds_a_new_league_and_priced_fixtures(demo: tuple[str, DemoLog], tmp_path: Any) -> None:
    """The issue's "done when": a newer results file of a served league ends in its new version; a file of a
    division the project has never seen ends in that league being served; each with no other command."""
    from tests.unit.test_made_up_codes import eredivisie_season

    url, log = demo
    log.wait_for("D1 served: version", doing="serve D1")  # the fits run one at a time: E0's refit comes next
    before = get(f"{url}/odds/ARS/MCI")[1]["model"]["version"]
    moto_url = re.search(r"local AWS \(moto\) on (http://\S+)", log.text()).group(1)
    eredivisie = tmp_path / "N1.csv"
    eredivisie.write_bytes(eredivisie_season())
    start = len(log.lines)
    upload = subprocess.run(
        [sys.executable, "-m", "entry", "upload", "data/football-data/E0/2024-25.csv", str(eredivisie)]
        + ["--endpoint-url", moto_url],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert upload.returncode == 0, upload.stderr
    assert "results/E0/2024-25.csv" in upload.stdout and "results/N1/2024-25.csv" in upload.stdout
    log.wait_for("E0 served: version", doing="serve E0's new version", start=start)
    log.wait_for("N1 served: version", doing="serve N1, a league it had never seen", start=start)
    after = get(f"{url}/odds/ARS/MCI")[1]["model"]
    assert after["version"] > before and after["matches"] == 4 * 380  # the upload replaced a season, added none
    status, teams = get(f"{url}/teams?competition=N1")
    assert status == 200 and len(teams["teams"]) == 20
    status, served = get(f"{url}/competitions")
    assert [(c["code"], c["status"]) for c in served["competitions"]] == [
        ("E0", "published"),
        ("D1", "published"),
        ("N1", "published"),
    ]
