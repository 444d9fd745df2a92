"""The fast odds maths (matchodds.core.grid) against a straightforward reference: every pairing, draw and cell one
at a time in plain Python floats, Poisson pmfs from math.lgamma, Dixon-Coles' taus cell by cell."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from matchodds.core.grid import (
    RHO_BOUND_SHARE,
    TAIL_MASS,
    FixtureOdds,
    PredictionDraws,
    all_fixtures,
    credible_intervals,
    grid_size,
    held_rho,
    posterior_grid_size,
)
from matchodds.core.markets import (
    ASIAN_HANDICAP_QUARTERS,
    CORRECT_SCORE_MAX_GOALS,
    CREDIBLE_MASS,
    LIKELIEST_SCORES,
    OVER_UNDER_LINES,
)

pytestmark = pytest.mark.unit

TOLERANCE = 1e-9


def random_draws(seed: int, teams: int, n_draws: int, rho_low: float, rho_high: float) -> PredictionDraws:
    """A small posterior with a spread of strengths (one strong team, so some rates reach 4-5 goals)."""
    rng = np.random.default_rng(seed)
    attack = rng.normal(np.linspace(-0.4, 0.9, teams), 0.15, (n_draws, teams))
    defence = rng.normal(np.linspace(0.3, -0.5, teams), 0.15, (n_draws, teams))
    return PredictionDraws(
        intercept=rng.normal(0.2, 0.05, n_draws),
        home=rng.normal(0.25, 0.08, n_draws),
        attack=attack,
        defence=defence,
        rho=rng.uniform(rho_low, rho_high, n_draws),
    )


def reference_rates(draws: PredictionDraws, home: int, away: int, draw: int) -> tuple[float, float]:
    base, half = float(draws.intercept[draw]), float(draws.home[draw]) / 2
    attack, defence = draws.attack[draw], draws.defence[draw]
    return (
        math.exp(base + half + attack[home] + defence[away]),
        math.exp(base - half + attack[away] + defence[home]),
    )


def pmf(goals: int, rate: float) -> float:
    return math.exp(goals * math.log(rate) - rate - math.lgamma(goals + 1))


def reference_tau(home_goals: int, away_goals: int, home_rate: float, away_rate: float, rho: float) -> float:
    """Dixon & Coles' tau, rho held within RHO_BOUND_SHARE of their bounds for this pairing and draw."""
    lowest = max(-1 / home_rate, -1 / away_rate) * RHO_BOUND_SHARE
    highest = min(1 / (home_rate * away_rate), 1) * RHO_BOUND_SHARE
    rho = min(max(rho, lowest), highest)
    return {
        (0, 0): 1 - home_rate * away_rate * rho,
        (0, 1): 1 + home_rate * rho,
        (1, 0): 1 + away_rate * rho,
        (1, 1): 1 - rho,
    }.get((home_goals, away_goals), 1.0)


def reference_grid_goals(draws: PredictionDraws) -> int:
    """The smallest N whose 0..N grid leaves less than TAIL_MASS / 2 of either side's predictive, every pairing."""
    goals = 0
    for home in range(draws.n_teams):
        for away in range(draws.n_teams):
            if home == away:
                continue
            rates = [reference_rates(draws, home, away, draw) for draw in range(draws.n_draws)]
            for side in (0, 1):
                n = 0
                while sum(1 - math.fsum(pmf(k, r[side]) for k in range(n + 1)) for r in rates) / len(rates) >= (
                    TAIL_MASS / 2
                ):
                    n += 1
                goals = max(goals, n)
    return goals


def handicap_outcome(quarters: int, margin: int) -> list[int]:
    """One-hot (win, half_win, push, half_loss, loss) of a home bet at quarters/4 goals, settled half by half."""
    halves = [Fraction(quarters - 1, 4), Fraction(quarters + 1, 4)] if quarters % 2 else [Fraction(quarters, 4)] * 2
    score = sum((margin + line > 0) - (margin + line < 0) for line in halves)  # 2 .. -2
    return [int(score == result) for result in (2, 1, 0, -1, -2)]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def check_against_reference(draws: PredictionDraws, fixture: FixtureOdds) -> None:
    size = fixture.score_grid.shape[0]
    home, away = fixture.home, fixture.away
    per_draw_grids = []
    for draw in range(draws.n_draws):
        home_rate, away_rate = reference_rates(draws, home, away, draw)
        rho = float(draws.rho[draw]) if draws.rho is not None else 0.0
        per_draw_grids.append(
            [
                [
                    pmf(g, home_rate) * pmf(h, away_rate) * reference_tau(g, h, home_rate, away_rate, rho)
                    for h in range(size)
                ]
                for g in range(size)
            ]
        )
    grid = [[math.fsum(one[g][h] for one in per_draw_grids) / draws.n_draws for h in range(size)] for g in range(size)]
    np.testing.assert_allclose(fixture.score_grid, grid, rtol=0, atol=TOLERANCE)
    mass = math.fsum(map(math.fsum, grid))
    cells = [(g, h, grid[g][h] / mass) for g in range(size) for h in range(size)]
    p_home = math.fsum(p for g, h, p in cells if g > h)
    p_draw = math.fsum(p for g, h, p in cells if g == h)
    assert (fixture.p_home, fixture.p_draw, fixture.p_away) == pytest.approx(
        (p_home, p_draw, 1 - p_home - p_draw), abs=TOLERANCE
    )
    assert fixture.p_home + fixture.p_draw + fixture.p_away == pytest.approx(1, abs=1e-12)
    rates = [reference_rates(draws, home, away, draw) for draw in range(draws.n_draws)]
    assert (fixture.xg_home, fixture.xg_away) == pytest.approx(
        (math.fsum(r[0] for r in rates) / len(rates), math.fsum(r[1] for r in rates) / len(rates)), rel=1e-12
    )
    likeliest = sorted(cells, key=lambda cell: (-cell[2], cell[0], cell[1]))
    assert fixture.likely_score == likeliest[0][:2] and fixture.likely_score_p == pytest.approx(
        likeliest[0][2], abs=TOLERANCE
    )

    markets = fixture.markets
    assert markets is not None
    over = [math.fsum(p for g, h, p in cells if g + h > line) for line in OVER_UNDER_LINES]
    np.testing.assert_allclose(markets.over, over, rtol=0, atol=TOLERANCE)
    assert markets.btts == pytest.approx(math.fsum(p for g, h, p in cells if g > 0 and h > 0), abs=TOLERANCE)
    margins = {margin: math.fsum(p for g, h, p in cells if g - h == margin) for margin in range(1 - size, size)}
    handicap = [
        [
            math.fsum(p * handicap_outcome(quarters, margin)[outcome] for margin, p in margins.items())
            for outcome in range(5)
        ]
        for quarters in ASIAN_HANDICAP_QUARTERS
    ]
    np.testing.assert_allclose(markets.handicap, handicap, rtol=0, atol=TOLERANCE)
    corner = CORRECT_SCORE_MAX_GOALS + 1
    np.testing.assert_allclose(
        markets.correct_score,
        [[p for g, h, p in cells[g * size : g * size + corner]] for g in range(corner)],
        atol=TOLERANCE,
    )
    assert [score for score, _ in markets.likeliest] == [cell[:2] for cell in likeliest[:LIKELIEST_SCORES]]
    np.testing.assert_allclose(
        [p for _, p in markets.likeliest], [cell[2] for cell in likeliest[:LIKELIEST_SCORES]], rtol=0, atol=TOLERANCE
    )

    outcomes: list[list[float]] = [[], [], []]  # per draw, each draw's grid normalised on its own
    for one in per_draw_grids:
        one_mass = math.fsum(map(math.fsum, one))
        home_win = math.fsum(one[g][h] for g in range(size) for h in range(g)) / one_mass
        draw_p = math.fsum(one[g][g] for g in range(size)) / one_mass
        for outcome, p in zip(outcomes, (home_win, draw_p, 1 - home_win - draw_p), strict=True):
            outcome.append(p)
    tail = (1 - CREDIBLE_MASS) / 2
    intervals = [[quantile(values, tail), quantile(values, 1 - tail)] for values in outcomes]
    np.testing.assert_allclose(markets.intervals, intervals, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(
    ("seed", "rho_low", "rho_high"),
    [
        (1, -0.12, 0.0),  # a fitted rho: within Dixon & Coles' bounds for every pairing
        (2, -0.45, 0.45),  # rho held at the bounds of the lopsided pairings in some draws
    ],
)
def test_every_number_matches_the_reference_computation(seed: int, rho_low: float, rho_high: float) -> None:
    draws = random_draws(seed, teams=4, n_draws=30, rho_low=rho_low, rho_high=rho_high)
    fixtures = list(all_fixtures(draws, markets=True))
    assert len(fixtures) == 12 and fixtures[0].score_grid.shape[0] == reference_grid_goals(draws) + 1
    for fixture in fixtures:
        check_against_reference(draws, fixture)


def test_the_grid_size_of_every_pairing_is_found_without_running_every_tail() -> None:
    """posterior_grid_size bounds most pairings' grids; its answer is the exhaustive grid_size of every rate."""
    for seed, teams, n_draws, spread in ((3, 6, 400, 0.15), (4, 9, 257, 0.4), (5, 3, 1, 0.0), (6, 12, 70, 0.35)):
        rng = np.random.default_rng(seed)
        draws = PredictionDraws(
            intercept=rng.normal(0.2, spread / 3, n_draws),
            home=rng.normal(0.25, spread / 3, n_draws),
            attack=rng.normal(np.linspace(-0.6, 1.2, teams), spread, (n_draws, teams)),
            defence=rng.normal(np.linspace(0.4, -0.8, teams), spread, (n_draws, teams)),
        )
        home, away = np.nonzero(~np.eye(teams, dtype=bool))
        assert posterior_grid_size(draws) == grid_size(np.concatenate(draws.product_rates(home, away)))


def test_rho_is_held_exactly_as_the_clip_holds_it() -> None:
    """held_rho returns rho itself when no pairing can reach the bounds: the same numbers as clipping each one."""
    rng = np.random.default_rng(7)
    for largest_rate, rho_spread in ((3.0, 0.1), (6.0, 0.4), (0.5, 0.9), (12.0, 0.05)):
        home_rate = rng.uniform(0.2, largest_rate, (5, 300))
        away_rate = rng.uniform(0.2, largest_rate, (5, 300))
        rho = rng.uniform(-rho_spread, rho_spread, 300)
        lowest = np.maximum(-1 / home_rate, -1 / away_rate) * RHO_BOUND_SHARE
        highest = np.minimum(1 / (home_rate * away_rate), 1) * RHO_BOUND_SHARE
        np.testing.assert_array_equal(held_rho(home_rate, away_rate, rho), np.clip(rho, lowest, highest))


@pytest.mark.parametrize("n_draws", [1, 2, 7, 2000])
def test_credible_intervals_are_numpys_quantiles(n_draws: int) -> None:
    outcome_draws = np.random.default_rng(n_draws).random((4, 3, n_draws))
    tail = (1 - CREDIBLE_MASS) / 2
    expected = np.moveaxis(np.quantile(outcome_draws, [tail, 1 - tail], axis=-1), 0, -1)
    np.testing.assert_allclose(credible_intervals(outcome_draws), expected, rtol=0, atol=1e-15)
