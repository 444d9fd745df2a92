"""The limits every results or fixtures file meets before anything reads it further (issue 31): its size,
rows, dates, a fixtures season's size, team names, and the header read as CSV."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from matchodds.core.results import (
    MAX_FILE_BYTES,
    MAX_FILE_ROWS,
    MAX_SEASON_FIXTURES,
    MAX_SEASON_TEAMS,
    FileKind,
    ResultsError,
    check_file_size,
    date_limits,
    file_kind,
    parse_any_fixtures,
    parse_fixtures,
    parse_plain_fixtures,
    parse_results,
    read_bytes,
)
from matchodds.core.teams import MAX_TEAM_NAME, team_name_problem

pytestmark = pytest.mark.unit
TODAY = date(2025, 3, 1)
RESULTS_HEADER = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n"
FIXTURES_HEADER = "Div,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A\n"


def fixtures(*rows: str) -> str:
    return FIXTURES_HEADER + "".join(f"{row}\n" for row in rows)


def results(*rows: str) -> str:
    return RESULTS_HEADER + "".join(f"{row}\n" for row in rows)


# --- size, before reading ---------------------------------------------------------------------------------


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "E0.csv"
    with big.open("wb") as handle:  # sparse: no need to write 5 MiB
        handle.truncate(MAX_FILE_BYTES + 1)

    def never(*_: object, **__: object) -> bytes:
        raise AssertionError("read a file over the limit")

    monkeypatch.setattr(Path, "read_bytes", never)
    with pytest.raises(ResultsError, match=rf"E0\.csv: is {MAX_FILE_BYTES + 1:,} bytes; .* at most {MAX_FILE_BYTES:,}"):
        read_bytes(big)


def test_a_file_at_the_byte_limit_is_read(tmp_path: Path) -> None:
    edge = tmp_path / "E0.csv"
    edge.write_bytes(b"x" * MAX_FILE_BYTES)
    assert len(read_bytes(edge)) == MAX_FILE_BYTES
    check_file_size("E0.csv", MAX_FILE_BYTES)
    with pytest.raises(ResultsError, match="E0.csv: is "):
        check_file_size("E0.csv", MAX_FILE_BYTES + 1)


def test_the_limits_are_far_above_every_shipped_file() -> None:
    shipped = [*Path(__file__).parents[2].joinpath("data", "football-data").glob("*/*.csv")]
    assert shipped and max(path.stat().st_size for path in shipped) * 10 < MAX_FILE_BYTES
    assert max(len(path.read_bytes().splitlines()) for path in shipped) * 5 < MAX_FILE_ROWS


# --- rows --------------------------------------------------------------------------------------------------


def season_rows(division: str, count: int, first: date = date(2026, 8, 1), teams: int = 40) -> list[str]:
    """`count` fixtures of one season among `teams` clubs, a round of every pair a day."""
    # Each division's own initial: made-up codes are kept apart within a division, not across them.
    initial = "VWXYZ"[int(division[1:])]
    clubs = [f"{initial}{division} Club {number}" for number in range(teams)]
    pairs = [(home, away) for home in clubs for away in clubs if home != away]
    return [
        f"{division},{(first + timedelta(days=n // len(pairs))):%d/%m/%Y},15:00,{pairs[n % len(pairs)][0]},"
        f"{pairs[n % len(pairs)][1]},2,3,4"
        for n in range(count)
    ]


def test_a_file_over_the_row_limit_is_refused_naming_the_line() -> None:
    # Five divisions, each within a season's limits, together over the file's.
    per_division = MAX_FILE_ROWS // 5 + 1
    assert per_division <= MAX_SEASON_FIXTURES
    rows = [row for division in ("E0", "E1", "E2", "E3", "E4") for row in season_rows(division, per_division)]
    with pytest.raises(ResultsError, match=rf"f\.csv, line {MAX_FILE_ROWS + 2}: more than {MAX_FILE_ROWS:,} rows"):
        parse_fixtures(fixtures(*rows) + ",,,,\n" * 10, "f.csv", today=TODAY)


def test_blank_rows_do_not_count_towards_the_row_limit() -> None:
    text = results("E0,16/08/2024,Man United,Fulham,1,0") + ",,,,,\n" * (MAX_FILE_ROWS + 10)
    assert len(parse_results(text, "r.csv", today=TODAY)) == 1


# --- dates -------------------------------------------------------------------------------------------------


def test_date_limits_are_1990_to_two_years_ahead() -> None:
    assert date_limits(TODAY) == (date(1990, 1, 1), date(2027, 3, 1))
    assert date_limits(date(2028, 2, 29)) == (date(1990, 1, 1), date(2030, 2, 28))


@pytest.mark.parametrize(
    ("cell", "line"),
    [("31/12/9999", 3), ("16/08/0001", 3), ("01/03/2027", None), ("02/03/2027", 3), ("31/12/1989", 3)],
)
def test_a_fixtures_date_far_from_the_data_is_refused_naming_its_line(cell: str, line: int | None) -> None:
    text = fixtures("E0,12/12/2026,15:00,Arsenal,Chelsea,2,3,4", f"E0,{cell},15:00,Fulham,Everton,2,3,4")
    if line is None:  # today + 2 years is the last day taken
        assert len(parse_fixtures(text, "week.csv", today=TODAY).fixtures) == 2
        return
    with pytest.raises(ResultsError, match=rf"week\.csv, line {line}: date '{cell}' .* is outside 1990-01-01 to"):
        parse_fixtures(text, "week.csv", today=TODAY)
    with pytest.raises(ResultsError, match=rf"week\.csv, line {line}: date"):
        parse_any_fixtures(text, "week.csv", "E0", today=TODAY)


def test_a_results_date_of_year_one_is_refused_naming_its_line() -> None:
    with pytest.raises(ResultsError, match=r"E0\.csv, line 2: date '16/08/0001' \(0001-08-16\) is outside 1990-01-01"):
        parse_results(results("E0,16/08/0001,Man United,Fulham,1,0"), "E0.csv", today=TODAY)


def test_two_digit_years_of_the_nineties_still_parse() -> None:
    assert parse_results(results("E0,14/08/93,Arsenal,Coventry,0,3"), "E0.csv", today=TODAY)[0].season == "1993-94"


# --- a fixtures season's size -------------------------------------------------------------------------------


def test_a_fixtures_season_of_more_than_the_limit_is_refused() -> None:
    rows = season_rows("E0", MAX_SEASON_FIXTURES + 1)
    assert len(parse_fixtures(fixtures(*rows[:-1]), "big.csv", today=TODAY).fixtures) == MAX_SEASON_FIXTURES
    with pytest.raises(
        ResultsError, match=rf"big\.csv, line {MAX_SEASON_FIXTURES + 2}: more than {MAX_SEASON_FIXTURES:,} fixtures"
    ):
        parse_fixtures(fixtures(*rows), "big.csv", today=TODAY)
    # As many over two seasons (the 5,700 of issue 31 spanned 2026-28), or two divisions, are each within it.
    half = MAX_SEASON_FIXTURES // 2 + 1
    two_seasons = season_rows("E0", half, date(2025, 8, 1)) + season_rows("E0", half, date(2026, 8, 1))
    assert len(parse_fixtures(fixtures(*two_seasons), "two.csv", today=TODAY).fixtures) == 2 * half
    two_divisions = season_rows("E0", half) + season_rows("E1", half)
    assert len(parse_fixtures(fixtures(*two_divisions), "two.csv", today=TODAY).fixtures) == 2 * half


def test_a_fixtures_season_of_more_than_forty_teams_is_refused() -> None:
    rows = [f"E0,01/03/2025,15:00,Home {n},Away {n},2,3,4" for n in range(MAX_SEASON_TEAMS // 2)]
    assert len(parse_fixtures(fixtures(*rows), "cup.csv", today=TODAY).fixtures) == MAX_SEASON_TEAMS // 2
    rows.append("E0,01/03/2025,15:00,Tamworth,Arsenal,2,3,4")
    with pytest.raises(
        ResultsError, match=rf"cup\.csv, line {len(rows) + 1}: more than {MAX_SEASON_TEAMS} teams in one season"
    ):
        parse_fixtures(fixtures(*rows), "cup.csv", today=TODAY)


def test_a_plain_fixtures_file_of_more_than_forty_teams_is_refused() -> None:
    text = "home,away\n" + "".join(f"Home {n},Away {n}\n" for n in range(MAX_SEASON_TEAMS // 2 + 1))
    with pytest.raises(ResultsError, match=rf"plain\.csv, line {MAX_SEASON_TEAMS // 2 + 2}: more than"):
        parse_plain_fixtures(text, "plain.csv", "E0")


# --- team names --------------------------------------------------------------------------------------------

BAD_NAMES = [
    ("A" * (MAX_TEAM_NAME + 1), "is 41 characters long"),
    ("Arsenal\u200b", "unprintable character U\\+200B \\(Cf\\)"),
    ("Ars\u202eenal", "U\\+202E"),
    ("Ars\x07enal", "U\\+0007 \\(Cc\\)"),
    ("Ars\u2028enal", "U\\+2028 \\(Zl\\)"),
    ("Ars\u2029enal", "U\\+2029 \\(Zp\\)"),
    ("Ars\u00a0enal", "U\\+00A0"),
    ("=HYPERLINK(1)", "starts with '=', which a spreadsheet would take for a formula"),
    ("+44", "starts with '\\+'"),
    ("-1", "starts with '-'"),
    ("@SUM(1)", "starts with '@'"),
    ("\uff1dcmd", "which a spreadsheet"),
]


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES)
def test_a_team_name_no_club_has_is_refused_in_every_kind_of_file(name: str, problem: str) -> None:
    shown = name.replace('"', '""')
    with pytest.raises(ResultsError, match=rf"r\.csv, line 3: team name .*{problem}"):
        parse_results(
            results("E0,16/08/2024,Man United,Fulham,1,0", f'E0,17/08/2024,"{shown}",Chelsea,1,0'), "r.csv", today=TODAY
        )
    with pytest.raises(ResultsError, match=rf"f\.csv, line 3: team name .*{problem}"):
        parse_fixtures(
            fixtures("E0,01/03/2025,15:00,Fulham,Everton,2,3,4", f'E0,01/03/2025,15:00,Chelsea,"{shown}",2,3,4'),
            "f.csv",
            today=TODAY,
        )
    with pytest.raises(ResultsError, match=rf"p\.csv, line 3: team name .*{problem}"):
        parse_plain_fixtures(f'home,away\nARS,CHE\nFUL,"{shown}"\n', "p.csv", "E0")


def test_a_huge_team_name_is_shown_cut() -> None:
    with pytest.raises(ResultsError, match=r"team name 'A{60}\.\.\.' is 120000 characters long") as refused:
        parse_plain_fixtures(f"home,away\nARS,{'A' * 120_000}\n", "p.csv", "E0")
    assert len(str(refused.value)) < 300


def test_every_real_team_name_is_fine() -> None:
    import csv

    from matchodds.core.teams import TEAMS_CSV

    with TEAMS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = {row[column] for row in rows for column in ("football_data_name", "name")}
    names |= {"Nott'm Forest", "Brighton & Hove Albion", "1. FC Köln", "Atlético Madrid", "Queens Park"}
    assert {name: team_name_problem(name) for name in names if team_name_problem(name)} == {}


# --- headers read as CSV ------------------------------------------------------------------------------------


def test_a_results_file_with_a_quoted_header_is_taken_for_results() -> None:
    text = '"Div","Date","HomeTeam","AwayTeam","FTHG","FTAG"\nE0,16/08/2024,Man United,Fulham,1,0\n'
    assert file_kind(text) is FileKind.RESULTS
    assert file_kind('"home","away"\nARS,CHE\n') is FileKind.PLAIN_FIXTURES
    assert file_kind('\n\n"Div","Date","HomeTeam","AwayTeam","B365H"\n') is FileKind.FIXTURES
    # A header whose quoted column holds a comma is one column, not two.
    assert file_kind('"home,away",x\nARS,CHE\n') is FileKind.FIXTURES


# --- plain codes in any case --------------------------------------------------------------------------------


def test_a_plain_fixtures_file_takes_codes_in_any_case() -> None:
    parsed = parse_plain_fixtures("home,away\nars,mci\nChe,Liverpool\nqpr,xyz\n", "week.csv", "E0")
    assert [(fixture.home, fixture.away) for fixture in parsed.fixtures] == [
        ("ARS", "MCI"),
        ("CHE", "LIV"),
        ("QPR", "XYZ"),
    ]


# --- formulas in any cell a priced CSV carries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        (fixtures("E0,01/03/2025,=cmd|' /C calc'!A0,Fulham,Everton,2,3,4"), 2, "\"=cmd|' /C calc'!A0\""),
        (fixtures("E0,01/03/2025,15:00,Fulham,Everton,@SUM(1),3,4"), 2, "'@SUM\\(1\\)'"),
        (FIXTURES_HEADER.replace("B365A", "=HYPERLINK(1)") + "E0,01/03/2025,15:00,Fulham,Everton,2,3,4\n", 1, "'="),
        ("home,away,note\nARS,CHE,+cmd\n", 2, "'\\+cmd'"),
        ("home,away,-x\nARS,CHE,1\n", 1, "'-x'"),
    ],
)
def test_a_fixtures_cell_a_spreadsheet_would_run_is_refused(text: str, line: int, shown: str) -> None:
    """The priced CSV carries every cell and column of the file as given, into the user's spreadsheet."""
    with pytest.raises(ResultsError, match=rf"f\.csv, line {line}: cell {shown}.* which a spreadsheet would take"):
        parse_any_fixtures(text, "f.csv", "E0", today=TODAY)


def test_negative_and_signed_numbers_are_not_formulas() -> None:
    text = FIXTURES_HEADER.strip() + ",AHh\nE0,01/03/2025,15:00,Fulham,Everton,+2.1,3,4,-0.75\n"
    assert parse_fixtures(text, "f.csv", today=TODAY).fixtures[0].numbers["AHh"] == -0.75


def test_a_huge_cell_is_quoted_cut_in_the_message() -> None:
    """A message quotes at most 60 characters of a cell: a 5 MiB date or goals cell makes no 5 MiB message."""
    for text in (
        results(f"E0,{'1' * 100_000},Arsenal,Chelsea,1,0"),
        results(f"E0,16/08/2024,Arsenal,Chelsea,{'9' * 100_000},0"),
    ):
        with pytest.raises(ResultsError, match=r"'1{60}\.\.\.'|'9{60}\.\.\.'") as refused:
            parse_results(text, "r.csv", today=TODAY)
        assert len(str(refused.value)) < 300
