"""Which keys a user's file goes to (matchodds.core.uploads): results or fixtures, its competitions, its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from entry.local.sample_data import SAMPLE_SEASON
from matchodds.core.keys import ContractError
from matchodds.core.results import MAX_FILE_BYTES, FileKind, ResultsError, file_kind, parse_fixtures, parse_results
from matchodds.core.uploads import plan, uploads_of

pytestmark = pytest.mark.unit
FILES = Path(__file__).parents[1] / "data" / "football-data"
SHIPPED = Path(__file__).parents[2] / "data" / "football-data"
RESULTS = FILES / "E0-2024-25-head.csv"
FIXTURES = FILES / "E0-2024-25-fixtures.csv"
# Rows of three divisions, as football-data's all-leagues fixtures.csv has them, CRLF as it ships.
ALL_LEAGUES = (
    "Div,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A\r\n"
    "E0,24/05/2025,16:00,Arsenal,Chelsea,2.1,3.5,3.6\r\n"
    "SP1,24/05/2025,20:00,Barcelona,Getafe,1.2,7,13\r\n"
    ",,,,,,,\r\n"
    "E0,24/05/2025,16:00,Liverpool,Wolves,1.3,5.5,9\r\n"
    "D1,24/05/2025,15:30,Bayern Munich,Augsburg,1.2,7,12\r\n"
)


def one_file(path: Path, competition: str | None = None, name: str | None = None) -> list[tuple[str, str, str]]:
    """(kind, competition, key) of each object a file makes."""
    return [(u.kind, u.competition, u.key) for u in uploads_of(path.read_bytes(), str(path), competition, name)]


def test_what_each_kind_of_file_says_it_is() -> None:
    assert file_kind(RESULTS.read_text(encoding="utf-8-sig")) is FileKind.RESULTS
    assert file_kind(FIXTURES.read_text(encoding="utf-8-sig")) is FileKind.FIXTURES
    assert file_kind("\nHome, Away\nARS,CHE\n") is FileKind.PLAIN_FIXTURES


def test_a_results_file_is_stored_as_its_season_byte_for_byte() -> None:
    [upload] = uploads_of(RESULTS.read_bytes(), str(RESULTS))
    assert (upload.kind, upload.competition, upload.key) == (FileKind.RESULTS, "E0", "results/E0/2024-25.csv")
    assert upload.body == RESULTS.read_bytes() and upload.source == str(RESULTS)
    assert upload.follows == "results: a new fit of E0 will follow"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (SAMPLE_SEASON, "results/E0/2024-25.csv"),  # the demo's season, named E0-2024-25.csv
        (SHIPPED / "E0" / "2019-20.csv", "results/E0/2019-20.csv"),  # its restart ran into July 2020
        (FILES / "E0-2014-15-head.csv", "results/E0/2014-15.csv"),  # two-digit years
        (FILES / "F1-2013-14-tail.csv", "results/F1/2013-14.csv"),  # the end of a season
    ],
)
def test_a_season_is_the_one_the_fit_gives_the_file(path: Path, key: str) -> None:
    assert one_file(path) == [(FileKind.RESULTS, key.split("/")[1], key)]


def test_a_fixtures_file_keeps_its_name_and_says_where_its_prices_go() -> None:
    [upload] = uploads_of(FIXTURES.read_bytes(), str(FIXTURES))
    assert (upload.kind, upload.key) == (FileKind.FIXTURES, "fixtures/E0/E0-2024-25-fixtures.csv")
    assert upload.body == FIXTURES.read_bytes()
    assert upload.follows == "fixtures: priced/E0/E0-2024-25-fixtures.csv and .json will follow"


def test_a_name_given_replaces_the_files_own() -> None:
    # Made one the key rule takes, as a file's own name is (issue 31).
    assert one_file(FIXTURES, name="week 34.csv") == [(FileKind.FIXTURES, "E0", "fixtures/E0/week-34.csv")]
    assert one_file(FIXTURES, name="Week.CSV") == [(FileKind.FIXTURES, "E0", "fixtures/E0/Week.csv")]
    assert one_file(RESULTS, name="E0.csv") == [(FileKind.RESULTS, "E0", "results/E0/E0.csv")]
    assert one_file(RESULTS, name="E0.CSV") == [(FileKind.RESULTS, "E0", "results/E0/E0.csv")]
    for kind in (RESULTS, FIXTURES):
        with pytest.raises(ContractError, match="name 'E0.txt' does not end in .csv; the fit and pricing read only"):
            one_file(kind, name="E0.txt")
        for path in ("a/b.csv", "sub\\y.csv", "../x.csv"):
            with pytest.raises(ContractError, match="is a path; give a file name"):
                one_file(kind, name=path)
        with pytest.raises(ContractError, match="no letter or digit"):
            one_file(kind, name="__.csv")


@pytest.mark.parametrize(
    ("file_name", "stored"),
    [
        ("week.CSV", "week.csv"),
        ("week 34.csv", "week-34.csv"),
        ("_week.csv", "week.csv"),
        ("semaine été.csv", "semaine--t-.csv"),
        ("week", "week.csv"),
    ],
)
def test_a_fixtures_file_is_stored_under_a_name_the_key_rule_takes(tmp_path: Path, file_name: str, stored: str) -> None:
    """`week.CSV` was stored as fixtures/E0/week.CSV, which no notification (suffix .csv) ever priced (issue 31)."""
    (tmp_path / file_name).write_bytes(FIXTURES.read_bytes())
    assert one_file(tmp_path / file_name) == [(FileKind.FIXTURES, "E0", f"fixtures/E0/{stored}")]
    plain = tmp_path / "plain" / file_name
    plain.parent.mkdir()
    plain.write_bytes(b"home,away\nARS,CHE\n")
    assert one_file(plain, "E0") == [(FileKind.PLAIN_FIXTURES, "E0", f"fixtures/E0/{stored}")]


def test_week_csv_and_week_CSV_are_one_key_so_one_at_a_time(tmp_path: Path) -> None:
    files = []
    for name in ("week.csv", "week.CSV"):
        (tmp_path / name).write_bytes(FIXTURES.read_bytes())
        files.append((str(tmp_path / name), FIXTURES.read_bytes()))
    with pytest.raises(
        ResultsError, match=r"week\.CSV: would be stored as fixtures/E0/week\.csv, as .*week\.csv would"
    ):
        plan(files)


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("decoded a file over the limit")

    monkeypatch.setattr("matchodds.core.uploads.decode", never)
    with pytest.raises(ResultsError, match=rf"big\.csv: is {MAX_FILE_BYTES + 1:,} bytes"):
        uploads_of(b"x" * (MAX_FILE_BYTES + 1), "big.csv")


def test_a_plain_home_away_file_needs_its_competition(tmp_path: Path) -> None:
    week = tmp_path / "week.csv"
    week.write_bytes(b"home,away\nARS,CHE\nLiverpool,Wolves\n")
    assert one_file(week, "E0") == [(FileKind.PLAIN_FIXTURES, "E0", "fixtures/E0/week.csv")]
    with pytest.raises(
        ResultsError, match=r"week\.csv: a plain home,away file has no Div column: give its competition"
    ):
        one_file(week)
    with pytest.raises(ContractError, match="competition 'e0' is not a code like E0 or SP1"):
        one_file(week, "e0")


def test_a_file_of_several_divisions_goes_to_each_cut_to_its_rows(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.csv"
    fixtures.write_bytes(ALL_LEAGUES.encode())
    uploads = uploads_of(fixtures.read_bytes(), str(fixtures))
    assert [(u.competition, u.key) for u in uploads] == [
        ("E0", "fixtures/E0/fixtures.csv"),
        ("SP1", "fixtures/SP1/fixtures.csv"),
        ("D1", "fixtures/D1/fixtures.csv"),
    ]
    header, lines = ALL_LEAGUES.split("\r\n")[0], ALL_LEAGUES.split("\r\n")
    assert uploads[0].body.decode() == "\r\n".join([header, lines[1], lines[4]]) + "\r\n"  # each row as written
    for upload in uploads:
        parsed = parse_fixtures(upload.body.decode(), upload.key)
        assert {fixture.competition for fixture in parsed.fixtures} == {upload.competition}
    assert one_file(fixtures, "SP1") == [(FileKind.FIXTURES, "SP1", "fixtures/SP1/fixtures.csv")]
    with pytest.raises(ResultsError, match=r"fixtures\.csv: no rows of I1; its divisions are E0, SP1, D1"):
        one_file(fixtures, "I1")


def test_a_results_file_of_several_divisions_is_cut_too(tmp_path: Path) -> None:
    both = tmp_path / "both.csv"
    both.write_bytes(
        b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR\n"
        b"E0,16/08/2024,Man United,Fulham,1,0,H\n"
        b"D1,23/08/2024,M'gladbach,Leverkusen,2,3,A\n"
        b"E0,17/08/2024,Ipswich,Liverpool,0,2,A\n"
    )
    uploads = uploads_of(both.read_bytes(), str(both))
    assert [u.key for u in uploads] == ["results/E0/2024-25.csv", "results/D1/2024-25.csv"]
    for upload, count in zip(uploads, (2, 1), strict=True):
        matches = parse_results(upload.body.decode(), upload.key)
        assert len(matches) == count and {match.competition for match in matches} == {upload.competition}


def test_a_malformed_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    lines = RESULTS.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b"Arsenal,Wolves,2,0,H", b"Arsenal,Wolves,2,x,H")
    broken = tmp_path / "E0.csv"
    broken.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ResultsError, match=r"E0\.csv, line 4: FTAG 'x' is not a number of goals"):
        plan([(str(RESULTS), RESULTS.read_bytes()), (str(broken), broken.read_bytes())])


def test_a_div_that_is_no_competition_code_is_refused_naming_its_line(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"Div,Date,HomeTeam,AwayTeam\nE0,24/05/2025,Arsenal,Chelsea\nE 1,24/05/2025,Leeds,Burnley\n")
    with pytest.raises(ResultsError, match=r"odd\.csv, line 3: Div 'E 1' is not a competition code"):
        one_file(odd)


def test_two_files_that_would_take_one_key_are_refused(tmp_path: Path) -> None:
    again = tmp_path / "E0.csv"  # next week's E0.csv is this season again: one key, so one at a time
    again.write_bytes(RESULTS.read_bytes())
    files = [(str(RESULTS), RESULTS.read_bytes()), (str(again), again.read_bytes())]
    with pytest.raises(ResultsError, match=rf"{again}: would be stored as results/E0/2024-25.csv, as {RESULTS} would"):
        plan(files)
    with pytest.raises(ResultsError, match="would be stored as fixtures/E0/one.csv"):
        plan([(str(FIXTURES), FIXTURES.read_bytes())] * 2, name="one.csv")
    assert [u.key for u in plan([files[0], (str(FIXTURES), FIXTURES.read_bytes())])] == [
        "results/E0/2024-25.csv",
        "fixtures/E0/E0-2024-25-fixtures.csv",
    ]
