"""The season in play, as the fit records it in a posterior's meta: what precompute projects the table from.

Precompute reads nothing but the posterior, so the fit writes the season beside the draws: its name,
its teams (the league: the roster once results or fixtures show every team), the matches played so far
and the fixtures a fixtures file names. Bounded and checked here, once, for the writer (the fit,
through encode_posterior) and the reader (precompute, through decode_posterior): a posterior whose
season record breaks these rules is refused like any other defect. A posterior without one (older
versions, or a season whose teams are not all known yet) still publishes its odds, with no table.

    "season": {"season": "2024-25", "teams": ["ARS", ...],
               "played": [["2024-08-16", "MUN", "FUL", 1, 0], ...],     # date, home, away, goals
               "fixtures": [["2025-01-14", "ARS", "TOT"], [null, ...]]}  # date (or null), home, away
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from matchodds.core.keys import ContractError
from matchodds.core.results import MAX_GOALS, MAX_SEASON_FIXTURES, MAX_SEASON_TEAMS, Fixture, Match, season_of

SEASON_META_KEY = "season"
SEASON_RE = re.compile(r"^[0-9]{4}-[0-9]{2}\Z")
# A league of up to 40 teams (the largest football-data division has 24) and up to 2,000 rows of played
# matches or fixtures: a double round robin of 24 teams is 552 matches, of 32 (any real league) 992. The
# record of a 20-team season is about 13 KB of JSON in the posterior's meta. The same bounds as a fixtures
# file's at upload and pricing (matchodds.core.results), so a file they take never breaks a season record.
MAX_SEASON_ROWS = MAX_SEASON_FIXTURES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayedMatch:
    """A match of the season in play, as the season record keeps it."""

    date: date
    home: str
    away: str
    home_goals: int
    away_goals: int


@dataclass(frozen=True)
class NamedFixture:
    """A fixture of the season that a fixtures file named; a plain home,away file gives no date."""

    date: date | None
    home: str
    away: str


@dataclass(frozen=True)
class SeasonRecord:
    """The season in play: its teams, the matches played and the fixtures named, in the contract's form."""

    season: str
    teams: tuple[str, ...]
    played: tuple[PlayedMatch, ...]
    fixtures: tuple[NamedFixture, ...] = ()

    @property
    def through(self) -> date | None:
        """The date of the last match played; None before the season's first."""
        return max((match.date for match in self.played), default=None)

    def to_meta(self) -> dict[str, Any]:
        """The record as the posterior's meta holds it (JSON)."""
        return {
            "season": self.season,
            "teams": list(self.teams),
            "played": [[m.date.isoformat(), m.home, m.away, m.home_goals, m.away_goals] for m in self.played],
            "fixtures": [[f.date.isoformat() if f.date else None, f.home, f.away] for f in self.fixtures],
        }

    @classmethod
    def from_meta(cls, value: Any, team_codes: Sequence[str]) -> SeasonRecord:
        """The record of a posterior's meta, checked against its team codes; ContractError names any defect."""
        if not isinstance(value, dict) or set(value) != {"season", "teams", "played", "fixtures"}:
            raise ContractError("posterior meta season must be an object of season, teams, played and fixtures")
        season = value["season"]
        if not isinstance(season, str) or not SEASON_RE.match(season):
            raise ContractError(f"posterior meta season {season!r} is not a season such as 2024-25")
        teams = value["teams"]
        if not isinstance(teams, list) or not 2 <= len(teams) <= MAX_SEASON_TEAMS:
            raise ContractError(f"season {season} must name 2 to {MAX_SEASON_TEAMS} teams")
        unknown = sorted(str(code) for code in teams if code not in team_codes)
        if unknown or len(set(teams)) != len(teams):
            raise ContractError(
                f"season {season} teams must be distinct teams of the posterior; "
                f"{', '.join(unknown) or 'a team is named twice'}"
            )
        league = tuple(teams)
        played = tuple(_played(row, season, league, n) for n, row in enumerate(_rows(value, "played", season)))
        fixtures = tuple(_fixture(row, season, league, n) for n, row in enumerate(_rows(value, "fixtures", season)))
        return cls(season, league, played, fixtures)


def _rows(value: dict[str, Any], name: str, season: str) -> list[Any]:
    rows = value[name]
    if not isinstance(rows, list) or len(rows) > MAX_SEASON_ROWS:
        raise ContractError(f"season {season} {name} must be a list of at most {MAX_SEASON_ROWS} rows")
    return rows


def _pair(row: list[Any], season: str, teams: tuple[str, ...], where: str) -> tuple[str, str]:
    home, away = row[1], row[2]
    if home not in teams or away not in teams or home == away:
        raise ContractError(f"season {season} {where}: {home!r} v {away!r} is not a match of two of its teams")
    return str(home), str(away)


def _day(text: Any, season: str, where: str) -> date:
    try:
        day = date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        day = None
    if day is None or season_of(day) != season:
        raise ContractError(f"season {season} {where}: {text!r} is not a date of the season")
    return day


def _played(row: Any, season: str, teams: tuple[str, ...], number: int) -> PlayedMatch:
    where = f"played[{number}]"
    if not isinstance(row, list) or len(row) != 5:
        raise ContractError(f"season {season} {where} must be [date, home, away, home goals, away goals]")
    home, away = _pair(row, season, teams, where)
    goals = row[3:]
    if not all(type(count) is int and 0 <= count <= MAX_GOALS for count in goals):
        raise ContractError(f"season {season} {where}: goals {goals} are not whole numbers from 0 to {MAX_GOALS}")
    return PlayedMatch(_day(row[0], season, where), home, away, goals[0], goals[1])


def _fixture(row: Any, season: str, teams: tuple[str, ...], number: int) -> NamedFixture:
    where = f"fixtures[{number}]"
    if not isinstance(row, list) or len(row) != 3:
        raise ContractError(f"season {season} {where} must be [date or null, home, away]")
    home, away = _pair(row, season, teams, where)
    return NamedFixture(None if row[0] is None else _day(row[0], season, where), home, away)


def season_record(
    season: str, teams: Sequence[str], matches: Sequence[Match], fixtures: Sequence[Fixture] = ()
) -> SeasonRecord:
    """The record of `season` from results and fixtures: its matches, and its named fixtures not yet played.

    A named fixture counts when it is dated in the season (or undated) and the results do not hold it on
    that date already; its teams must be the season's.
    """
    played = sorted((m for m in matches if m.season == season), key=lambda m: (m.date, m.home, m.away))
    done = {(m.date, m.home, m.away) for m in played}
    in_season = [f for f in fixtures if (f.date is None or season_of(f.date) == season)]
    # A user's fixtures file may name a team the league does not have (a typo, a cup tie): pricing says so
    # on its row; here such a fixture is left out of the season, never a reason to refuse the week's odds.
    league = set(teams)
    strangers = [f for f in in_season if f.home not in league or f.away not in league or f.home == f.away]
    if strangers:
        logger.warning(
            "%d fixture(s) of %s name a team outside its league (%s): left out of the season's fixtures",
            len(strangers),
            season,
            ", ".join(f"{f.home} v {f.away}" for f in strangers[:3]),
        )
    named = tuple(
        dict.fromkeys(
            NamedFixture(f.date, f.home, f.away)
            for f in in_season
            if f not in strangers and (f.date, f.home, f.away) not in done
        )
    )
    if len(named) > MAX_SEASON_ROWS:
        # No real season has that many (an upload of three seasons' fixtures does). Which of them to keep cannot be
        # told, so none is: the table projects the season's rest from its double round robin instead.
        logger.warning(
            "%d fixtures of %s named, more than the %d a season holds: left out of the season's fixtures",
            len(named),
            season,
            MAX_SEASON_ROWS,
        )
        named = ()
    record = SeasonRecord(
        season,
        tuple(teams),
        tuple(PlayedMatch(m.date, m.home, m.away, m.home_goals, m.away_goals) for m in played),
        named,
    )
    return SeasonRecord.from_meta(record.to_meta(), tuple(teams))  # the writer's own check: refuse, never write


def season_record_or_none(
    season: str, teams: Sequence[str], matches: Sequence[Match], fixtures: Sequence[Fixture] = ()
) -> SeasonRecord | None:
    """season_record, or None with a warning when the season breaks its limits: a bad file costs the table only.

    More than MAX_SEASON_TEAMS teams or MAX_SEASON_ROWS matches played (a file of another competition, a
    cup filed under a league) is no league precompute can project; the fit publishes its odds without a
    record, so the version has no table, rather than refuse the week's odds.
    """
    try:
        return season_record(season, teams, matches, fixtures)
    except ContractError as error:
        logger.warning(
            "no season record for %s, so this version has no table (its odds are published): %s", season, error
        )
        return None
