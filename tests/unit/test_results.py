"""The results loader on the quirks of real football-data files, and on broken files."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from matchodds.local import SAMPLE_SEASON
from matchodds.results import ResultsError, parse_results, read_results, read_results_file
from matchodds.teams import TeamTable

pytestmark = pytest.mark.unit
FILES = Path(__file__).parents[1] / "data" / "football-data"


def test_bom_crlf_and_four_digit_years() -> None:
    raw = (FILES / "E0-2024-25-head.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    matches = read_results_file(FILES / "E0-2024-25-head.csv")
    first = matches[0]
    assert (first.competition, first.date, first.home, first.away) == ("E0", date(2024, 8, 16), "MUN", "FUL")
    assert (first.home_goals, first.away_goals, first.result, first.season) == (1, 0, "H", "2024-25")
    assert first.prices("PSCH", "PSCD", "PSCA") is not None and first.numbers["B365H"] == 1.6


def test_two_digit_years() -> None:
    matches = read_results_file(FILES / "E0-2014-15-head.csv")
    assert matches[0].date == date(2014, 8, 16) and matches[0].season == "2014-15"


def test_float_goals_and_trailing_bare_comma_rows() -> None:
    matches = read_results_file(FILES / "F1-2013-14-tail.csv")
    assert len(matches) == 5  # the sixth line is a row of bare commas
    assert matches[-1].home == "TOU" and (matches[-1].home_goals, matches[-1].away_goals) == (3, 1)


def test_renamed_over_under_headers_are_just_other_columns() -> None:
    matches = read_results_file(FILES / "D1-2023-24-head.csv")
    assert len(matches) == 5 and "B365_2_5" in matches[0].numbers


def test_replacement_characters_and_windows_1252_bytes(tmp_path: Path) -> None:
    assert len(read_results_file(FILES / "E0-2004-05-rennie.csv")) == 3
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(
        b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,Referee\nE0,14/08/04,Arsenal,Everton,4,1,H,M Dean\xe9\n"
    )
    assert read_results_file(legacy)[0].home == "ARS"


def test_empty_odds_cells_are_missing_prices(tmp_path: Path) -> None:
    path = tmp_path / "odds.csv"
    path.write_text(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,B365H,B365D,B365A\nE0,16/08/2024,Arsenal,Wolves,2,0,1.2,,12\n"
    )
    assert read_results_file(path)[0].prices("B365H", "B365D", "B365A") is None


def test_whole_shipped_season() -> None:
    matches = read_results([SAMPLE_SEASON])
    assert len(matches) == 380
    teams = {match.home for match in matches}
    assert len(teams) == 20 and {"ARS", "MCI", "LIV", "NFO", "IPS"} <= teams
    assert [match.date for match in matches] == sorted(match.date for match in matches)


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("Div,Date,HomeTeam,AwayTeam,FTHG\n", 1, "missing column(s) FTAG"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,two,0\n", 2, "FTHG 'two' is not a number"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,-1\n", 2, "FTAG '-1'"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,2024-08-16,Arsenal,Wolves,2,0\n", 2, "date '2024-08-16'"),
        (
            "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,0\n\nE0,16/08/2024,Arsenal,Wolves,2,0\n",
            4,
            "listed twice (first on line 2)",
        ),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Arsenal,2,0\n", 2, "plays itself"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR\nE0,16/08/2024,Arsenal,Wolves,2,0,A\n", 2, "contradicts"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,0\nE0,17/08/2024,Chel", 3, "truncated"),
        ("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n", None, "no matches"),
        ("", None, "empty"),
    ],
)
def test_broken_files_name_file_and_line(content: str, line: int | None, problem: str) -> None:
    with pytest.raises(ResultsError) as raised:
        parse_results(content, "week.csv")
    assert raised.value.line == line and problem in str(raised.value)
    assert str(raised.value).startswith("week.csv" + (f", line {line}" if line else ""))


def test_unknown_team_gets_a_made_up_code_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    table = TeamTable.load()
    with caplog.at_level(logging.WARNING):
        matches = parse_results(
            "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2025,Arsenal,Atlantis,2,0\n", "x.csv", table
        )
    made = matches[0].away
    assert len(made) == 3 and made.isalpha() and made.isupper() and made not in {"ARS"}
    assert "Atlantis" in caplog.text and table.name(made) == "Atlantis"
    assert table.code("E0", "Atlantis") == made  # stable within the run
