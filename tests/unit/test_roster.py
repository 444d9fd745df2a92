"""The season's roster: never fewer teams than the league, whatever part of a season the data hold."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from matchodds.core.results import Fixture, Match, read_fixtures_file, read_results_file
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
