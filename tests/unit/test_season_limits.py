"""A season that breaks the season record's limits costs the table, never the week's odds (issue 31).

More than 2,000 fixtures in one season (5,700 over 2026-28 were uploaded), or more than 40 teams, made
season_record raise ContractError after the fit had sampled: exit 1, nothing published, every later
fit of the league the same.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from itertools import permutations
from pathlib import Path

import pytest

from matchodds.core.keys import ContractError
from matchodds.core.results import Fixture, Match, read_results_file
from matchodds.core.season import MAX_SEASON_ROWS, MAX_SEASON_TEAMS, season_record, season_record_or_none

pytestmark = pytest.mark.unit
SEASON = read_results_file(Path(__file__).parents[2] / "matchodds" / "data" / "sample" / "E0-2024-25.csv")
TEAMS = tuple(sorted({m.home for m in SEASON}))
PLAYED = SEASON[:100]


def oversized_fixtures(count: int) -> list[Fixture]:
    """`count` fixtures of the league's own teams, each pairing on many days of the season."""
    pairings = list(permutations(TEAMS, 2))
    return [
        Fixture("E0", date(2025, 1, 1) + timedelta(days=n // len(pairings)), *pairings[n % len(pairings)])
        for n in range(count)
    ]


def test_2500_named_fixtures_leave_the_season_without_named_fixtures(caplog: pytest.LogCaptureFixture) -> None:
    fixtures = oversized_fixtures(2500)
    assert len(fixtures) > MAX_SEASON_ROWS
    with caplog.at_level(logging.WARNING, logger="matchodds.core.season"):
        record = season_record("2024-25", TEAMS, PLAYED, fixtures)
    assert record.fixtures == () and len(record.played) == 100 and record.teams == TEAMS
    assert "2500 fixtures of 2024-25 named, more than the 2000" in caplog.text
    assert season_record_or_none("2024-25", TEAMS, PLAYED, fixtures) == record
    # Up to the limit, every one is kept.
    assert len(season_record("2024-25", TEAMS, PLAYED, oversized_fixtures(MAX_SEASON_ROWS)).fixtures) == 2000


def test_a_season_of_45_teams_has_no_record_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    codes = [f"T{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(45)]
    played = [
        Match("E0", "2024-25", date(2024, 8, 17) + timedelta(days=i), codes[i], codes[(i + 1) % 45], 1, 0)
        for i in range(45)
    ]
    assert len(codes) > MAX_SEASON_TEAMS
    with pytest.raises(ContractError, match="2 to 40 teams"):
        season_record("2024-25", codes, played)
    with caplog.at_level(logging.WARNING, logger="matchodds.core.season"):
        assert season_record_or_none("2024-25", codes, played) is None
    assert "no season record for 2024-25, so this version has no table" in caplog.text


def test_more_matches_played_than_a_season_holds_has_no_record() -> None:
    played = [
        Match("E0", "2024-25", date(2024, 8, 17) + timedelta(days=n // 380), home, away, 1, 1)
        for n, (home, away) in enumerate(list(permutations(TEAMS, 2)) * 6)
    ]
    assert len(played) > MAX_SEASON_ROWS
    assert season_record_or_none("2024-25", TEAMS, played) is None


def test_a_real_season_keeps_its_record() -> None:
    record = season_record_or_none("2024-25", TEAMS, SEASON)
    assert record is not None and len(record.played) == 380 and record.teams == TEAMS
