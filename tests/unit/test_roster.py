"""The season's roster: never fewer teams than the league, whatever part of a season the data hold."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from matchodds.core.results import Fixture, Match, parse_fixtures, read_fixtures_file, read_results_file
from matchodds.core.roster import FROM_FIXTURES, FROM_RESULTS, WITH_PREVIOUS, season_roster

pytestmark = pytest.mark.unit
SAMPLE = Path(__file__).parents[2] / "matchodds" / "data" / "sample"
LAST_SEASON = read_results_file(SAMPLE / "E0-2023-24.csv")
SEASON = read_results_file(SAMPLE / "E0-2024-25.csv")
FIXTURES = Path(__file__).parents[1] / "data" / "football-data" / "E0-2024-25-fixtures.csv"


def teams(matches: list[Match]) -> set[str]:
    return {m.home for m in matches} | {m.away for m in matches}


@pytest.mark.parametrize("played", [1, 5, 10])
def test_the_first_matches_of_a_real_season_keep_the_whole_league(played: int) -> None:
    opening = SEASON[:played]
    roster = season_roster(LAST_SEASON + opening)
    assert roster.season == "2024-25"
    assert len(roster.teams) >= 20
    assert teams(opening) <= set(roster.teams)  # a promoted team that has played is priced
    assert {"ARS", "MCI"} <= set(roster.teams)
    if played < 10:  # the season has not shown all of its teams: last season's stay
        assert roster.source == WITH_PREVIOUS and teams(LAST_SEASON) <= set(roster.teams)
    else:  # a full opening round shows the league: the relegated clubs go
        assert roster.source == FROM_RESULTS and set(roster.teams) == teams(SEASON)


def test_the_opening_match_of_a_new_season_after_a_full_one_keeps_the_league() -> None:
    opening = Match("E0", "2025-26", date(2025, 8, 15), "LIV", "BOU", 4, 2)
    roster = season_roster([*SEASON, opening])
    assert roster.season == "2025-26" and roster.source == WITH_PREVIOUS
    assert set(roster.teams) == teams(SEASON) and roster.league_size == 20


def test_a_complete_season_is_its_own_teams() -> None:
    roster = season_roster(LAST_SEASON + SEASON)
    assert set(roster.teams) == teams(SEASON) and roster.source == FROM_RESULTS and roster.league_size == 20


def test_fixtures_of_the_next_season_name_its_promoted_teams_before_they_play() -> None:
    fixtures = read_fixtures_file(FIXTURES).fixtures  # six matches of 2024-25's opening round
    roster = season_roster(LAST_SEASON, fixtures)
    named = {f.home for f in fixtures} | {f.away for f in fixtures}
    assert roster.season == "2024-25" and "IPS" in named and named <= set(roster.teams)
    assert roster.source == WITH_PREVIOUS and teams(LAST_SEASON) <= set(roster.teams)  # twelve named of twenty


def test_a_whole_rounds_fixtures_are_the_season() -> None:
    later = teams(SEASON)
    codes = sorted(later)
    round_one = [Fixture("E0", date(2024, 8, 17), codes[i], codes[i + 1]) for i in range(0, 20, 2)]
    roster = season_roster(LAST_SEASON, round_one)
    assert set(roster.teams) == later and roster.source == FROM_FIXTURES


def test_fixtures_of_a_past_season_are_ignored() -> None:
    old = [Fixture("E0", date(2023, 8, 12), "ARS", "NFO")]
    assert season_roster(SEASON, old) == season_roster(SEASON)


def round_robin_round(codes: list[str], season: str, day: date) -> list[Match]:
    return [Match("E0", season, day, codes[i], codes[i + 1], 1, 1) for i in range(0, len(codes), 2)]


def test_a_league_that_shrinks_drops_last_seasons_teams_after_three_of_its_rounds() -> None:
    old = [f"T{i:02d}" for i in range(22)]  # EPL 1994-95: 22 clubs; 1995-96: 20
    new = old[:20]
    previous = [m for r in range(3) for m in round_robin_round(old, "1994-95", date(1994, 8, 20) + timedelta(r * 7))]
    rounds = [round_robin_round(new, "1995-96", date(1995, 8, 19) + timedelta(r * 7)) for r in range(4)]
    after_two = season_roster(previous + rounds[0] + rounds[1])
    assert set(after_two.teams) == set(old) and after_two.source == WITH_PREVIOUS
    after_four = season_roster(previous + [m for r in rounds for m in r])
    assert set(after_four.teams) == set(new) and after_four.source == FROM_RESULTS


def test_nothing_to_take_a_roster_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="no matches or fixtures"):
        season_roster([])


# --- Issue 31: a fixtures file never changes a league its results show ------------------------------
TAMWORTH_FILE = "Div,Date,Time,HomeTeam,AwayTeam\nE0,01/03/2025,15:00,Tamworth,Arsenal\n"


def tamworth() -> list[Fixture]:
    """The issue's repro: one row of an uploaded E0 fixtures file naming a club outside the league."""
    return parse_fixtures(TAMWORTH_FILE, "s3://bucket/fixtures/E0/cup.csv").fixtures


def cup_round(league: set[str], day: date) -> list[Fixture]:
    """32 ties filed under E0: the league's 20 clubs and 44 from below it, each named once."""
    others = [f"Z{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(64 - len(league))]
    entrants = [*sorted(league), *others]
    return [Fixture("E0", day, entrants[i], entrants[63 - i]) for i in range(32)]


@pytest.mark.parametrize("played", [150, 380])  # all twenty seen by mid-December; the finished season
def test_a_team_only_a_fixtures_file_names_stays_out_of_a_league_its_results_show(
    played: int, caplog: pytest.LogCaptureFixture
) -> None:
    (row,) = tamworth()
    assert row.home not in teams(SEASON) and row.away == "ARS"
    with caplog.at_level(logging.WARNING, logger="matchodds.core.roster"):
        roster = season_roster(LAST_SEASON + SEASON[:played], [row])
    assert roster == replace(season_roster(LAST_SEASON + SEASON[:played]), left_out=(row.home,))
    assert set(roster.teams) == teams(SEASON) and roster.source == FROM_RESULTS
    assert roster.describe()["left_out"] == [row.home]
    assert row.home in caplog.text and "left out of the roster" in caplog.text


def test_a_cup_round_filed_under_the_league_leaves_its_season_as_its_results_show() -> None:
    cup = cup_round(teams(SEASON), date(2025, 1, 11))
    roster = season_roster(LAST_SEASON + SEASON, cup)
    assert set(roster.teams) == teams(SEASON) and roster.source == FROM_RESULTS and len(roster.left_out) == 44


def test_a_new_seasons_fixtures_name_no_more_teams_than_the_league_holds(caplog: pytest.LogCaptureFixture) -> None:
    """Before a ball is kicked fixtures name the season; a cup round of 64 still gives a league of 20."""
    cup = cup_round(teams(SEASON), date(2025, 8, 30))
    with caplog.at_level(logging.WARNING, logger="matchodds.core.roster"):
        roster = season_roster(LAST_SEASON + SEASON, cup)
    assert roster.season == "2025-26" and roster.league_size == 20 and len(roster.teams) == 20
    assert set(roster.teams) == teams(SEASON)  # last season's clubs go first
    assert roster.source == FROM_FIXTURES and len(roster.left_out) == 44 and "and 24 more" in caplog.text


def test_of_a_new_seasons_fixtures_the_teams_named_most_often_are_the_league() -> None:
    """Three promoted clubs with a month of fixtures each come in before a cup opponent named once."""
    relegated = sorted(teams(SEASON))[:3]
    staying = sorted(teams(SEASON) - set(relegated))
    promoted = ["BUR", "LEE", "SUN"]
    league = [*staying, *promoted]
    month = [
        Fixture("E0", date(2025, 8, 16) + timedelta(weeks=week), league[i], league[(i + week + 1) % 20])
        for week in range(4)
        for i in range(0, 20, 2)
    ]
    (stranger,) = [replace(row, date=date(2025, 8, 20)) for row in tamworth()]
    roster = season_roster(LAST_SEASON + SEASON, [*month, stranger])
    assert set(roster.teams) == set(league) and roster.source == FROM_FIXTURES
    assert roster.left_out == tuple(sorted({stranger.home, stranger.away} - set(league)))  # ARS went down here


def test_without_an_earlier_season_the_results_teams_are_the_league_once_there_are_any() -> None:
    """A single-season upload: fixtures name the teams until the first result, then only the results do."""
    round_one = read_fixtures_file(FIXTURES).fixtures
    assert set(season_roster([], round_one).teams) == {f.home for f in round_one} | {f.away for f in round_one}
    roster = season_roster(SEASON[:10], [*round_one, *tamworth()])
    assert set(roster.teams) == teams(SEASON[:10]) and roster.league_size is None and roster.source == FROM_RESULTS
    assert tamworth()[0].home in roster.left_out
