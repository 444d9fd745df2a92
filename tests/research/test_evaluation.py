"""Forecast scores against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from research.evaluation import brier, log_loss, outcome_index, paired_bootstrap, remove_margin, rps, scores

pytestmark = pytest.mark.unit
FORECAST = np.array([[0.5, 0.3, 0.2]])


@pytest.mark.parametrize(("result", "expected"), [("H", 0.145), ("D", 0.145), ("A", 0.445)])
def test_rps_by_hand(result: str, expected: float) -> None:
    # cumulative forecast (0.5, 0.8); H: ((0.5-1)^2 + (0.8-1)^2)/2, D: (0.5^2 + 0.2^2)/2, A: (0.5^2 + 0.8^2)/2
    assert rps(FORECAST, outcome_index([result]))[0] == pytest.approx(expected)


def test_rps_rewards_a_near_miss_over_a_far_miss() -> None:
    home_heavy, away_heavy = np.array([[0.6, 0.3, 0.1]]), np.array([[0.1, 0.3, 0.6]])
    draw = outcome_index(["D"])
    assert rps(home_heavy, draw) == pytest.approx(rps(away_heavy, draw))
    assert rps(np.array([[0.1, 0.6, 0.3]]), outcome_index(["A"])) < rps(
        np.array([[0.6, 0.1, 0.3]]), outcome_index(["A"])
    )


def test_log_loss_and_brier_by_hand() -> None:
    assert log_loss(FORECAST, outcome_index(["H"]))[0] == pytest.approx(-np.log(0.5))
    assert log_loss(FORECAST, outcome_index(["A"]))[0] == pytest.approx(-np.log(0.2))
    assert brier(FORECAST, outcome_index(["H"]))[0] == pytest.approx(0.25 + 0.09 + 0.04)
    assert brier(FORECAST, outcome_index(["D"]))[0] == pytest.approx(0.25 + 0.49 + 0.04)
    summary = scores(np.repeat(FORECAST, 2, axis=0), outcome_index(["H", "A"]))
    assert summary["n"] == 2 and summary["rps"] == pytest.approx((0.145 + 0.445) / 2)


def test_margin_removal_is_proportional() -> None:
    probabilities = remove_margin(np.array([[2.0, 3.5, 4.0]]))[0]
    implied = np.array([1 / 2.0, 1 / 3.5, 1 / 4.0])
    np.testing.assert_allclose(probabilities, implied / implied.sum())
    assert probabilities.sum() == pytest.approx(1) and probabilities[0] == pytest.approx(0.482759, abs=1e-6)
    # a fair book stays as it is
    np.testing.assert_allclose(remove_margin(np.array([[2.0, 4.0, 4.0]]))[0], [0.5, 0.25, 0.25])


def test_paired_bootstrap_brackets_the_mean() -> None:
    differences = np.random.default_rng(0).normal(0.01, 0.05, 2000)
    mean, low, high = paired_bootstrap(differences)
    assert low < mean < high and low > 0.0 and high - low < 0.01
