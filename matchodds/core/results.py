"""Match results and fixtures from football-data.co.uk CSV files, read as users download them.

Handles the quirks of the real files: a UTF-8 byte-order mark, mixed CRLF/LF line endings, non-UTF-8
bytes in old files, day-first dates with two- or four-digit years, trailing rows of bare commas,
empty odds cells, integers printed as `8.0`, renamed over/under headers. Any row that cannot be read
raises ResultsError naming the file and the line, before anything is fitted. A fixtures file
(upcoming matches with bookmaker odds) has the same columns without the goals, and is read the same way.

What a results file must be (each breach is a ResultsError naming the file and line):
- a CSV whose header has Div, Date, HomeTeam, AwayTeam, FTHG and FTAG; every other column is kept as
  a number when it is one and is otherwise ignored. An unknown column is NOT an error: football-data
  has added columns over the years (closing odds, Asian handicap, renamed over/under) and will again;
- rows that are complete up to the columns read (a truncated last row is refused), goals that are
  whole numbers from 0 to MAX_GOALS (full time and half time), match statistics (shots, corners,
  cards, ...: COUNT_COLUMNS) that are whole numbers from 0 to their bound or empty (not recorded), a
  full-time result (FTR) that agrees with the score, and no team playing itself. `nan`, `inf`, `-1`,
  `2.5` or `1e20` in such a column is refused; `2.0` is read as 2 (re-saved files print integers so);
- a match (competition, date, home, away) listed twice, in one file or in two (the same season
  uploaded under two names), is counted once with a warning naming both places when the two rows
  agree on the score, and refused naming both places when they do not;
- dates in order, as a season of played matches. The real files are NOT strictly ordered: D1 2005-06
  and F1 2006-07 and 2010-11 list a match one day before the row above it. So a row may go back at
  most MAX_DATE_REGRESSION_DAYS before the latest date above it (a mistyped day, month or year goes
  back further), no match may lie more than MAX_SEASON_DAYS after the file's first match (one season;
  the longest, 2019-20 with its summer restart, spans 352 days), and no result may be dated after
  today (a results file lists matches already played). Every shipped football-data file since 1993
  passes these rules.

What any file (results or fixtures) must be, whoever reads it (upload, pricing, the fit):
- at most MAX_FILE_BYTES, checked before it is read, and MAX_FILE_ROWS rows;
- dates within [EARLIEST_DATE, today + LATEST_YEARS_AHEAD years]: a year typed 0001 or 9999 is refused
  here rather than overflowing date arithmetic downstream;
- team names a real club could have (teams.team_name_problem: at most MAX_TEAM_NAME characters,
  printable, no leading formula character for spreadsheets to run);
- a fixtures file: at most MAX_SEASON_FIXTURES fixtures and MAX_SEASON_TEAMS teams in any season of a
  competition (a plain home,away file counts as one season), and no cell or column a spreadsheet would
  run as a formula (its priced CSV carries them all).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from matchodds.core.keys import TEAM_CODE_RE
from matchodds.core.teams import FORMULA_STARTS, TeamTable, default_table, team_name_problem

logger = logging.getLogger(__name__)

FIXTURE_COLUMNS = ("Div", "Date", "HomeTeam", "AwayTeam")
PLAIN_FIXTURE_COLUMNS = ("home", "away")  # the header of a plain fixtures file, any case
REQUIRED_COLUMNS = (*FIXTURE_COLUMNS, "FTHG", "FTAG")
IDENTITY_COLUMNS = {"Div", "Date", "Time", "HomeTeam", "AwayTeam", "FTR", "HTR", "Referee"}
RESULT_BY_SIGN = {1: "H", 0: "D", -1: "A"}
# How far a row's date may fall behind the latest date above it (real files: at most one day).
MAX_DATE_REGRESSION_DAYS = 7
# How long after its first match a file (one season) may go on: a season and a little more.
MAX_SEASON_DAYS = 400
# One side's goals in one match. The biggest English league win is 13-0 and no real file here
# (39,623 matches of five leagues) has more than 10; 30 admits any plausible league score and
# refuses typos (100 for 10) and numbers that would overflow the fit's int32 arrays.
MAX_GOALS = 30
# One side's count in one match of shots, fouls, corners, cards, offsides, woodwork hits or booking
# points (10 a yellow, 25 a red). The largest in every real file is 100 booking points (48 fouls).
MAX_STATISTIC = 200
# A match's attendance (early EPL files): the largest stadiums hold about 150,000.
MAX_ATTENDANCE = 250_000
GOAL_COLUMNS = {"FTHG", "FTAG", "HTHG", "HTAG"}  # full time and half time; errors call them goals
# Columns other than FTHG/FTAG that hold counts (football-data's notes.txt), with their bound. An empty
# cell is a statistic the file does not have for that match; anything else must be a whole number.
COUNT_COLUMNS = {
    "HTHG": MAX_GOALS,
    "HTAG": MAX_GOALS,
    **dict.fromkeys(
        ("HS", "AS", "HST", "AST", "HHW", "AHW", "HC", "AC", "HF", "AF", "HFKC", "AFKC", "HO", "AO")
        + ("HY", "AY", "HR", "AR", "HBP", "ABP"),
        MAX_STATISTIC,
    ),
    "Attendance": MAX_ATTENDANCE,
}
# The size of a results or fixtures file, checked before it is read. The biggest real file (a season
# of E0 with every odds column) is 197 KB; 5 MiB is 25 times that and keeps a file's parse far below
# the memory of the pricing Lambda (512 MB: a 60 MB file peaked at 483 MB in `upload`).
MAX_FILE_BYTES = 5 * 1024 * 1024
# Rows of one file (blank rows not counted). The biggest real season has 462 matches (E0 1993-94, 22
# clubs), and football-data's all-leagues fixtures file a few hundred rows; 5,000 is ten times that.
MAX_FILE_ROWS = 5_000
# Every date a file gives lies in [EARLIEST_DATE, today + LATEST_YEARS_AHEAD years]: the shipped files
# start in 1993, fixtures are published weeks ahead. A date outside is a typo (16/08/0001, 31/12/9999)
# that would overflow date arithmetic downstream or make up a season ("9999-00").
EARLIEST_DATE = date(1990, 1, 1)
LATEST_YEARS_AHEAD = 2
# One season of a fixtures file: a league plays at most 20 * 19 * 2 = 380 (or 24 clubs, 552) matches and
# names at most 24 clubs; more is not a league's fixtures (5,700 over 2026-28 stopped every fit).
MAX_SEASON_FIXTURES = 2_000
MAX_SEASON_TEAMS = 40
# A count as the files write it: digits, or digits and a zero fraction ("3.0") in re-saved files.
_COUNT = re.compile(r"[0-9]+(?:\.0*)?")


class ResultsError(ValueError):
    """A results file that cannot be trusted; the message names the file and line."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
        self.source, self.line, self.problem = source, line, problem


class _Priced:
    numbers: dict[str, float]

    def prices(self, home: str, draw: str, away: str) -> tuple[float, float, float] | None:
        """Three decimal odds columns, or None if any is missing or not a price."""
        found = tuple(self.numbers.get(column) for column in (home, draw, away))
        if any(price is None or price <= 1.0 for price in found):
            return None
        return found  # type: ignore[return-value]


@dataclass(frozen=True)
class Match(_Priced):
    """One played match, teams as codes; `numbers` holds the file's other numeric cells (odds, stats),
    `source` and `line` where it was read (for messages)."""

    competition: str
    season: str
    date: date
    home: str
    away: str
    home_goals: int
    away_goals: int
    numbers: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    source: str = field(default="", compare=False, repr=False)
    line: int | None = field(default=None, compare=False, repr=False)

    @property
    def where(self) -> str:
        """The file and line the match was read from, as messages name them."""
        return f"{self.source}, line {self.line}" if self.line is not None else self.source or "(no file)"

    @property
    def result(self) -> str:
        return RESULT_BY_SIGN[(self.home_goals > self.away_goals) - (self.home_goals < self.away_goals)]


@dataclass(frozen=True)
class Fixture(_Priced):
    """One match to be played, teams as codes; `cells` is its row as read, `numbers` its numeric cells (odds).

    `date` is None for a row of a plain home,away file, which gives none; `kickoff` is the file's Time
    cell as written (football-data's are UK time, e.g. 20:00), empty when it has none.
    """

    competition: str
    date: date | None
    home: str
    away: str
    numbers: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    cells: tuple[str, ...] = field(default=(), compare=False, repr=False)
    kickoff: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class FixturesFile:
    """A fixtures file: its header as read and one Fixture per row that is not blank."""

    source: str
    header: tuple[str, ...]
    fixtures: list[Fixture]


def decode(blob: bytes) -> str:
    """Text of a results file: UTF-8 (with or without BOM), else Windows-1252 as old files use."""
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        return blob.decode("cp1252", errors="replace")


def check_file_size(source: str, size: int) -> None:
    """Refuse a file of more than MAX_FILE_BYTES, before it is read (ResultsError naming it)."""
    if size > MAX_FILE_BYTES:
        raise ResultsError(
            source,
            None,
            f"is {size:,} bytes; a results or fixtures file may have at most {MAX_FILE_BYTES:,} "
            f"({MAX_FILE_BYTES // (1024 * 1024)} MiB): real ones are under 1 MB",
        )


def date_limits(today: date | None = None) -> tuple[date, date]:
    """The first and last date a file may give: EARLIEST_DATE and today + LATEST_YEARS_AHEAD years."""
    today = today or datetime.now(UTC).date()
    try:
        latest = today.replace(year=today.year + LATEST_YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + LATEST_YEARS_AHEAD, day=28)
    return EARLIEST_DATE, latest


def check_team_name(name: str, source: str, line: int | None) -> None:
    """Refuse a team name no real club has (see teams.team_name_problem): ResultsError naming the line."""
    problem = team_name_problem(name)
    if problem is not None:
        raise ResultsError(source, line, f"team name {shown(name)} {problem}")


def shown(text: str) -> str:
    """A cell as a message quotes it: repr, cut to 60 characters (a 5 MiB cell makes no message)."""
    return repr(text if len(text) <= 60 else text[:60] + "...")


def check_fixtures_cells(cells: Iterable[str], source: str, line: int) -> None:
    """Refuse a fixtures cell a spreadsheet would run: the priced CSV (priced/<c>/<name>.csv) carries every
    cell and column of the file as given, so one starting with = + - @ that is not a number (-0.5, an Asian
    handicap line, is one) would be a formula in the user's spreadsheet. No real file has one."""
    for cell in cells:
        text = cell.strip()
        if text[:1] in FORMULA_STARTS:
            try:
                float(text)
            except ValueError:
                raise ResultsError(
                    source,
                    line,
                    f"cell {shown(text)} starts with {text[:1]!r}, which a spreadsheet would take for a formula",
                ) from None


def parse_date(text: str) -> date:
    day_first = "%d/%m/%y" if len(text.rsplit("/", 1)[-1]) == 2 else "%d/%m/%Y"
    return datetime.strptime(text, day_first).date()


def parse_count(text: str, maximum: int) -> int:
    """A whole number from 0 to `maximum` written as digits (`3`, or `3.0`); ValueError otherwise."""
    # Not float(): it takes nan, inf, 1e20 and 1_0, none of which a count is.
    if not _COUNT.fullmatch(text) or int(text.split(".")[0]) > maximum:
        raise ValueError(text)
    return int(text.split(".")[0])


def season_of(day: date) -> str:
    """The season a date belongs to, e.g. 2024-25 for any date from July 2024 to June 2025."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def season_bounds(day: date) -> tuple[date, date]:
    """The first and last day (1 July, 30 June) of the season `day` belongs to."""
    start = day.year if day.month >= 7 else day.year - 1
    return date(start, 7, 1), date(start + 1, 6, 30)


def _rows(
    text: str, source: str, required: tuple[str, ...], kind: str
) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """(line, cells, cell by column) of each row that is not blank; the header first, as the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise ResultsError(source, None, "the file is empty") from None
    except csv.Error as error:
        raise ResultsError(source, 1, f"not a CSV file ({error})") from error
    absent = [column for column in required if column not in header]
    if absent:
        raise ResultsError(source, 1, f"missing column(s) {', '.join(absent)}; is this a football-data {kind} file?")
    yield 1, header, {}
    index = {column: position for position, column in enumerate(header) if column}
    count = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            count += 1
            if count > MAX_FILE_ROWS:
                raise ResultsError(
                    source, line, f"more than {MAX_FILE_ROWS:,} rows; real {kind} files have a few hundred"
                )
            if len(row) < len(header) and len(row) <= max((index[column] for column in required), default=-1):
                raise ResultsError(
                    source, line, f"row has {len(row)} cells, the header has {len(header)} (truncated file?)"
                )
            yield (
                line,
                row,
                {column: row[position].strip() for column, position in index.items() if position < len(row)},
            )
    except csv.Error as error:
        raise ResultsError(source, reader.line_num, f"not valid CSV ({error})") from error


def _once(seen: dict[tuple[date, str, str], int], key: tuple[date, str, str], source: str, line: int) -> None:
    """Refuse the same fixture twice in one fixtures file."""
    if key in seen:
        day, home, away = key
        raise ResultsError(source, line, f"{home} v {away} on {day} is listed twice (first on line {seen[key]})")
    seen[key] = line


class _OncePerMatch:
    """Each match (competition, date, home, away) once: a repeat with the same score is dropped and
    reported by `warn`, naming both places; a repeat with another score is a ResultsError."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, date, str, str], Match] = {}
        self.repeats: dict[tuple[str, str], list[tuple[Match, Match]]] = {}

    def add(self, match: Match) -> bool:
        """Whether the match is new; False for a repeat (noted for `warn`)."""
        key = (match.competition, match.date, match.home, match.away)
        first = self.kept.get(key)
        if first is None:
            self.kept[key] = match
            return True
        if (first.home_goals, first.away_goals) != (match.home_goals, match.away_goals):
            raise ResultsError(
                match.source,
                match.line,
                f"{match.home} v {match.away} on {match.date} is {match.home_goals}-{match.away_goals} here but "
                f"{first.home_goals}-{first.away_goals} in {first.where}; the same match cannot have two scores",
            )
        self.repeats.setdefault((match.source, first.source), []).append((match, first))
        return False

    def warn(self) -> None:
        """One warning per pair of files (or per file) with repeated matches, naming the lines."""
        for (source, first_source), pairs in self.repeats.items():
            listed = "; ".join(
                f"line {repeat.line} = line {first.line} ({repeat.home} v {repeat.away} on {repeat.date})"
                for repeat, first in pairs[:3]
            )
            more = f"; and {len(pairs) - 3} more" if len(pairs) > 3 else ""
            logger.warning(
                "%s repeats %d match(es) of %s with the same score; each is counted once: %s%s",
                source,
                len(pairs),
                "itself" if source == first_source else first_source,
                listed,
                more,
            )
        self.repeats.clear()


class _DateOrder:
    """The date rules of a results file (see the module docstring), applied row by row."""

    def __init__(self, source: str, today: date) -> None:
        self.source, self.today = source, today
        self.first: date | None = None
        self.latest: tuple[date, int] | None = None

    def check(self, day: date, line: int) -> None:
        if day > self.today + timedelta(days=1):  # a day's grace: the file may come from another time zone
            raise ResultsError(self.source, line, f"date {day} is in the future; a results file lists played matches")
        if self.first is None:
            self.first = day
        elif day > self.first + timedelta(days=MAX_SEASON_DAYS):
            raise ResultsError(
                self.source,
                line,
                f"date {day} is more than {MAX_SEASON_DAYS} days after the file's first match ({self.first}); "
                "a results file holds one season",
            )
        if self.latest is not None and day < self.latest[0] - timedelta(days=MAX_DATE_REGRESSION_DAYS):
            raise ResultsError(
                self.source,
                line,
                f"date {day} is out of order: {(self.latest[0] - day).days} days before {self.latest[0]} "
                f"on line {self.latest[1]} (at most {MAX_DATE_REGRESSION_DAYS} allowed)",
            )
        if self.latest is None or day > self.latest[0]:
            self.latest = (day, line)


def parse_results(text: str, source: str, teams: TeamTable | None = None, *, today: date | None = None) -> list[Match]:
    """Every match in one file's text, in file order; raises ResultsError on the first bad row."""
    table = teams or default_table()
    rows = _rows(text, source, REQUIRED_COLUMNS, "results")
    next(rows)
    matches: list[Match] = []
    once = _OncePerMatch()
    season: str | None = None
    today = today or datetime.now(UTC).date()
    order = _DateOrder(source, today)
    limits = date_limits(today)
    for line, _, cell in rows:
        match = _parse_row(cell, source, line, table, season, limits)
        season = match.season  # a file is one season: the season of its first match
        order.check(match.date, line)
        if once.add(match):
            matches.append(match)
    if not matches:
        raise ResultsError(source, None, "no matches in the file")
    once.warn()
    return matches


def parse_fixtures(
    text: str, source: str, teams: TeamTable | None = None, *, today: date | None = None
) -> FixturesFile:
    """Every fixture in one file's text, in file order; goal columns, if any, are ignored."""
    table = teams or default_table()
    rows = _rows(text, source, FIXTURE_COLUMNS, "fixtures")
    _, header, _ = next(rows)
    check_fixtures_cells(header, source, 1)
    fixtures: list[Fixture] = []
    seen: dict[tuple[date, str, str], int] = {}
    limits = date_limits(today)
    seasons: dict[tuple[str, str], _SeasonSize] = {}
    for line, cells, cell in rows:
        competition, day, home, away = _parse_identity(cell, source, line, table, limits)
        check_fixtures_cells(cells, source, line)
        _once(seen, (day, home, away), source, line)
        seasons.setdefault((competition, season_of(day)), _SeasonSize()).add(home, away, source, line)
        kickoff = cell.get("Time", "").strip()
        fixtures.append(Fixture(competition, day, home, away, _numbers(cell), tuple(cells), kickoff))
    if not fixtures:
        raise ResultsError(source, None, "no fixtures in the file")
    return FixturesFile(source, tuple(header), fixtures)


def parse_plain_fixtures(text: str, source: str, competition: str, teams: TeamTable | None = None) -> FixturesFile:
    """A plain `home,away` CSV of one competition: team codes or football-data names, no dates, no prices."""
    table = teams or default_table()
    rows = _rows(text, source, (), "fixtures")
    _, header, _ = next(rows)
    if [column.lower() for column in header[:2]] != list(PLAIN_FIXTURE_COLUMNS):
        raise ResultsError(source, 1, f"the header is not {','.join(PLAIN_FIXTURE_COLUMNS)}")
    check_fixtures_cells(header, source, 1)
    fixtures: list[Fixture] = []
    seen: dict[tuple[str, str], int] = {}
    size = _SeasonSize()  # a plain file has no dates: it is all one season's
    for line, cells, _ in rows:
        if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
            raise ResultsError(source, line, "empty home or away")
        for given in cells[:2]:
            check_team_name(given.strip(), source, line)
        check_fixtures_cells(cells, source, line)
        home, away = (_plain_team(cell.strip(), competition, table) for cell in cells[:2])
        if home == away:
            raise ResultsError(source, line, f"{cells[0].strip()} plays itself")
        if (home, away) in seen:
            raise ResultsError(source, line, f"{home} v {away} is listed twice (first on line {seen[(home, away)]})")
        seen[(home, away)] = line
        size.add(home, away, source, line)
        fixtures.append(Fixture(competition, None, home, away, {}, tuple(cells)))
    if not fixtures:
        raise ResultsError(source, None, "no fixtures in the file")
    return FixturesFile(source, tuple(header), fixtures)


def _plain_team(cell: str, competition: str, table: TeamTable) -> str:
    """A team code in any case (ARS, ars, or a made-up code the odds carry), else the code of a football-data
    name. The API takes codes in any case, so a file may too; no real club's name is three letters but QPR."""
    code = cell.upper()
    return code if code in table.names_by_code or TEAM_CODE_RE.fullmatch(code) else table.code(competition, cell)


class _SeasonSize:
    """The fixtures and teams of one season of a fixtures file, refused past a league's plausible size."""

    def __init__(self) -> None:
        self.fixtures = 0
        self.teams: set[str] = set()

    def add(self, home: str, away: str, source: str, line: int) -> None:
        self.fixtures += 1
        self.teams.update((home, away))
        if self.fixtures > MAX_SEASON_FIXTURES:
            raise ResultsError(
                source,
                line,
                f"more than {MAX_SEASON_FIXTURES:,} fixtures in one season of a competition; a league plays "
                "a few hundred (is this several seasons, or a cup, under one competition?)",
            )
        if len(self.teams) > MAX_SEASON_TEAMS:
            raise ResultsError(
                source,
                line,
                f"more than {MAX_SEASON_TEAMS} teams in one season of a competition ({home} v {away} makes "
                f"{len(self.teams)}); a league has at most 24",
            )


class FileKind(StrEnum):
    RESULTS = "results"
    FIXTURES = "fixtures"
    PLAIN_FIXTURES = "plain fixtures"


def file_kind(text: str) -> FileKind:
    """What a file's header says it is: a plain home,away fixtures CSV, football-data results (FTHG and FTAG),
    else a football-data fixtures file. Whether it is a good one is for its parser to say."""
    # The csv module, as the parsers read it: a header may quote its columns ("Div","Date",...,"FTHG").
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next((row for row in reader if any(cell.strip() for cell in row)), [])
    except csv.Error:
        first = []  # not CSV: its parser says so, naming the line
    columns = [column.strip() for column in first]
    if [column.lower() for column in columns[:2]] == list(PLAIN_FIXTURE_COLUMNS):
        return FileKind.PLAIN_FIXTURES
    if {"FTHG", "FTAG"} <= set(columns):
        return FileKind.RESULTS
    return FileKind.FIXTURES


def parse_any_fixtures(
    text: str, source: str, competition: str, teams: TeamTable | None = None, *, today: date | None = None
) -> FixturesFile:
    """A fixtures file in either format: a plain home,away CSV of `competition`, else football-data's."""
    if file_kind(text) is FileKind.PLAIN_FIXTURES:
        return parse_plain_fixtures(text, source, competition, teams)
    return parse_fixtures(text, source, teams, today=today)


def _parse_identity(
    cell: dict[str, str], source: str, line: int, table: TeamTable, limits: tuple[date, date]
) -> tuple[str, date, str, str]:
    """Competition, date (within `limits`) and the two team codes of a row."""
    competition = cell.get("Div", "")
    if not competition:
        raise ResultsError(source, line, "empty Div")
    try:
        day = parse_date(cell["Date"])
    except ValueError:
        raise ResultsError(source, line, f"date {shown(cell['Date'])} is not dd/mm/yy or dd/mm/yyyy") from None
    if not limits[0] <= day <= limits[1]:
        raise ResultsError(
            source,
            line,
            f"date {shown(cell['Date'])} ({day}) is outside {limits[0]} to {limits[1]} (today + {LATEST_YEARS_AHEAD} "
            "years): a mistyped year?",
        )
    home_name, away_name = cell.get("HomeTeam", ""), cell.get("AwayTeam", "")
    if not home_name or not away_name:
        raise ResultsError(source, line, "empty HomeTeam or AwayTeam")
    check_team_name(home_name, source, line)
    check_team_name(away_name, source, line)
    home, away = table.code(competition, home_name), table.code(competition, away_name)
    if home == away:
        raise ResultsError(source, line, f"{home_name} plays itself")
    return competition, day, home, away


def _count(cell: dict[str, str], column: str, maximum: int, source: str, line: int) -> int:
    """A row's count cell (goals or a statistic), or a ResultsError naming the column and the value."""
    text = cell.get(column, "")
    try:
        return parse_count(text, maximum)
    except ValueError:
        what = "number of goals" if column in GOAL_COLUMNS else "count"
        raise ResultsError(
            source, line, f"{column} {shown(text)} is not a {what} (a whole number from 0 to {maximum})"
        ) from None


def _parse_row(
    cell: dict[str, str], source: str, line: int, table: TeamTable, season: str | None, limits: tuple[date, date]
) -> Match:
    competition, day, home, away = _parse_identity(cell, source, line, table, limits)
    goals = [_count(cell, column, MAX_GOALS, source, line) for column in ("FTHG", "FTAG")]
    numbers = _numbers(cell)
    for column, maximum in COUNT_COLUMNS.items():
        if cell.get(column):  # empty: the file does not have this statistic for this match
            numbers[column] = float(_count(cell, column, maximum, source, line))
    match = Match(competition, season or season_of(day), day, home, away, goals[0], goals[1], numbers, source, line)
    stated = cell.get("FTR", "")
    if stated and stated != match.result:
        raise ResultsError(source, line, f"FTR {shown(stated)} contradicts the score {goals[0]}-{goals[1]}")
    return match


def _numbers(cell: dict[str, str]) -> dict[str, float]:
    numbers = {}
    for column, text in cell.items():
        if column in IDENTITY_COLUMNS or not text:
            continue
        try:
            value = float(text)
        except ValueError:
            continue  # a stray text cell in an odds column is a missing price, not a broken file
        if math.isfinite(value):  # `nan` or `inf` in an odds column is no price either
            numbers[column] = value
    return numbers


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or a ResultsError naming it when it cannot be read or is over MAX_FILE_BYTES."""
    try:
        with path.open("rb") as handle:
            check_file_size(str(path), os.fstat(handle.fileno()).st_size)  # before reading a byte of it
            blob = handle.read(MAX_FILE_BYTES + 1)  # and no more, should it grow meanwhile
    except OSError as error:
        raise ResultsError(str(path), None, f"cannot read ({error.strerror})") from error
    check_file_size(str(path), len(blob))
    return blob


def _read_text(path: Path) -> str:
    return decode(read_bytes(path))


def read_results_file(path: Path, teams: TeamTable | None = None) -> list[Match]:
    return parse_results(_read_text(path), str(path), teams)


def read_fixtures_file(path: Path, teams: TeamTable | None = None, *, today: date | None = None) -> FixturesFile:
    return parse_fixtures(_read_text(path), str(path), teams, today=today)


def combine_results(files: Iterable[list[Match]]) -> list[Match]:
    """The matches of several parsed files in date order, each match once (as in one file): the same
    season uploaded under two names counts once, with a warning; two scores for a match are refused."""
    once = _OncePerMatch()
    matches = [match for file_matches in files for match in file_matches if once.add(match)]
    once.warn()
    return sorted(matches, key=lambda match: match.date)


def read_results(paths: Iterable[Path], teams: TeamTable | None = None) -> list[Match]:
    """All matches of several files, in date order, each once (see combine_results)."""
    return combine_results(read_results_file(path, teams) for path in paths)
