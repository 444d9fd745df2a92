"""Exact match odds from posterior draws: numpy only, no AWS.

For a fixture, each posterior draw gives two Poisson goal rates; the probability of every score is
the AVERAGE over all draws of the product of the two Poisson pmfs (the posterior predictive), on a
grid of 0..N goals a side with N chosen so that the mass left outside is below 1e-6. No simulation:
the same posterior always gives the same odds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from matchodds.contract import Posterior

TAIL_MASS = 1e-6
MAX_GRID_GOALS = 60


@dataclass(frozen=True)
class PredictionDraws:
    """The draws that predict a match, chains pooled: scalars (D,), per-team arrays (D, T)."""

    intercept: np.ndarray
    home: np.ndarray
    attack: np.ndarray
    defence: np.ndarray
    rho: np.ndarray | None = None

    @classmethod
    def from_posterior(cls, posterior: Posterior) -> PredictionDraws:
        as64 = {name: posterior.flat(name).astype(np.float64) for name in posterior.draws}
        return cls(as64["intercept"], as64["home"], as64["attack"], as64["defence"], as64.get("rho"))

    @property
    def n_teams(self) -> int:
        return self.attack.shape[1]

    def rates(self, home_team: int | np.ndarray, away_team: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Goal rates (home, away) per draw, shaped index_shape + (draws,)."""
        attack, defence = self.attack.T, self.defence.T  # (teams, draws): indexing keeps draws last
        log_home = self.intercept + self.home / 2 + attack[home_team] + defence[away_team]
        log_away = self.intercept - self.home / 2 + attack[away_team] + defence[home_team]
        return np.exp(log_home), np.exp(log_away)

    def max_rate(self) -> float:
        """An upper bound on any team's goal rate in any draw, without forming every pairing."""
        strongest = self.attack.max(axis=1) + self.defence.max(axis=1) + self.intercept + np.abs(self.home) / 2
        return float(np.exp(strongest.max()))


@dataclass(frozen=True)
class FixtureOdds:
    """Everything served for one ordered pairing."""

    home: int
    away: int
    p_home: float
    p_draw: float
    p_away: float
    xg_home: float
    xg_away: float
    likely_score: tuple[int, int]
    likely_score_p: float
    score_grid: np.ndarray

    @property
    def fair_odds(self) -> tuple[float, float, float]:
        return 1 / self.p_home, 1 / self.p_draw, 1 / self.p_away


def grid_size(max_rate: float, tail: float = TAIL_MASS) -> int:
    """Smallest N with P(X > N) < tail/2 for X ~ Poisson(max_rate): both margins' tails fit in `tail`."""
    pmf = np.exp(-max_rate)
    cdf = pmf
    goals = 0
    while 1 - cdf >= tail / 2:
        goals += 1
        if goals > MAX_GRID_GOALS:
            raise ValueError(f"goal rate {max_rate:.1f} needs a grid beyond {MAX_GRID_GOALS} goals")
        pmf *= max_rate / goals
        cdf += pmf
    return goals


def poisson_pmf(rates: np.ndarray, max_goals: int) -> np.ndarray:
    """pmf of 0..max_goals for each rate; shape rates.shape + (max_goals + 1,)."""
    goals = np.arange(max_goals + 1)
    log_factorial = np.cumsum(np.log(np.maximum(goals, 1)))
    return np.exp(goals * np.log(rates)[..., None] - rates[..., None] - log_factorial)


def dixon_coles_tau(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Per-draw multipliers of the low scores in Dixon & Coles (1997), shaped (..., 2, 2) by [home, away] goals."""
    ones = np.ones_like(home_rate)
    tau = np.stack([1 - home_rate * away_rate * rho, 1 + home_rate * rho, 1 + away_rate * rho, ones - rho], axis=-1)
    return tau.reshape(*tau.shape[:-1], 2, 2)


def score_grids(draws: PredictionDraws, home_team: np.ndarray, away_team: np.ndarray, max_goals: int) -> np.ndarray:
    """Posterior-predictive score grids for pairs of teams: (pairs, max_goals + 1, max_goals + 1)."""
    home_rate, away_rate = draws.rates(home_team, away_team)
    home_pmf, away_pmf = poisson_pmf(home_rate, max_goals), poisson_pmf(away_rate, max_goals)
    n_draws = home_rate.shape[-1]
    grids = np.matmul(np.swapaxes(home_pmf, -1, -2), away_pmf) / n_draws
    if draws.rho is not None:
        tau = dixon_coles_tau(home_rate, away_rate, draws.rho)
        low_scores = home_pmf[..., :2, None] * away_pmf[..., None, :2]  # (pairs, draws, 2, 2), uncorrected
        grids[..., :2, :2] += ((tau - 1) * low_scores).sum(axis=-3) / n_draws
    return grids


def outcome_probabilities(grids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(home win), P(draw), P(away win) from score grids, renormalised over the grid's mass."""
    mass = grids.sum(axis=(-2, -1))
    p_home = np.tril(grids, k=-1).sum(axis=(-2, -1)) / mass
    p_draw = np.trace(grids, axis1=-2, axis2=-1) / mass
    return p_home, p_draw, 1 - p_home - p_draw


def all_fixtures(draws: PredictionDraws) -> Iterator[FixtureOdds]:
    """Odds for every ordered pairing of distinct teams, one home team at a time to bound memory."""
    teams = np.arange(draws.n_teams)
    max_goals = grid_size(draws.max_rate())
    for home in teams:
        aways = teams[teams != home]
        homes = np.full_like(aways, home)
        grids = score_grids(draws, homes, aways, max_goals)
        p_home, p_draw, p_away = outcome_probabilities(grids)
        home_rate, away_rate = draws.rates(homes, aways)
        xg_home, xg_away = home_rate.mean(axis=-1), away_rate.mean(axis=-1)
        for position, away in enumerate(aways):
            grid = grids[position]
            best = np.unravel_index(int(np.argmax(grid)), grid.shape)
            yield FixtureOdds(
                home=int(home),
                away=int(away),
                p_home=float(p_home[position]),
                p_draw=float(p_draw[position]),
                p_away=float(p_away[position]),
                xg_home=float(xg_home[position]),
                xg_away=float(xg_away[position]),
                likely_score=(int(best[0]), int(best[1])),
                likely_score_p=float(grid[best] / grid.sum()),
                score_grid=grid,
            )
