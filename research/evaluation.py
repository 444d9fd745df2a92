"""Scoring match-outcome forecasts: RPS, log loss, Brier, bookmaker margins, paired bootstrap.

Outcomes are ordered home win < draw < away win (index 0, 1, 2). Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OUTCOMES = ("H", "D", "A")


def outcome_index(results: Sequence[str]) -> np.ndarray:
    """Each result ("H", "D" or "A") as its index in OUTCOMES."""
    return np.array([OUTCOMES.index(result) for result in results], dtype=np.int64)


def one_hot(outcomes: np.ndarray) -> np.ndarray:
    """Outcome indices as rows of three indicators: (matches, 3)."""
    indicators: np.ndarray = np.eye(3)[outcomes]
    return indicators


def rps(probabilities: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Ranked probability score per match (Constantinou & Fenton 2012): 1/(r-1) x the sum of squared
    differences of the cumulative forecast and outcome over the first r-1 ordered categories."""
    cumulative_forecast = np.cumsum(probabilities, axis=1)[:, :2]
    cumulative_outcome = np.cumsum(one_hot(outcomes), axis=1)[:, :2]
    per_match: np.ndarray = np.square(cumulative_forecast - cumulative_outcome).sum(axis=1) / 2
    return per_match


def log_loss(probabilities: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Natural-log loss per match: -ln p(observed outcome)."""
    per_match: np.ndarray = -np.log(np.clip(probabilities[np.arange(len(outcomes)), outcomes], 1e-15, 1.0))
    return per_match


def brier(probabilities: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Multi-class Brier score per match: sum over H, D, A of (p - o)^2 (range 0..2)."""
    per_match: np.ndarray = np.square(probabilities - one_hot(outcomes)).sum(axis=1)
    return per_match


def remove_margin(prices: np.ndarray) -> np.ndarray:
    """Probabilities from decimal odds (rows of H, D, A), the overround removed proportionally."""
    implied = 1 / np.asarray(prices, dtype=np.float64)
    probabilities: np.ndarray = implied / implied.sum(axis=1, keepdims=True)
    return probabilities


def scores(probabilities: np.ndarray, outcomes: np.ndarray) -> dict[str, float]:
    return {
        "n": len(outcomes),
        "rps": float(rps(probabilities, outcomes).mean()),
        "log_loss": float(log_loss(probabilities, outcomes).mean()),
        "brier": float(brier(probabilities, outcomes).mean()),
    }


def paired_bootstrap(
    differences: np.ndarray, resamples: int = 2000, level: float = 0.9, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): a percentile interval of the mean per-match difference, resampling matches."""
    rng = np.random.default_rng(seed)
    n = len(differences)
    means = np.array([differences[rng.integers(0, n, n)].mean() for _ in range(resamples)])
    tail = (1 - level) / 2
    return float(differences.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def reliability(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> list[dict[str, list[float]]]:
    """Per outcome: mean forecast, observed frequency and count in equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    observed = one_hot(outcomes)
    panels = []
    for column in range(3):
        which = np.clip(np.digitize(probabilities[:, column], edges) - 1, 0, bins - 1)
        mean_forecast, frequency, count = [], [], []
        for b in range(bins):
            chosen = which == b
            if chosen.any():
                mean_forecast.append(float(probabilities[chosen, column].mean()))
                frequency.append(float(observed[chosen, column].mean()))
                count.append(float(chosen.sum()))
        panels.append({"forecast": mean_forecast, "observed": frequency, "count": count})
    return panels
