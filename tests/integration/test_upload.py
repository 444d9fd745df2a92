"""`matchodds upload` against moto: the keys and bodies it writes, the demo's bucket by default, and its refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from entry.cli import main
from entry.local.provision import LocalNames, free_port
from entry.local.sample_data import SAMPLE_RESULTS
from entry.upload import local_client, upload_files
from matchodds.core.results import MAX_FILE_BYTES, MAX_SEASON_FIXTURES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration
FILES = Path(__file__).parents[1] / "data" / "football-data"
RESULTS = FILES / "E0-2024-25-head.csv"
FIXTURES = FILES / "E0-2024-25-fixtures.csv"


def stored(bucket: str, client: S3Client | None = None) -> dict[str, bytes]:
    """Every object under results/ and fixtures/, by key."""
    s3 = client or boto3.client("s3")
    keys = [
        item["Key"]
        for prefix in ("results/", "fixtures/")
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_results_and_fixtures_go_where_the_fit_and_the_pricing_read_them(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    week = tmp_path / "week.csv"
    week.write_bytes(b"home,away\nARS,CHE\n")
    assert main(["upload", str(RESULTS), str(FIXTURES), "--bucket", aws["bucket"]]) == 0
    assert main(["upload", str(week), "--competition", "E1", "--bucket", aws["bucket"]]) == 0
    assert stored(aws["bucket"]) == {
        "results/E0/2024-25.csv": RESULTS.read_bytes(),
        "fixtures/E0/E0-2024-25-fixtures.csv": FIXTURES.read_bytes(),
        "fixtures/E1/week.csv": week.read_bytes(),
    }
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"{RESULTS} -> s3://{aws['bucket']}/results/E0/2024-25.csv (results: a new fit of E0 will follow)",
        f"{FIXTURES} -> s3://{aws['bucket']}/fixtures/E0/E0-2024-25-fixtures.csv "
        "(fixtures: priced/E0/E0-2024-25-fixtures.csv and .json will follow)",
        f"{week} -> s3://{aws['bucket']}/fixtures/E1/week.csv (fixtures: priced/E1/week.csv and .json will follow)",
    ]


def test_next_weeks_file_of_the_season_replaces_this_weeks(aws: dict[str, str], tmp_path: Path) -> None:
    this_week, next_week = tmp_path / "this" / "E0.csv", tmp_path / "next" / "E0.csv"
    lines = RESULTS.read_bytes().splitlines(keepends=True)
    for path, rows in ((this_week, lines[:4]), (next_week, lines)):
        path.parent.mkdir()
        path.write_bytes(b"".join(rows))
    for path in (this_week, next_week):
        assert main(["upload", str(path), "--bucket", aws["bucket"]]) == 0
    assert stored(aws["bucket"]) == {"results/E0/2024-25.csv": next_week.read_bytes()}


def test_the_demos_seasons_upload_as_the_command_names_them(aws: dict[str, str]) -> None:
    keys = upload_files(boto3.client("s3"), aws["bucket"], SAMPLE_RESULTS)
    assert keys == [f"results/E0/{season}.csv" for season in ("2021-22", "2022-23", "2023-24", "2024-25")]
    assert stored(aws["bucket"])["results/E0/2021-22.csv"] == SAMPLE_RESULTS[0].read_bytes()


def test_a_malformed_file_uploads_nothing(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "E0.csv"
    broken.write_bytes(RESULTS.read_bytes().replace(b"Arsenal,Wolves,2,0,H", b"Arsenal,Wolves,2,0,A"))
    assert main(["upload", str(FIXTURES), str(broken), "--bucket", aws["bucket"]]) == 2
    assert stored(aws["bucket"]) == {}
    error = capsys.readouterr().err
    assert error == f"matchodds upload: {broken}, line 4: FTR 'A' contradicts the score 2-0; nothing uploaded\n"


@pytest.fixture
def demo_aws(aws_env: None) -> Iterator[str]:
    """moto in server mode as the demo runs it, with the demo's bucket; its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    local_client(url).create_bucket(Bucket=LocalNames().bucket)
    yield url
    server.stop()


def test_without_a_bucket_the_files_go_to_the_local_demo(demo_aws: str) -> None:
    assert main(["upload", str(RESULTS), "--endpoint-url", demo_aws]) == 0
    assert stored(LocalNames().bucket, local_client(demo_aws)) == {"results/E0/2024-25.csv": RESULTS.read_bytes()}


def test_no_local_stack_is_one_line_naming_what_to_do(aws_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    nothing = f"http://127.0.0.1:{free_port()}"
    assert main(["upload", str(RESULTS), "--endpoint-url", nothing]) == 1
    assert capsys.readouterr().err == (
        f"matchodds upload: no local stack at {nothing}: start it with `make demo`, or give --bucket for AWS\n"
    )


def test_a_file_over_the_size_limit_is_refused_unread(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 60 MB results file peaked at 483 MB in `upload` (issue 31): it is refused by its size alone."""
    big = tmp_path / "E0.csv"
    with big.open("wb") as handle:  # sparse: its size says what it is, without writing it
        handle.truncate(MAX_FILE_BYTES + 1)
    assert main(["upload", str(FIXTURES), str(big), "--bucket", aws["bucket"]]) == 2
    assert stored(aws["bucket"]) == {}
    assert capsys.readouterr().err == (
        f"matchodds upload: {big}: is {MAX_FILE_BYTES + 1:,} bytes; a results or fixtures file may have at most "
        f"{MAX_FILE_BYTES:,} (5 MiB): real ones are under 1 MB; nothing uploaded\n"
    )


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "E0,31/12/9999,15:00,Fulham,Everton,2,3,4",
            r"line 11: date '31/12/9999' \(9999-12-31\) is outside 1990-01-01",
        ),
        ("E0,01/03/2026,15:00,=HYPERLINK(1),Everton,2,3,4", "line 11: team name '=HYPERLINK\\(1\\)' starts with '='"),
        (f"E0,01/03/2026,15:00,{'A' * 120},Everton,2,3,4", "line 11: team name 'A{60}...' is 120 characters long"),
    ],
)
def test_a_fixtures_file_with_an_impossible_date_or_name_uploads_nothing(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path, row: str, problem: str
) -> None:
    """Nine good fixtures and one dated 31/12/9999 were uploaded, then crashed pricing (issue 31)."""
    week = tmp_path / "week.csv"
    clubs = ["Arsenal", "Chelsea", "Liverpool", "Man City", "Man United", "Newcastle", "Tottenham", "Brighton"]
    rows = [f"E0,12/12/2026,15:00,{clubs[n % 8]},{clubs[(n + 1 + n // 8) % 8]},2,3,4" for n in range(9)]
    week.write_text("Div,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A\n" + "\n".join([*rows, row]) + "\n")
    assert main(["upload", str(week), "--bucket", aws["bucket"]]) == 2
    assert stored(aws["bucket"]) == {}
    assert re.fullmatch(
        rf"matchodds upload: {re.escape(str(week))}, {problem}.*; nothing uploaded\n", capsys.readouterr().err
    )


def test_an_oversized_fixtures_file_uploads_nothing(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """5,700 fixtures over 2026-28 were accepted, and stopped every fit of the league (issue 31)."""
    clubs = [f"Club {number}" for number in range(30)]
    pairs = [(home, away) for home in clubs for away in clubs if home != away]  # 870 a round
    rows = [
        f"E0,{date(2026, 8, 1) + timedelta(days=n // 870):%d/%m/%Y},15:00,{pairs[n % 870][0]},{pairs[n % 870][1]}"
        for n in range(MAX_SEASON_FIXTURES + 1)
    ]
    big = tmp_path / "season.csv"
    big.write_text("Div,Date,Time,HomeTeam,AwayTeam\n" + "\n".join(rows) + "\n")
    assert main(["upload", str(big), "--bucket", aws["bucket"]]) == 2
    assert stored(aws["bucket"]) == {}
    assert capsys.readouterr().err.startswith(
        f"matchodds upload: {big}, line {MAX_SEASON_FIXTURES + 2}: more than {MAX_SEASON_FIXTURES:,} fixtures"
    )


def test_a_fixtures_file_is_stored_under_the_key_rule(aws: dict[str, str], tmp_path: Path) -> None:
    """`upload week.CSV` wrote fixtures/E0/week.CSV, which the pricing notification (suffix .csv) never saw."""
    week = tmp_path / "week.CSV"
    week.write_bytes(b"home,away\nars,mci\n")
    assert main(["upload", str(week), "--competition", "E0", "--bucket", aws["bucket"]]) == 0
    assert main(["upload", str(FIXTURES), "--name", "Week 35.CSV", "--bucket", aws["bucket"]]) == 0
    assert stored(aws["bucket"]) == {
        "fixtures/E0/week.csv": week.read_bytes(),
        "fixtures/E0/Week-35.csv": FIXTURES.read_bytes(),
    }
