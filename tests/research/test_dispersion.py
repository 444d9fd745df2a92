"""research.dispersion: a COM-Poisson of a given mean, the Poisson at nu = 1, and nu found from scores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson

from research.dispersion import Kept, best_nu, com_pmf, com_pmf_of_mu, outcome, score_grid

GOALS = np.arange(13)


@pytest.mark.unit
def test_nu_one_is_the_poisson_and_a_larger_nu_narrows_it_at_the_same_mean() -> None:
    rates = np.array([0.4, 1.4, 2.6])
    np.testing.assert_allclose(com_pmf(rates, 1.0), poisson.pmf(GOALS[None], rates[:, None]), atol=1e-12)
    narrow = com_pmf(rates, 1.2)
    mean = narrow @ GOALS
    np.testing.assert_allclose(mean, rates, rtol=1e-4)
    variance = narrow @ GOALS**2 - mean**2
    assert np.all(variance < 0.97 * rates)  # about 0.96 at a rate of 0.4, 0.89 at 1.4


@pytest.mark.unit
def test_a_grid_sums_to_one_and_a_narrower_one_has_more_draws() -> None:
    draws = {
        "intercept": np.full(10, 0.3),
        "home": np.full(10, 0.25),
        "rho": np.full(10, -0.05),
        "attack": np.zeros((10, 2)),
        "defence": np.zeros((10, 2)),
    }
    poisson_grid, narrow_grid = score_grid(draws, 0, 1, 1.0), score_grid(draws, 0, 1, 1.2)
    assert poisson_grid.sum() == pytest.approx(1.0) and narrow_grid.sum() == pytest.approx(1.0)
    assert outcome(narrow_grid)[1] > outcome(poisson_grid)[1] + 0.005


def matches_from(nu: float, n: int, seed: int) -> list[Kept]:
    """Scores drawn from COM-Poisson(nu) sides of mean 1.4 and 1.1, with one-draw posteriors saying so."""
    generator = np.random.default_rng(seed)
    draws = {
        "intercept": np.array([np.log(np.sqrt(1.4 * 1.1))]),
        "home": np.array([2 * np.log(np.sqrt(1.4 / 1.1))]),
        "rho": np.zeros(1),
        "attack": np.zeros((1, 2)),
        "defence": np.zeros((1, 2)),
    }
    home = com_pmf(np.array([1.4]), nu)[0]
    away = com_pmf(np.array([1.1]), nu)[0]
    return [
        Kept(
            "s",
            draws,
            0,
            1,
            int(generator.choice(GOALS, p=home / home.sum())),
            int(generator.choice(GOALS, p=away / away.sum())),
        )
        for _ in range(n)
    ]


@pytest.mark.research
def test_nu_by_likelihood_finds_narrow_goals_and_leaves_poisson_goals_alone() -> None:
    assert best_nu(matches_from(1.3, 1500, 0))[0] >= 1.2
    assert best_nu(matches_from(1.0, 1500, 1))[0] <= 1.1
    # The mean is the rate at every nu on the grid (the inversion of the mean holds).
    assert com_pmf_of_mu(np.array([1.0]), 1.0, 12)[0] @ GOALS == pytest.approx(1.0, rel=1e-6)
