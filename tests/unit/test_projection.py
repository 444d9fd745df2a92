"""The season ahead (issue 21): the simulated table, its tie-breaks, its exact Dixon-Coles scores, its contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from itertools import permutations

import numpy as np
import pytest

from matchodds.core.grid import PredictionDraws, low_score_taus
from matchodds.core.keys import ContractError
from matchodds.core.posterior import Posterior, decode_posterior, encode_posterior
from matchodds.core.projection import (
    LEAGUE_RULES,
    REMAINING_FROM_FIXTURES,
    REMAINING_FROM_ROUND_ROBIN,
    Results,
    Standings,
    project_posterior,
    project_season,
    rank,
    remaining_fixtures,
    sample_scores,
    tables,
)
from matchodds.core.season import SEASON_META_KEY, NamedFixture, PlayedMatch, SeasonRecord

pytestmark = pytest.mark.unit

CODES = ("ARS", "CHE", "LIV", "MCI")
OPENING = date(2024, 8, 17)


def played(*scores: tuple[str, str, int, int]) -> tuple[PlayedMatch, ...]:
    """Matches a week apart from the season's opening day."""
    return tuple(
        PlayedMatch(OPENING + timedelta(days=7 * week), home, away, home_goals, away_goals)
        for week, (home, away, home_goals, away_goals) in enumerate(scores)
    )


def round_robin(codes: tuple[str, ...], score: Callable[[str, str], tuple[int, int]]) -> tuple[PlayedMatch, ...]:
    return played(*((home, away, *score(home, away)) for home, away in permutations(codes, 2)))


def with_season(posterior: Posterior, record: SeasonRecord) -> Posterior:
    return replace(posterior, meta={**posterior.meta, SEASON_META_KEY: record.to_meta()})


@pytest.mark.parametrize("rho", [None, -0.08])  # Dixon-Coles' rho held per pairing: with no pairing left too
def test_a_finished_season_is_its_table_with_every_probability_zero_or_one(
    make_posterior: Callable[..., Posterior], rho: float | None
) -> None:
    # Each team beats every team after it in CODES at home and draws away: ARS top, MCI bottom.
    matches = round_robin(CODES, lambda home, away: (2, 0) if CODES.index(home) < CODES.index(away) else (1, 1))
    posterior = with_season(make_posterior(codes=CODES), SeasonRecord("2024-25", CODES, matches))
    if rho is not None:
        shape = posterior.draws["intercept"].shape
        posterior = replace(posterior, draws={**posterior.draws, "rho": np.full(shape, rho, dtype=np.float32)})
    projection = project_posterior(posterior, simulations=500)
    assert projection is not None and projection.remaining_matches == 0
    document = projection.document({})
    assert [team["code"] for team in document["teams"]] == list(CODES)
    for position, team in enumerate(document["teams"]):
        assert team["played"] == 6 and team["won"] + team["drawn"] + team["lost"] == 6
        assert team["projection"]["positions"] == [1.0 if p == position else 0.0 for p in range(4)]
        assert team["projection"]["expected_points"] == team["points"]
        assert team["projection"]["points_interval"] == {"low": team["points"], "high": team["points"]}
    assert document["teams"][0]["projection"]["p_title"] == 1.0
    assert [team["projection"]["p_title"] for team in document["teams"][1:]] == [0.0, 0.0, 0.0]


def test_a_team_that_cannot_be_caught_wins_the_title_in_every_simulation(
    make_posterior: Callable[..., Posterior],
) -> None:
    codes = ("ARS", "AVL", "BOU", "BRE", "CHE", "LIV")
    # ARS has won its five home games and four away: 27 points. AVL and BOU have drawn their eight games with
    # the others; the best any other team can reach is AVL's 5 + 3 x 3 left = 14.
    matches = [("ARS", away, 3, 0) for away in codes[1:]] + [(home, "ARS", 0, 1) for home in codes[1:5]]
    matches += [(home, away, 1, 1) for home, away in permutations(codes[1:], 2) if (home, away) < ("BRE", "")]
    record = SeasonRecord("2024-25", codes, played(*matches))
    projection = project_posterior(with_season(make_posterior(codes=codes), record), simulations=2000)
    assert projection is not None
    zones = projection.zone_probabilities()
    assert zones["p_title"] is not None and zones["p_title"][0] == 1.0
    assert projection.remaining_matches == 30 - len(matches)


def test_every_position_column_and_every_team_row_sums_to_one(make_posterior: Callable[..., Posterior]) -> None:
    codes = ("ARS", "AVL", "BOU", "BRE", "CHE", "LIV", "MCI", "TOT")
    record = SeasonRecord("2024-25", codes, played(("ARS", "AVL", 2, 1), ("BOU", "BRE", 0, 0)))
    posterior = with_season(make_posterior(codes=codes), record)
    projection = project_posterior(posterior, simulations=3000)
    assert projection is not None
    positions = projection.position_probabilities()
    np.testing.assert_allclose(positions.sum(axis=0), 1.0)
    np.testing.assert_allclose(positions.sum(axis=1), 1.0)
    document = projection.document({})
    for team in document["teams"]:
        assert sum(team["projection"]["positions"]) == pytest.approx(1.0, abs=1e-3)
        assert team["projection"]["p_relegation"] == pytest.approx(sum(team["projection"]["positions"][-3:]), abs=1e-3)
    assert sum(team["projection"]["p_europe"] for team in document["teams"]) == pytest.approx(4.0, abs=1e-3)


def test_the_same_posterior_and_seed_project_the_same_table(make_posterior: Callable[..., Posterior]) -> None:
    record = SeasonRecord("2024-25", CODES, played(("ARS", "CHE", 1, 0)))
    draws = PredictionDraws.from_posterior(make_posterior(codes=CODES))
    first, again, other = (project_season(draws, CODES, record, LEAGUE_RULES["E0"], 4000, seed) for seed in (7, 7, 8))
    np.testing.assert_array_equal(first.final_positions, again.final_positions)
    assert not np.array_equal(first.final_positions, other.final_positions)
    assert first.document({}) == again.document({})


def test_simulation_i_uses_draw_i_mod_the_draws(make_posterior: Callable[..., Posterior]) -> None:
    """Two draws, one where ARS cannot lose and one where it cannot win: half the seasons each."""
    draws = PredictionDraws(
        intercept=np.array([0.0, 0.0]),
        home=np.zeros(2),
        attack=np.array([[2.5, -2.5], [-2.5, 2.5]]),
        defence=np.array([[-2.5, 2.5], [2.5, -2.5]]),
    )
    record = SeasonRecord("2024-25", ("ARS", "CHE"), ())
    projection = project_season(draws, ("ARS", "CHE"), record, LEAGUE_RULES["E0"], 1000, 0)
    assert projection.position_probabilities()[0, 0] == pytest.approx(0.5, abs=0.02)


def test_the_remaining_fixtures_are_the_double_round_robin_less_the_matches_played() -> None:
    done = Results(np.array([0, 2]), np.array([1, 0]))
    remaining, source = remaining_fixtures(3, done)
    assert source == REMAINING_FROM_ROUND_ROBIN
    assert sorted(zip(remaining.home.tolist(), remaining.away.tolist(), strict=True)) == [
        (0, 2),
        (1, 0),
        (1, 2),
        (2, 1),
    ]
    # A week of named fixtures is not the season's rest; a whole schedule (here with a third meeting) is.
    week = Results(np.array([0]), np.array([2]))
    assert remaining_fixtures(3, done, week)[1] == REMAINING_FROM_ROUND_ROBIN
    schedule = Results(np.array([0, 1, 1, 2, 0]), np.array([2, 0, 2, 1, 1]))
    rest, source = remaining_fixtures(3, done, schedule)
    assert source == REMAINING_FROM_FIXTURES and rest.size == 5


def standings(codes: tuple[str, ...], *scores: tuple[str, str, int, int]) -> Standings:
    index = {code: n for n, code in enumerate(codes)}
    matches = Results(
        np.array([index[home] for home, _, _, _ in scores]),
        np.array([index[away] for _, away, _, _ in scores]),
        np.array([goals for _, _, goals, _ in scores]),
        np.array([goals for _, _, _, goals in scores]),
    )
    return Standings.of(tables(len(codes), matches))


def order(table: Standings, competition: str, codes: tuple[str, ...]) -> list[str]:
    positions = rank(table, LEAGUE_RULES[competition].tie_breaks, -np.arange(len(codes), dtype=float))[0]
    return [codes[team] for team in np.argsort(positions)]


def test_level_on_points_goal_difference_decides_in_england_and_the_meeting_in_spain() -> None:
    codes = ("ARS", "BRE", "CHE", "LIV")
    # ARS and BRE have 4 points each; ARS has the better goal difference (+4 to +1), BRE won their meeting.
    table = standings(codes, ("BRE", "ARS", 1, 0), ("ARS", "CHE", 5, 0), ("BRE", "LIV", 0, 0), ("ARS", "LIV", 0, 0))
    assert table.points[0].tolist() == [4, 4, 0, 2]
    assert order(table, "E0", codes)[:2] == ["ARS", "BRE"]
    assert order(table, "D1", codes)[:2] == ["ARS", "BRE"]
    assert order(table, "F1", codes)[:2] == ["ARS", "BRE"]
    assert order(table, "SP1", codes)[:2] == ["BRE", "ARS"]
    assert order(table, "I1", codes)[:2] == ["BRE", "ARS"]


def test_goals_scored_decide_after_goal_difference() -> None:
    codes = ("ARS", "BRE", "CHE", "LIV")
    table = standings(codes, ("ARS", "CHE", 1, 0), ("BRE", "LIV", 3, 2))
    assert order(table, "E0", codes)[:2] == ["BRE", "ARS"]


def test_head_to_head_is_a_mini_league_of_every_team_level_on_points() -> None:
    codes = ("ARS", "BRE", "CHE", "LIV")
    # ARS, BRE and CHE each beat one of the others: 3 points each against each other. LIV lost to all, heavily
    # to ARS (overall goal difference: ARS +8, CHE +2, BRE +1). In the mini-league: CHE +1, BRE 0, ARS -1.
    table = standings(
        codes,
        ("ARS", "BRE", 1, 0),
        ("BRE", "CHE", 1, 0),
        ("CHE", "ARS", 3, 1),
        ("ARS", "LIV", 9, 0),
        ("BRE", "LIV", 1, 0),
        ("CHE", "LIV", 1, 0),
    )
    assert table.points[0].tolist() == [6, 6, 6, 0]
    assert order(table, "SP1", codes) == ["CHE", "BRE", "ARS", "LIV"]
    assert order(table, "E0", codes) == ["ARS", "CHE", "BRE", "LIV"]


def test_teams_level_on_everything_are_split_at_random() -> None:
    record = SeasonRecord("2024-25", ("ARS", "CHE"), played(("ARS", "CHE", 1, 1), ("CHE", "ARS", 0, 0)))
    draws = PredictionDraws(np.zeros(1), np.zeros(1), np.zeros((1, 2)), np.zeros((1, 2)))
    projection = project_season(draws, ("ARS", "CHE"), record, LEAGUE_RULES["SP1"], 4000, 1)
    assert projection.remaining_matches == 0
    assert projection.position_probabilities()[0, 0] == pytest.approx(0.5, abs=0.03)


def test_scores_are_drawn_exactly_from_the_dixon_coles_distribution() -> None:
    home_rate, away_rate, rho = 1.6, 0.9, -0.12
    draws = PredictionDraws(
        intercept=np.array([0.0]),
        home=np.array([0.0]),
        attack=np.log(np.array([[home_rate, away_rate]])),
        defence=np.zeros((1, 2)),
        rho=np.array([rho]),
    )
    samples = 400_000
    home_goals, away_goals = sample_scores(
        draws, np.array([0]), np.array([1]), np.zeros(samples, dtype=np.intp), np.random.default_rng(3)
    )
    goals = np.arange(4)
    home_pmf = np.exp(-home_rate) * home_rate**goals / np.array([1, 1, 2, 6])
    away_pmf = np.exp(-away_rate) * away_rate**goals / np.array([1, 1, 2, 6])
    exact = np.outer(home_pmf, away_pmf)
    taus = low_score_taus(np.array(home_rate), np.array(away_rate), np.array(rho))
    for (h, a), tau in zip(((0, 0), (0, 1), (1, 0), (1, 1)), taus, strict=True):
        exact[h, a] *= float(tau)
    observed = np.zeros((4, 4))
    np.add.at(observed, (np.minimum(home_goals[:, 0], 3), np.minimum(away_goals[:, 0], 3)), 1)
    observed = observed[:3, :3] / samples
    standard_error = np.sqrt(exact[:3, :3] * (1 - exact[:3, :3]) / samples)
    assert np.all(np.abs(observed - exact[:3, :3]) < 5 * standard_error)


def test_the_season_record_survives_the_posterior_file_and_bad_records_are_refused(
    make_posterior: Callable[..., Posterior],
) -> None:
    record = SeasonRecord(
        "2024-25",
        CODES,
        played(("ARS", "CHE", 2, 1)),
        (NamedFixture(date(2025, 1, 4), "LIV", "MCI"), NamedFixture(None, "MCI", "ARS")),
    )
    posterior = with_season(make_posterior(codes=CODES), record)
    decoded = decode_posterior(encode_posterior(posterior))
    assert SeasonRecord.from_meta(decoded.meta[SEASON_META_KEY], decoded.team_codes) == record
    assert record.through == OPENING
    meta = record.to_meta()
    bad = {
        "a team not in the posterior": {**meta, "teams": [*CODES[:3], "XYZ"]},
        "a team named twice": {**meta, "teams": [*CODES[:3], "ARS"]},
        "a date outside the season": {**meta, "played": [["2023-08-17", "ARS", "CHE", 2, 1]]},
        "goals that are not counts": {**meta, "played": [["2024-08-17", "ARS", "CHE", 2.0, 1]]},
        "too many goals": {**meta, "played": [["2024-08-17", "ARS", "CHE", 31, 1]]},
        "a team playing itself": {**meta, "fixtures": [[None, "ARS", "ARS"]]},
        "a short row": {**meta, "fixtures": [["LIV", "MCI"]]},
        "too many rows": {**meta, "fixtures": [[None, "LIV", "MCI"]] * 2001},
        "an unknown field": {**meta, "extra": 1},
        "a bad season": {**meta, "season": "2024/25"},
    }
    for reason, value in bad.items():
        with pytest.raises(ContractError, match="season"):
            encode_posterior(replace(posterior, meta={**posterior.meta, SEASON_META_KEY: value}))
            pytest.fail(f"{reason} was accepted")


def test_a_posterior_without_a_season_projects_nothing(make_posterior: Callable[..., Posterior]) -> None:
    assert project_posterior(make_posterior()) is None


def test_leagues_without_a_zone_report_none_for_it(make_posterior: Callable[..., Posterior]) -> None:
    record = SeasonRecord("2024-25", CODES, played(("ARS", "CHE", 1, 0)))
    posterior = with_season(make_posterior(codes=CODES, competition="N1"), record)
    projection = project_posterior(posterior, simulations=200)
    assert projection is not None
    team = projection.document({})["teams"][0]
    assert team["projection"]["p_title"] is not None
    assert team["projection"]["p_europe"] is None and team["projection"]["p_relegation"] is None


def test_a_fixture_naming_a_team_outside_the_league_is_left_out_not_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Found by the demo: a user's fixtures file with `LIV,XYZ` made the next fit refuse the week's posterior."""
    from matchodds.core.results import Fixture
    from matchodds.core.season import season_record

    fixtures = [
        Fixture("E0", None, "ARS", "LIV"),
        Fixture("E0", None, "LIV", "XYZ"),
        Fixture("E0", date(2025, 1, 14), "ARS", "ARS"),
    ]
    record = season_record("2024-25", ("ARS", "CHE", "LIV", "MCI"), [], fixtures)
    assert record.fixtures == (NamedFixture(None, "ARS", "LIV"),)
    assert "2 fixture(s) of 2024-25 name a team outside its league (LIV v XYZ, ARS v ARS)" in caplog.text
