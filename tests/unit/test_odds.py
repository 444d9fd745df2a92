"""The odds maths against hand computation: exact, normalised, symmetric."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from matchodds.core.documents import handicap_price
from matchodds.core.grid import (
    TAIL_MASS,
    ImplausibleOdds,
    PredictionDraws,
    all_fixtures,
    check_score_grids,
    grid_markets,
    grid_size,
    handicap_weights,
    likeliest_scores,
    outcome_probabilities,
    pair_batches,
    score_grids,
)
from matchodds.core.markets import ASIAN_HANDICAP_QUARTERS, HANDICAP_OUTCOMES, OVER_UNDER_LINES
from matchodds.core.posterior import Posterior

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


def test_the_grid_bounds_the_predictive_tail_not_the_worst_draw() -> None:
    rates = np.array([[1.0] * 99 + [6.0]])  # 100 draws of one side, one of them extreme
    goals = grid_size(rates)
    left_out = [
        1 - sum(0.99 * poisson(k, 1.0) + 0.01 * poisson(k, 6.0) for k in range(n + 1)) for n in (goals - 1, goals)
    ]
    assert left_out[1] < TAIL_MASS / 2 <= left_out[0]
    assert goals < grid_size(6.0)  # smaller than the grid the extreme draw alone would need
    assert grid_size(np.array([[1.0], [6.0]])) == grid_size(6.0)  # every row is bounded


def test_the_worst_draw_bound_covers_every_pairing(make_posterior: Callable[..., Posterior]) -> None:
    draws = PredictionDraws.from_posterior(make_posterior(spread=0.3))
    teams = np.arange(draws.n_teams)
    home, away = np.meshgrid(teams, teams)
    rates = np.concatenate(draws.rates(home[home != away], away[home != away]))
    assert rates.max() <= draws.max_rate() and grid_size(rates) <= grid_size(draws.max_rate())


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


# --- markets ---------------------------------------------------------------------------------------
# A tiny grid by hand: P(0-0)=.2, P(1-0)=.3, P(2-0)=.1, P(0-1)=.25, P(1-1)=.15; home margins -1: .25,
# 0: .35, +1: .3, +2: .1; totals 0: .2, 1: .55, 2: .25.
HAND_GRID = np.zeros((1, 3, 3))
HAND_GRID[0, 0, 0], HAND_GRID[0, 1, 0], HAND_GRID[0, 2, 0], HAND_GRID[0, 0, 1], HAND_GRID[0, 1, 1] = (
    0.2,
    0.3,
    0.1,
    0.25,
    0.15,
)


def line(value: float) -> int:
    return ASIAN_HANDICAP_QUARTERS.index(round(value * 4))


@pytest.mark.parametrize(
    ("quarters", "margin", "outcome"),
    [
        (-3, 2, "win"),  # -0.75, won by 2: both halves (-0.5, -1) win
        (-3, 1, "half_win"),  # won by 1: -0.5 wins, -1 pushes
        (-3, 0, "loss"),
        (-4, 1, "push"),  # -1, won by 1
        (-4, 2, "win"),
        (-2, 0, "loss"),  # -0.5 on a draw
        (-1, 0, "half_loss"),  # -0.25 on a draw: 0 pushes, -0.5 loses
        (1, 0, "half_win"),  # +0.25 on a draw
        (1, -1, "loss"),
        (3, -1, "half_loss"),  # +0.75, lost by 1: +0.5 loses, +1 pushes
        (0, 0, "push"),
        (10, -2, "win"),  # +2.5, lost by 2
        (-10, 3, "win"),
    ],
)
def test_handicap_resolution_by_hand(quarters: int, margin: int, outcome: str) -> None:
    weights = handicap_weights(quarters, np.array([margin]))[0]
    assert weights.tolist() == [1.0 if name == outcome else 0.0 for name in HANDICAP_OUTCOMES]


def test_markets_of_a_hand_grid() -> None:
    markets = grid_markets(HAND_GRID)
    over = dict(zip(OVER_UNDER_LINES, markets["over"][0], strict=True))
    assert over[0.5] == pytest.approx(0.8) and over[1.5] == pytest.approx(0.25) and over[2.5] == pytest.approx(0)
    assert markets["btts"][0] == pytest.approx(0.15)
    ah = markets["handicap"][0]
    # home -0.75: won by 2 wins both halves (.1), won by 1 is a half win (.3), the rest loses
    assert ah[line(-0.75)] == pytest.approx([0.1, 0.3, 0, 0, 0.6])
    assert handicap_price(*ah[line(-0.75)]) == pytest.approx(1 + 0.6 / (0.1 + 0.15))  # 3.4
    # its away side (+0.75): wins .35 + .25, half loss .3 (home by 1), loss .1 (home by 2)
    away = ah[line(-0.75)][::-1]
    assert handicap_price(*away) == pytest.approx(1 + (0.1 + 0.15) / 0.6)
    assert 1 / handicap_price(*ah[line(-0.75)]) + 1 / handicap_price(*away) == pytest.approx(1)
    assert ah[line(0)] == pytest.approx([0.4, 0, 0.35, 0, 0.25])  # draw no bet
    assert ah[line(-1)] == pytest.approx([0.1, 0, 0.3, 0, 0.6])
    assert ah[line(0.25)] == pytest.approx([0.4, 0.35, 0, 0, 0.25])
    assert ah[line(-0.25)] == pytest.approx([0.4, 0, 0, 0.35, 0.25])
    assert handicap_price(*ah[line(-0.25)]) == pytest.approx(1 + (0.25 + 0.175) / 0.4)
    assert ah[line(-2.5)] == pytest.approx([0, 0, 0, 0, 1])
    assert handicap_price(*ah[line(-2.5)]) is None
    np.testing.assert_allclose(markets["handicap"][0].sum(axis=1), 1)
    corner = markets["correct_score"][0]
    assert corner.shape == (7, 7) and corner[2, 0] == 0.1 and corner[3:].sum() == 0 and corner.sum() == pytest.approx(1)
    assert likeliest_scores(HAND_GRID[0], 3) == (((1, 0), 0.3), ((0, 1), 0.25), ((0, 0), 0.2))


def single_draw_posterior(intercept: float = math.log(1.3)) -> PredictionDraws:
    return single_draw([0.2, -0.2], [-0.1, 0.1], home=0.25, intercept=intercept)


def test_markets_from_draws_agree_with_the_analytic_poisson() -> None:
    draws = single_draw_posterior()
    fixture = next(f for f in all_fixtures(draws, markets=True) if (f.home, f.away) == (0, 1))
    home_rate, away_rate = fixture.xg_home, fixture.xg_away
    markets = fixture.markets
    assert markets is not None
    total = home_rate + away_rate
    for line_value, over in zip(OVER_UNDER_LINES, markets.over, strict=True):
        under = sum(poisson(k, total) for k in range(int(line_value) + 1))
        assert over == pytest.approx(1 - under, abs=1e-6)
    assert markets.btts == pytest.approx((1 - poisson(0, home_rate)) * (1 - poisson(0, away_rate)), abs=1e-6)
    assert markets.correct_score[2, 1] == pytest.approx(poisson(2, home_rate) * poisson(1, away_rate), abs=1e-7)
    ah = markets.handicap
    assert ah[line(-0.5)][0] == pytest.approx(fixture.p_home, abs=1e-9)
    assert ah[line(0)][[0, 2, 4]] == pytest.approx([fixture.p_home, fixture.p_draw, fixture.p_away], abs=1e-9)
    assert ah[line(0.5)][0] == pytest.approx(fixture.p_home + fixture.p_draw, abs=1e-9)
    # one draw: no spread, the interval collapses on the probability itself
    assert markets.intervals[:, 0] == pytest.approx([fixture.p_home, fixture.p_draw, fixture.p_away], abs=1e-9)
    assert markets.intervals[:, 1] == pytest.approx(markets.intervals[:, 0], abs=1e-12)
    assert markets.likeliest[0] == ((fixture.likely_score), pytest.approx(fixture.likely_score_p))


def test_credible_intervals_are_quantiles_of_the_per_draw_probabilities() -> None:
    rng = np.random.default_rng(3)
    n = 400
    draws = PredictionDraws(
        intercept=np.full(n, 0.3),
        home=rng.normal(0.25, 0.2, n),
        attack=np.stack([rng.normal(0.2, 0.15, n), np.zeros(n)], axis=1),
        defence=np.zeros((n, 2)),
    )
    fixture = next(f for f in all_fixtures(draws, markets=True) if (f.home, f.away) == (0, 1))
    home_rates, away_rates = draws.rates(0, 1)
    per_draw = np.array([analytic(h, a) for h, a in zip(home_rates, away_rates, strict=True)])
    assert fixture.markets is not None
    np.testing.assert_allclose(fixture.markets.intervals, np.quantile(per_draw, [0.05, 0.95], axis=0).T, atol=1e-6)
    low, high = fixture.markets.intervals[0]
    assert low < fixture.p_home < high and high - low > 0.05  # a real spread, around the pooled probability


def test_per_draw_probabilities_include_the_dixon_coles_correction() -> None:
    draws = single_draw([0.0, 0.1], [0.0, 0.0], home=0.2, intercept=math.log(1.2), rho=-0.12)
    fixture = next(f for f in all_fixtures(draws, markets=True) if (f.home, f.away) == (0, 1))
    assert fixture.markets is not None
    np.testing.assert_allclose(
        fixture.markets.intervals[:, 0], [fixture.p_home, fixture.p_draw, fixture.p_away], atol=1e-9
    )


def test_the_fast_path_gives_the_same_1x2(make_posterior: Callable[..., Posterior]) -> None:
    draws = PredictionDraws.from_posterior(make_posterior(spread=0.2))
    fast = list(all_fixtures(draws))
    full = list(all_fixtures(draws, markets=True))
    assert all(f.markets is None for f in fast) and all(f.markets is not None for f in full)
    for quick, rich in zip(fast, full, strict=True):
        assert (quick.p_home, quick.p_draw, quick.likely_score) == (rich.p_home, rich.p_draw, rich.likely_score)
        assert rich.markets is not None
        assert np.all(rich.markets.intervals[:, 0] <= rich.markets.intervals[:, 1])
        assert rich.markets.intervals[0, 0] < rich.p_home < rich.markets.intervals[0, 1]


# --- Grids that are not probabilities are refused, naming the pairing -------------------------------


def test_a_grid_that_does_not_sum_to_one_is_refused() -> None:
    draws = single_draw([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], home=0.25, intercept=0.3)
    draws = PredictionDraws(draws.intercept, draws.home, draws.attack, draws.defence, team_codes=("ARS", "CHE", "LIV"))
    grids = score_grids(draws, np.array([0, 0]), np.array([1, 2]), 25)
    check_score_grids(draws, 0, np.array([1, 2]), grids)  # a real grid passes
    short = grids.copy()
    short[1] *= 1 - 2 * TAIL_MASS  # more left out than the grid leaves out
    with pytest.raises(
        ImplausibleOdds, match=r"score grid of ARS v LIV is not a probability distribution.*sum 0\.99999"
    ):
        check_score_grids(draws, 0, np.array([1, 2]), short)
    negative = grids.copy()
    negative[0, 0, 0], negative[0, 1, 1] = -0.05, negative[0, 1, 1] + 0.05  # still sums to 1
    with pytest.raises(ImplausibleOdds, match="score grid of ARS v CHE is not a probability distribution: cells -0.05"):
        check_score_grids(draws, 0, np.array([1, 2]), negative)


def test_a_rho_beyond_dixon_coles_bounds_never_makes_a_score_negative() -> None:
    """rho 0.95 once gave P(0-0) = -0.053. The contract refuses such a posterior (test_contract); handed the draws
    unvalidated, precompute still holds rho within Dixon & Coles' bounds for each pairing: every grid is a
    probability distribution, with every low score possible."""
    draws = single_draw([0.0, 0.0], [0.0, 0.0], home=0.25, intercept=0.3, rho=0.95)
    grids = score_grids(draws, np.array([0, 1]), np.array([1, 0]), 30)
    assert grids.min() > 0 and grids.sum(axis=(1, 2)) == pytest.approx([1, 1], abs=1e-9)
    assert len(list(all_fixtures(draws, markets=True))) == 2


def test_zero_goal_rates_are_refused_naming_the_teams() -> None:
    draws = single_draw([-800.0, 0.0], [0.0, 0.0], home=0.25, intercept=0.3)  # exp underflows to 0
    draws = PredictionDraws(draws.intercept, draws.home, draws.attack, draws.defence, team_codes=("ARS", "CHE"))
    with pytest.raises(ImplausibleOdds, match="goal rates of the home side of ARS v CHE are not all positive"):
        list(all_fixtures(draws))


def test_grids_of_a_real_sized_dixon_coles_posterior_pass(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior(spread=0.2)
    posterior.draws["rho"] = np.full_like(posterior.draws["intercept"], -0.1)
    assert len(list(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))) == 12


def test_batches_smaller_than_a_home_teams_pairs_give_the_same_fixtures(
    make_posterior: Callable[..., Posterior], monkeypatch: pytest.MonkeyPatch
) -> None:
    posterior = make_posterior(codes=("ARS", "CHE", "LIV", "MCI", "NFO"), spread=0.2)
    posterior.draws["rho"] = np.full_like(posterior.draws["intercept"], -0.1)
    draws = PredictionDraws.from_posterior(posterior)
    whole = list(all_fixtures(draws, markets=True))  # one batch per home team: 4 pairs x 100 draws
    monkeypatch.setattr("matchodds.core.grid.PAIR_DRAWS_PER_BATCH", 3 * draws.n_draws)
    assert [len(aways) for _, aways in pair_batches(draws)] == [3, 1] * 5
    batched = list(all_fixtures(draws, markets=True))
    assert [(f.home, f.away) for f in batched] == [(f.home, f.away) for f in whole]
    for one, other in zip(whole, batched, strict=True):
        assert one.markets is not None and other.markets is not None
        np.testing.assert_allclose(other.score_grid, one.score_grid, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(other.markets.intervals, one.markets.intervals, rtol=1e-12)
        assert other.likely_score == one.likely_score and other.p_home == pytest.approx(one.p_home, rel=1e-12)
