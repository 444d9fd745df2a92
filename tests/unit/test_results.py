"""The results loader on the quirks of real football-data files, and on broken files."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from entry.local.sample_data import SAMPLE_SEASON
from matchodds.core.results import (
    MAX_ATTENDANCE,
    MAX_GOALS,
    MAX_STATISTIC,
    ResultsError,
    parse_results,
    read_results,
    read_results_file,
)
from matchodds.core.teams import TeamTable

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
            "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,0\n\nE0,16/08/2024,Arsenal,Wolves,1,0\n",
            4,
            "ARS v WOL on 2024-08-16 is 1-0 here but 2-0 in week.csv, line 2",
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


STATS_ROW = {"Div": "E0", "Date": "16/08/2024", "HomeTeam": "Arsenal", "AwayTeam": "Wolves", "FTHG": "2", "FTAG": "0"}
STATS_ROW |= {"HTHG": "1", "HTAG": "0", "HST": "6", "AST": "2", "HC": "7", "AC": "3", "HY": "1", "AY": "2"}
STATS_ROW |= {"HBP": "10", "ABP": "20", "Attendance": "", "B365H": "1.2"}


def stats_file(**cells: str) -> str:
    """A one-match file with half-time goals and statistics, some cells replaced."""
    row = STATS_ROW | cells
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "NaN", "-1", "2.5", "1e20", "1e1", "1_0", "+2", "0x1", "", str(MAX_GOALS + 1)]
)
@pytest.mark.parametrize("column", ["FTHG", "FTAG"])
def test_goals_that_are_not_a_whole_number_up_to_the_maximum_are_refused(column: str, value: str) -> None:
    with pytest.raises(ResultsError) as raised:
        parse_results(stats_file(**{column: value}), "week.csv")
    assert raised.value.line == 2
    assert raised.value.problem == f"{column} {value!r} is not a number of goals (a whole number from 0 to {MAX_GOALS})"


BOUNDS = {"HTHG": MAX_GOALS, "HST": MAX_STATISTIC, "AST": MAX_STATISTIC, "HC": MAX_STATISTIC}
BOUNDS |= {"AC": MAX_STATISTIC, "HY": MAX_STATISTIC, "ABP": MAX_STATISTIC, "Attendance": MAX_ATTENDANCE}


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "2.5", "1e20", "many", "over"])
@pytest.mark.parametrize("column", sorted(BOUNDS))
def test_statistics_that_are_not_a_whole_number_in_bounds_are_refused(column: str, value: str) -> None:
    value = str(BOUNDS[column] + 1) if value == "over" else value
    with pytest.raises(ResultsError) as raised:
        parse_results(stats_file(**{column: value}), "week.csv")
    what = "number of goals" if column == "HTHG" else "count"
    assert raised.value.line == 2
    assert raised.value.problem == f"{column} {value!r} is not a {what} (a whole number from 0 to {BOUNDS[column]})"


def test_counts_as_the_real_files_write_them_are_read_up_to_their_bounds() -> None:
    """`3.0` as re-saved files print it, an empty statistic as not recorded, each bound itself accepted."""
    (match,) = parse_results(
        stats_file(FTHG=str(MAX_GOALS), FTAG="3.0", HTHG="1.0", HST="12.0", AST="", ABP=str(MAX_STATISTIC)), "x.csv"
    )
    assert (match.home_goals, match.away_goals) == (MAX_GOALS, 3)
    assert match.numbers["HTHG"] == 1 and match.numbers["HST"] == 12 and match.numbers["ABP"] == MAX_STATISTIC
    assert "AST" not in match.numbers and "Attendance" not in match.numbers


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_price_that_is_not_finite_is_a_missing_price(value: str) -> None:
    text = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,B365H,B365D,B365A\nE0,16/08/2024,Arsenal,Wolves,2,0,{},6,12\n"
    (match,) = parse_results(text.format(value), "x.csv")
    assert "B365H" not in match.numbers and match.prices("B365H", "B365D", "B365A") is None


def test_the_same_season_under_two_names_counts_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "E0-2024-25 (1).csv"
    copy.write_bytes(SAMPLE_SEASON.read_bytes())
    with caplog.at_level(logging.WARNING, logger="matchodds.core.results"):
        matches = read_results([SAMPLE_SEASON, copy])
    assert len(matches) == 380
    assert matches == read_results([SAMPLE_SEASON])
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warning.startswith(f"{copy} repeats 380 match(es) of {SAMPLE_SEASON} with the same score")
    assert "line 2 = line 2 (MUN v FUL on 2024-08-16)" in warning and "and 377 more" in warning


def test_a_copy_of_a_season_with_another_score_is_refused_naming_both_files(tmp_path: Path) -> None:
    lines = SAMPLE_SEASON.read_bytes().split(b"\n")
    assert lines[1].startswith(b"E0,16/08/2024,20:00,Man United,Fulham,1,0,H,")
    lines[1] = lines[1].replace(b"Fulham,1,0,H,", b"Fulham,1,1,D,", 1)
    copy = tmp_path / "E0-2024-25-corrected.csv"
    copy.write_bytes(b"\n".join(lines))
    with pytest.raises(ResultsError) as raised:
        read_results([SAMPLE_SEASON, copy])
    assert (raised.value.source, raised.value.line) == (str(copy), 2)
    assert raised.value.problem == (
        f"MUN v FUL on 2024-08-16 is 1-1 here but 1-0 in {SAMPLE_SEASON}, line 2; the same match cannot have two scores"
    )


def test_a_row_repeated_in_one_file_counts_once_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n"
        "E0,16/08/2024,Arsenal,Wolves,2,0\nE0,17/08/2024,Chelsea,Everton,1,1\nE0,16/08/2024,Arsenal,Wolves,2.0,0\n"
    )
    with caplog.at_level(logging.WARNING, logger="matchodds.core.results"):
        matches = parse_results(text, "week.csv")
    assert [(match.home, match.line) for match in matches] == [("ARS", 2), ("CHE", 3)]
    assert "week.csv repeats 1 match(es) of itself with the same score; each is counted once: line 4 = line 2" in (
        caplog.text
    )


def test_the_same_teams_and_day_in_another_competition_are_two_matches(caplog: pytest.LogCaptureFixture) -> None:
    table = TeamTable.load()
    text = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,0\nE1,16/08/2024,Arsenal,Wolves,0,3\n"
    with caplog.at_level(logging.WARNING, logger="matchodds.core.results"):
        matches = parse_results(text, "x.csv", table)
    assert [(match.competition, match.home, match.away) for match in matches] == [
        ("E0", "ARS", "WOL"),
        ("E1", "ARS", "WOL"),
    ]
    assert "repeats" not in caplog.text


def test_the_same_file_given_twice_counts_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="matchodds.core.results"):
        assert len(read_results([SAMPLE_SEASON, SAMPLE_SEASON])) == 380
    assert f"{SAMPLE_SEASON} repeats 380 match(es) of itself" in caplog.text
