"""The odds maths against hand computation: exact, normalised, symmetric."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from matchodds.contract import Posterior
from services.precompute.odds import (
    TAIL_MASS,
    PredictionDraws,
    all_fixtures,
    grid_size,
    outcome_probabilities,
    score_grids,
)

pytestmark = pytest.mark.unit


def poisson(k: int, rate: float) -> float:
    return math.exp(-rate) * rate**k / math.factorial(k)


def analytic(home_rate: float, away_rate: float, limit: int = 60) -> tuple[float, float, float]:
    grid = [[poisson(i, home_rate) * poisson(j, away_rate) for j in range(limit)] for i in range(limit)]
    home = sum(grid[i][j] for i in range(limit) for j in range(i))
    draw = sum(grid[i][i] for i in range(limit))
    return home, draw, 1 - home - draw


def single_draw(attack: list[float], defence: list[float], home: float, intercept: float, rho: float | None = None):
    one = np.ones(1)
    return PredictionDraws(
        intercept * one, home * one, np.array([attack]), np.array([defence]), None if rho is None else rho * one
    )


def test_one_known_parameter_set_reproduces_the_analytic_poisson_result() -> None:
    draws = single_draw([0.3, -0.1], [-0.2, 0.1], home=0.3, intercept=0.35)
    home_rate = math.exp(0.35 + 0.15 + 0.3 + 0.1)
    away_rate = math.exp(0.35 - 0.15 - 0.1 - 0.2)
    fixtures = {(f.home, f.away): f for f in all_fixtures(draws)}
    first = fixtures[(0, 1)]
    expected = analytic(home_rate, away_rate)
    assert (first.p_home, first.p_draw, first.p_away) == pytest.approx(expected, abs=1e-6)
    assert (first.xg_home, first.xg_away) == pytest.approx((home_rate, away_rate), rel=1e-12)
    assert first.likely_score == (2, 0)  # the modes of Poisson(2.46) and Poisson(0.90)
    grid = first.score_grid
    assert first.likely_score_p == pytest.approx(grid.max() / grid.sum())
    assert 1 - grid.sum() < TAIL_MASS


def test_the_grid_averages_the_draws_it_does_not_sample_one() -> None:
    a = single_draw([0.2, -0.2], [0.0, 0.0], home=0.2, intercept=0.3)
    b = single_draw([-0.1, 0.4], [0.1, -0.3], home=0.1, intercept=0.4)
    both = PredictionDraws(
        *(np.concatenate([getattr(a, n), getattr(b, n)]) for n in ("intercept", "home", "attack", "defence"))
    )
    pair = (np.array([0]), np.array([1]))
    mean_of_two = (score_grids(a, *pair, 25) + score_grids(b, *pair, 25)) / 2
    np.testing.assert_allclose(score_grids(both, *pair, 25), mean_of_two, rtol=1e-12)


def test_probabilities_sum_to_one_for_every_pair(make_posterior: Callable[..., Posterior]) -> None:
    fixtures = list(all_fixtures(PredictionDraws.from_posterior(make_posterior(spread=0.2))))
    assert len(fixtures) == 4 * 3
    for fixture in fixtures:
        assert fixture.p_home + fixture.p_draw + fixture.p_away == pytest.approx(1, abs=1e-12)
        assert min(fixture.p_home, fixture.p_draw, fixture.p_away) > 0
        assert np.prod(fixture.fair_odds) > 0 and fixture.fair_odds[0] == pytest.approx(1 / fixture.p_home)


def test_home_and_away_swap_consistently(make_posterior: Callable[..., Posterior]) -> None:
    neutral = {
        (f.home, f.away): f for f in all_fixtures(PredictionDraws.from_posterior(make_posterior(home=0.0, spread=0.0)))
    }
    for (home, away), fixture in neutral.items():
        swapped = neutral[(away, home)]
        assert fixture.p_home == pytest.approx(swapped.p_away, abs=1e-12)
        assert fixture.p_draw == pytest.approx(swapped.p_draw, abs=1e-12)
        assert fixture.xg_home == pytest.approx(swapped.xg_away, rel=1e-9)
    equal = make_posterior(attack=[0.0] * 4, defence=[0.0] * 4, home=0.3, spread=0.0)
    for fixture in all_fixtures(PredictionDraws.from_posterior(equal)):
        assert fixture.p_home > fixture.p_away


def test_grid_size_leaves_out_less_than_the_tail() -> None:
    for rate in (0.5, 1.4, 3.0, 7.5):
        goals = grid_size(rate)
        left_out = 1 - sum(poisson(k, rate) for k in range(goals + 1))
        assert left_out < TAIL_MASS / 2
        assert 1 - sum(poisson(k, rate) for k in range(goals)) >= TAIL_MASS / 2


def test_dixon_coles_correction_matches_hand_values() -> None:
    rho = -0.1
    draws = single_draw([0.0, 0.0], [0.0, 0.0], home=0.0, intercept=math.log(1.2), rho=rho)
    grid = score_grids(draws, np.array([0]), np.array([1]), 30)[0]
    rate = 1.2
    assert grid[0, 0] == pytest.approx(poisson(0, rate) ** 2 * (1 - rate * rate * rho))
    assert grid[0, 1] == pytest.approx(poisson(0, rate) * poisson(1, rate) * (1 + rate * rho))
    assert grid[1, 1] == pytest.approx(poisson(1, rate) ** 2 * (1 - rho))
    assert grid[2, 1] == pytest.approx(poisson(2, rate) * poisson(1, rate))
    assert grid.sum() == pytest.approx(1, abs=1e-9)  # the correction keeps the total mass
    p_home, p_draw, p_away = outcome_probabilities(grid)
    assert p_home == pytest.approx(p_away) and p_draw > analytic(rate, rate)[1]
