"""The demo's sample rounds are what research.sample_rounds derives from the shipped seasons, and upload as fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from entry.local.sample_data import SAMPLE_SEASON, sample_round
from matchodds.core.results import FileKind, file_kind, parse_fixtures
from matchodds.core.uploads import plan
from research.sample_rounds import opening_round

SHIPPED = Path(__file__).parents[2] / "data" / "football-data"
pytestmark = pytest.mark.unit
LEAGUES = ("E0", "D1", "F1", "I1", "SP1")


@pytest.mark.parametrize("competition", LEAGUES)
def test_every_shipped_league_has_its_opening_round_cut_from_its_season_file(competition: str) -> None:
    round_ = sample_round(competition)
    assert round_ is not None, f"the demo has no sample round of {competition}"
    season = round_.stem.removeprefix(f"fixtures-{competition}-")
    source = SAMPLE_SEASON.parent / f"{competition}-{season}.csv"
    source = source if source.exists() else SHIPPED / competition / f"{season}.csv"
    assert round_.read_bytes() == opening_round(source.read_bytes())

    text = round_.read_bytes().decode("utf-8-sig")  # as the services read a file
    assert file_kind(text) is FileKind.FIXTURES
    fixtures = parse_fixtures(text, round_.name).fixtures
    teams = [code for fixture in fixtures for code in (fixture.home, fixture.away)]
    assert len(teams) == len(set(teams)) in (18, 20)  # one whole round: every team once
    assert all(fixture.date is not None for fixture in fixtures)
    (upload,) = plan([(round_.name, round_.read_bytes())])
    assert upload.key == f"fixtures/{competition}/{round_.name}"


def test_no_sample_round_for_a_league_the_demo_does_not_ship() -> None:
    assert sample_round("N1") is None


def test_the_round_is_the_seasons_first_rows_with_identity_and_pre_match_prices_only() -> None:
    season = (
        "\ufeffDiv,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HS,B365H,B365D,B365A,B365CH,B365CD,B365CA\r\n"
        "E0,16/08/2024,20:00,A,B,1,0,H,9,1.6,4.2,5.25,1.5,4.4,6\r\n"
        "E0,17/08/2024,15:00,C,D,2,2,D,7,2.0,3.4,3.9,2.1,3.3,3.8\r\n"
        "E0,24/08/2024,15:00,B,C,0,1,A,4,2.5,3.2,2.9,2.4,3.3,3.0\r\n"
        "E0,24/08/2024,17:30,D,A,3,1,H,12,2.2,3.3,3.4,2.2,3.4,3.3\r\n"
    ).encode()
    assert (
        opening_round(season)
        == (
            "\ufeffDiv,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A\r\n"
            "E0,16/08/2024,20:00,A,B,1.6,4.2,5.25\r\n"
            "E0,17/08/2024,15:00,C,D,2.0,3.4,3.9\r\n"
        ).encode()
    )


def test_rows_that_are_not_one_round_are_refused() -> None:
    header = b"Div,Date,Time,HomeTeam,AwayTeam,B365H,B365CH\n"
    season = header + b"E0,1/1/24,1,A,B,2,2\nE0,2/1/24,1,B,A,2,2\nE0,3/1/24,1,C,D,2,2\n"  # 4 teams, A twice in 2 rows
    with pytest.raises(ValueError, match="not one round"):
        opening_round(season)
