"""research.residuals: the predictive moments are the grid's, and each check tells a right model from a wrong one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matchodds.core.grid import PredictionDraws, score_grids
from matchodds.core.results import read_results_file
from research.backtest import week_start as week_of
from research.residuals import DATA, MAX_GOALS, Scored, dispersion, main, moments, persistence


def predictive_grid(
    intercept: np.ndarray, home: np.ndarray, rho: np.ndarray, attack: np.ndarray, defence: np.ndarray, h: int, a: int
) -> np.ndarray:
    """One match's grid as research.residuals scores it: the served grid (core), normalised."""
    draws = PredictionDraws(intercept, home, attack, defence, rho)
    (grid,) = score_grids(draws, np.array([h]), np.array([a]), MAX_GOALS)
    return grid / grid.sum()


pytestmark = pytest.mark.unit


def test_one_draw_without_rho_is_two_independent_poissons() -> None:
    attack, defence = np.array([[0.3, -0.1]]), np.array([[-0.2, 0.1]])
    grid = predictive_grid(np.array([0.2]), np.array([0.3]), np.array([0.0]), attack, defence, 0, 1)
    home_rate, away_rate = np.exp(0.2 + 0.15 + 0.3 + 0.1), np.exp(0.2 - 0.15 - 0.1 - 0.2)
    home_mean, away_mean, home_variance, away_variance, covariance = moments(grid)
    assert grid.sum() == pytest.approx(1.0)
    assert (home_mean, home_variance) == pytest.approx((home_rate, home_rate), rel=1e-4)  # the grid stops at 12 goals
    assert (away_mean, away_variance) == pytest.approx((away_rate, away_rate), rel=1e-4)  # the grid stops at 12 goals
    assert covariance == pytest.approx(0.0, abs=1e-9)


def test_rho_and_uncertain_rates_move_the_moments_as_they_should() -> None:
    zero = np.zeros((400, 2))
    # Dixon-Coles' negative rho moves mass to 0-0 and 1-1: the two sides' goals move together.
    with_rho = predictive_grid(np.zeros(400), np.zeros(400), np.full(400, -0.1), zero, zero, 0, 1)
    assert moments(with_rho)[4] > 0.01
    # Draws that disagree on the rates make a predictive wider than one Poisson of the mean rate.
    spread = np.random.default_rng(0).normal(0, 0.3, (400, 2))
    wide = predictive_grid(np.zeros(400), np.zeros(400), np.zeros(400), spread, zero, 0, 1)
    home_mean, _, home_variance, _, _ = moments(wide)
    assert home_variance > home_mean * 1.05


def scored(home_goals: int, away_goals: int, rate: float, team: str = "A", season: str = "s") -> Scored:
    return Scored("E0", season, team, "Z", home_goals, away_goals, rate, rate, rate, rate, 0.0)


def test_dispersion_is_one_for_poisson_goals_and_above_for_overdispersed() -> None:
    generator = np.random.default_rng(1)
    poisson_goals = [scored(int(h), int(a), 1.4) for h, a in generator.poisson(1.4, (4000, 2))]
    value, low, high = dispersion(poisson_goals)["home goals: mean squared Pearson residual"]
    assert low < 1.0 < high and abs(value - 1) < 0.08
    # Gamma-mixed rates (a negative binomial) at the same mean: the check sees the extra spread.
    rates = generator.gamma(2.0, 1.4 / 2.0, 4000)
    overdispersed = [scored(int(generator.poisson(r)), int(generator.poisson(r)), 1.4) for r in rates]
    value, low, _ = dispersion(overdispersed)["home goals: mean squared Pearson residual"]
    assert low > 1.3


def test_a_team_the_model_keeps_misjudging_shows_as_a_lasting_miss() -> None:
    generator = np.random.default_rng(2)
    rows = []
    for team in range(60):
        bias = generator.normal(0, 0.6)  # the team scores this much more than forecast, all season
        for _ in range(30):
            rows.append(scored(int(generator.poisson(1.4 + bias if bias > -1.2 else 0.2)), 1, 1.4, f"T{team}"))
    lasting = persistence(rows)
    value, low, _ = next(v for k, v in lasting.items() if k.startswith("goals scored"))
    assert low > 0.3 and value > 0.5
    # The same number of matches forecast right: no lasting miss.
    fair = [scored(int(generator.poisson(1.4)), 1, 1.4, f"T{i // 30}") for i in range(60 * 30)]
    value, low, high = next(v for k, v in persistence(fair).items() if k.startswith("goals scored"))
    assert low < 0 < high


def test_the_command_scores_kept_weekly_posteriors_against_the_season_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matches = read_results_file(DATA / "E0" / "2023-24.csv")
    codes = sorted({m.home for m in matches} | {m.away for m in matches})
    season = tmp_path / "run" / "E0-2023-24"
    season.mkdir(parents=True)
    weeks = sorted({week_of(m.date) for m in matches})[:12]  # 10+ matches a team: the halves
    draws = 50
    for week in weeks:
        np.savez_compressed(
            season / f"week-{week.isoformat()}.npz",
            team_codes=np.array(codes),
            intercept=np.full(draws, 0.3),
            home=np.full(draws, 0.25),
            rho=np.full(draws, -0.05),
            attack=np.zeros((draws, len(codes))),
            defence=np.zeros((draws, len(codes))),
        )
    assert main([str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    expected = sum(week_of(m.date) in weeks for m in matches)
    assert out.startswith(f"{expected} matches from ") and expected >= 20
    assert "home goals: mean squared Pearson residual" in out and "goals conceded" in out
    assert main([str(tmp_path / "absent")]) == 2
