"""Exact match odds and markets from posterior draws: numpy only, no AWS.

For a fixture, each posterior draw gives two Poisson goal rates; the probability of every score is
the AVERAGE over all draws of the product of the two Poisson pmfs (the posterior predictive), on a
grid of 0..N goals a side with N chosen so that the mass left outside is below 1e-6. No simulation:
the same posterior always gives the same odds. Every market is a sum over that averaged grid; only
the credible intervals of P(home), P(draw), P(away) need the per-draw probabilities, which come
from the same per-draw pmfs without forming a grid per draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from matchodds.core.keys import ContractError
from matchodds.core.markets import (
    ASIAN_HANDICAP_QUARTERS,
    CORRECT_SCORE_MAX_GOALS,
    CREDIBLE_MASS,
    HANDICAP_OUTCOMES,
    LIKELIEST_SCORES,
    OVER_UNDER_LINES,
)
from matchodds.core.posterior import DIXON_COLES_SCORES, Posterior, low_score_taus

TAIL_MASS = 1e-6
MAX_GRID_GOALS = 60
# Pairs x draws computed at once. A batch's per-draw pmfs are pairs x goals x draws numbers, several
# arrays of them, so a batch is at most one home team's pairs and at most this many pairs x draws: at
# 4000 draws, 25 pairs (about 15 MB per pmf array at 19 goals) whatever the number of teams.
PAIR_DRAWS_PER_BATCH = 100_000
# Float rounding allowed around [0, 1] and around the grid's sum: the grids are sums of thousands of
# products, exact to about 1e-15; a wrong grid is off by far more (rho 0.95 gave a P(0-0) of -0.053).
GRID_TOLERANCE = 1e-9


class ImplausibleOdds(ContractError):
    """A posterior's score grids are not probabilities; nothing of its version may be written."""


@dataclass(frozen=True)
class PredictionDraws:
    """The draws that predict a match, chains pooled: scalars (D,), per-team arrays (D, T)."""

    intercept: np.ndarray
    home: np.ndarray
    attack: np.ndarray
    defence: np.ndarray
    rho: np.ndarray | None = None
    team_codes: tuple[str, ...] | None = None  # only to name the teams in an error

    @classmethod
    def from_posterior(cls, posterior: Posterior) -> PredictionDraws:
        as64 = {name: posterior.flat(name).astype(np.float64) for name in posterior.draws}
        return cls(
            as64["intercept"], as64["home"], as64["attack"], as64["defence"], as64.get("rho"), posterior.team_codes
        )

    @property
    def n_teams(self) -> int:
        return int(self.attack.shape[1])

    @property
    def n_draws(self) -> int:
        return int(self.attack.shape[0])

    def team(self, index: int) -> str:
        """A team's code when known, else its index."""
        return self.team_codes[index] if self.team_codes is not None else f"team {index}"

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
class FixtureMarkets:
    """The markets of one pairing, all probabilities of the posterior predictive.

    intervals: (3, 2), P(home), P(draw), P(away) at the credible interval's low and high ends;
    over: P(total goals > line) for each of OVER_UNDER_LINES; btts: P(both teams score);
    handicap: (lines, 5), for each of ASIAN_HANDICAP_QUARTERS the home side's HANDICAP_OUTCOMES;
    correct_score: the grid's 0..CORRECT_SCORE_MAX_GOALS corner; likeliest: the likeliest scores.
    """

    intervals: np.ndarray
    over: np.ndarray
    btts: float
    handicap: np.ndarray
    correct_score: np.ndarray
    likeliest: tuple[tuple[tuple[int, int], float], ...]


@dataclass(frozen=True)
class FixtureOdds:
    """Everything served for one ordered pairing; `markets` only when they were asked for."""

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
    markets: FixtureMarkets | None = None

    @property
    def fair_odds(self) -> tuple[float, float, float]:
        return 1 / self.p_home, 1 / self.p_draw, 1 / self.p_away


def grid_size(rates: np.ndarray | float, tail: float = TAIL_MASS) -> int:
    """Smallest N with the posterior-predictive P(X > N) < tail/2 for every row of `rates` (rows x draws, or one rate).

    What a grid of 0..N goals leaves out of a fixture's predictive distribution is the MEAN over draws
    of each draw's Poisson tail, so both sides' tails together stay below `tail`.
    """
    rates = np.atleast_2d(rates)
    pmf = np.exp(-rates)
    left_out = 1 - pmf
    step = np.empty_like(pmf)  # rates / goals, written in place rather than a new array per goal
    goals = 0
    while np.any(left_out.mean(axis=-1) >= tail / 2):
        goals += 1
        if goals > MAX_GRID_GOALS:
            raise ValueError(f"goal rates up to {rates.max():.1f} need a grid beyond {MAX_GRID_GOALS} goals")
        pmf *= np.divide(rates, goals, out=step)
        left_out -= pmf
    return goals


def poisson_pmf(rates: np.ndarray, max_goals: int) -> np.ndarray:
    """pmf of 0..max_goals for rates shaped (pairs, draws); shape (pairs, max_goals + 1, draws).

    Goals sit before draws so that each goal's slice is contiguous; the recurrence
    pmf(k) = pmf(k - 1) * rate / k costs one multiplication per cell instead of an exp and a log.
    """
    pmf = np.empty((rates.shape[0], max_goals + 1, rates.shape[1]))
    np.exp(-rates, out=pmf[:, 0])
    for goals in range(1, max_goals + 1):
        np.multiply(pmf[:, goals - 1], rates, out=pmf[:, goals])
        pmf[:, goals] *= 1.0 / goals
    return pmf


@dataclass(frozen=True)
class _PairPmfs:
    """The per-draw goal pmfs of a batch of pairs, and the Dixon-Coles change to their low scores."""

    home: np.ndarray  # (pairs, goals, draws)
    away: np.ndarray
    low_score_change: np.ndarray | None  # (pairs, 2, 2, draws): added to the product pmf, or None

    @property
    def n_draws(self) -> int:
        return int(self.home.shape[-1])

    def grids(self) -> np.ndarray:
        """The posterior-predictive score grids: the mean over draws of the product pmfs."""
        # einsum's own loop, not BLAS: OpenBLAS's threads busy-wait, and on a busy 2-core machine (as on
        # a Lambda's fraction of a vCPU) they took the 1X2 of 380 pairs from 0.26 s to 0.5 s.
        grids: np.ndarray = np.einsum("pgd,phd->pgh", self.home, self.away) / self.n_draws
        if self.low_score_change is not None:
            grids[:, :2, :2] += self.low_score_change.mean(axis=-1)
        return grids

    def outcome_draws(self) -> np.ndarray:
        """P(home win), P(draw), P(away win) in each draw, normalised per draw: (pairs, 3, draws)."""
        away_cdf = np.empty_like(self.away)  # a loop of contiguous adds: cumsum along axis 1 is far slower
        away_cdf[:, 0] = self.away[:, 0]
        for goals in range(1, self.away.shape[1]):
            np.add(away_cdf[:, goals - 1], self.away[:, goals], out=away_cdf[:, goals])
        draw = np.einsum("pgd,pgd->pd", self.home, self.away)
        home = np.einsum("pgd,pgd->pd", self.home[:, 1:], away_cdf[:, :-1])
        mass = self.home.sum(axis=1) * away_cdf[:, -1]
        if self.low_score_change is not None:
            change = self.low_score_change
            draw = draw + change[:, 0, 0] + change[:, 1, 1]
            home = home + change[:, 1, 0]
            mass = mass + change.sum(axis=(1, 2))
        away = mass - home - draw
        normalised: np.ndarray = np.stack([home, draw, away], axis=1) / mass[:, None, :]
        return normalised


def _pair_pmfs(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray | None, max_goals: int) -> _PairPmfs:
    home_pmf, away_pmf = poisson_pmf(home_rate, max_goals), poisson_pmf(away_rate, max_goals)
    change = None
    if rho is not None:
        # (tau - 1) * pmf(home goals) * pmf(away goals), one low score at a time into contiguous slices: the
        # same arithmetic as broadcasting a (pairs, draws, 2, 2) stack of taus against both pmfs, which cost
        # about a tenth of the 1X2 time of 380 pairs.
        change = np.empty((home_rate.shape[0], 2, 2, home_rate.shape[1]))
        for cell, tau in zip(DIXON_COLES_SCORES, low_score_taus(home_rate, away_rate, rho), strict=True):
            home_goals, away_goals = cell
            out = change[:, home_goals, away_goals]
            np.subtract(tau, 1, out=out)
            out *= home_pmf[:, home_goals]
            out *= away_pmf[:, away_goals]
    return _PairPmfs(home_pmf, away_pmf, change)


def score_grids(draws: PredictionDraws, home_team: np.ndarray, away_team: np.ndarray, max_goals: int) -> np.ndarray:
    """Posterior-predictive score grids for pairs of teams: (pairs, max_goals + 1, max_goals + 1)."""
    return _pair_pmfs(*draws.rates(home_team, away_team), draws.rho, max_goals).grids()


def check_rates(
    draws: PredictionDraws, home: int, aways: np.ndarray, home_rate: np.ndarray, away_rate: np.ndarray
) -> None:
    """Refuse, naming the pairing, goal rates (pairs, draws) that are not positive finite numbers."""
    for side, rates in (("home", home_rate), ("away", away_rate)):
        bad = ~np.all(np.isfinite(rates) & (rates > 0), axis=-1)
        if np.any(bad):
            away = int(aways[np.argmax(bad)])
            raise ImplausibleOdds(
                f"goal rates of the {side} side of {draws.team(home)} v {draws.team(away)} are not all positive"
            )


def check_score_grids(draws: PredictionDraws, home: int, aways: np.ndarray, grids: np.ndarray) -> None:
    """Refuse, naming the pairing, score grids (pairs, K, K) that are not probabilities.

    Every cell must lie in [0, 1] and each grid must sum to 1 less at most TAIL_MASS, what grid_size leaves
    out (Dixon-Coles' correction moves mass between the low scores and adds none).
    """
    low, high = grids.min(axis=(-2, -1)), grids.max(axis=(-2, -1))
    mass = grids.sum(axis=(-2, -1))
    wrong = (low < -GRID_TOLERANCE) | (high > 1 + GRID_TOLERANCE)
    wrong |= (mass < 1 - TAIL_MASS - GRID_TOLERANCE) | (mass > 1 + GRID_TOLERANCE)
    if np.any(wrong):
        position = int(np.argmax(wrong))
        raise ImplausibleOdds(
            f"score grid of {draws.team(home)} v {draws.team(int(aways[position]))} is not a probability "
            f"distribution: cells {low[position]:.3g} to {high[position]:.3g}, sum {mass[position]:.9f} "
            f"(must be within {TAIL_MASS:g} below 1)"
        )


def outcome_probabilities(grids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(home win), P(draw), P(away win) from score grids, renormalised over the grid's mass."""
    mass = grids.sum(axis=(-2, -1))
    p_home = np.tril(grids, k=-1).sum(axis=(-2, -1)) / mass
    p_draw = np.trace(grids, axis1=-2, axis2=-1) / mass
    return p_home, p_draw, 1 - p_home - p_draw


def handicap_weights(quarters: int, margins: np.ndarray) -> np.ndarray:
    """How a home bet at handicap quarters/4 ends for each home goal margin: one-hot over HANDICAP_OUTCOMES.

    A quarter line (an odd number of quarters) splits the stake into the two half-goal or whole-goal
    lines either side; each half wins, is void (push) or loses on its own. Counting in quarter goals
    keeps every comparison exact.
    """
    halves = (quarters - 1, quarters + 1) if quarters % 2 else (quarters, quarters)
    result = sum(np.sign(4 * margins + half) for half in halves)  # 2: both halves win ... -2: both lose
    weights: np.ndarray = np.eye(len(HANDICAP_OUTCOMES))[2 - result]
    return weights


def grid_markets(grids: np.ndarray) -> dict[str, np.ndarray]:
    """The markets of normalised score grids (pairs, K, K): every number as a probability per pair."""
    size = grids.shape[-1]
    home_goals, away_goals = np.indices((size, size))
    totals = home_goals + away_goals
    over_masks = np.stack([totals > line for line in OVER_UNDER_LINES]).astype(grids.dtype)
    over = np.einsum("pij,lij->pl", grids, over_masks)
    btts = grids[:, 1:, 1:].sum(axis=(-2, -1))
    margins = np.arange(-(size - 1), size)
    margin_of_cell = np.eye(len(margins))[home_goals - away_goals + size - 1]  # (K, K, margins)
    margin_probability = np.einsum("pij,ijm->pm", grids, margin_of_cell)
    weights = np.stack([handicap_weights(quarters, margins) for quarters in ASIAN_HANDICAP_QUARTERS])
    handicap = np.einsum("pm,lmo->plo", margin_probability, weights)
    corner = CORRECT_SCORE_MAX_GOALS + 1
    correct_score = np.zeros((grids.shape[0], corner, corner))
    kept = min(corner, size)
    correct_score[:, :kept, :kept] = grids[:, :kept, :kept]
    return {"over": over, "btts": btts, "handicap": handicap, "correct_score": correct_score}


def likeliest_scores(grid: np.ndarray, count: int = LIKELIEST_SCORES) -> tuple[tuple[tuple[int, int], float], ...]:
    """The `count` likeliest scores of one normalised grid, likeliest first (ties: fewer home goals first)."""
    flat = grid.ravel()
    order = np.argsort(-flat, kind="stable")[:count]
    return tuple(((int(cell // grid.shape[1]), int(cell % grid.shape[1])), float(flat[cell])) for cell in order)


def credible_intervals(outcome_draws: np.ndarray, mass: float = CREDIBLE_MASS) -> np.ndarray:
    """The central `mass` interval of each outcome's per-draw probability: (pairs, 3, 2)."""
    tail = (1 - mass) / 2
    return np.moveaxis(np.quantile(outcome_draws, [tail, 1 - tail], axis=-1), 0, -1)


def pair_batches(draws: PredictionDraws) -> Iterator[tuple[int, np.ndarray]]:
    """Every ordered pairing of distinct teams as (home, aways), at most PAIR_DRAWS_PER_BATCH pairs x draws each."""
    teams = np.arange(draws.n_teams)
    size = max(1, PAIR_DRAWS_PER_BATCH // draws.n_draws)
    for home in teams:
        aways = teams[teams != home]
        for start in range(0, len(aways), size):
            yield int(home), aways[start : start + size]


def all_fixtures(draws: PredictionDraws, *, markets: bool = False) -> Iterator[FixtureOdds]:
    """Odds for every ordered pairing of distinct teams, a bounded batch of pairs at a time (pair_batches).

    Every pairing's goal rates are checked (check_rates) before any fixture is yielded, and each
    batch's score grids (check_score_grids) before any of its numbers is. With markets=False only
    the 1X2 numbers, expected goals and likeliest score are made (the fast path); with markets=True
    each fixture also carries its FixtureMarkets.
    """
    # One grid for every pairing, so that each fixture's grid is cut alike. This first pass sizes it
    # keeping no batch's rates: all of them at once would be teams x teams x draws numbers, twice.
    max_goals = 0
    for home, aways in pair_batches(draws):
        home_rate, away_rate = draws.rates(np.full_like(aways, home), aways)
        check_rates(draws, home, aways, home_rate, away_rate)
        max_goals = max(max_goals, grid_size(np.concatenate([home_rate, away_rate])))
    for home, aways in pair_batches(draws):
        home_rate, away_rate = draws.rates(np.full_like(aways, home), aways)
        pmfs = _pair_pmfs(home_rate, away_rate, draws.rho, max_goals)
        grids = pmfs.grids()
        check_score_grids(draws, home, aways, grids)
        p_home, p_draw, p_away = outcome_probabilities(grids)
        xg_home, xg_away = home_rate.mean(axis=-1), away_rate.mean(axis=-1)
        normalised = grids / grids.sum(axis=(-2, -1), keepdims=True)
        extra = grid_markets(normalised) if markets else None
        intervals = credible_intervals(pmfs.outcome_draws()) if markets else None
        for position, away in enumerate(aways):
            grid = grids[position]
            best = np.unravel_index(int(np.argmax(grid)), grid.shape)
            fixture_markets = None
            if extra is not None and intervals is not None:
                fixture_markets = FixtureMarkets(
                    intervals=intervals[position],
                    over=extra["over"][position],
                    btts=float(extra["btts"][position]),
                    handicap=extra["handicap"][position],
                    correct_score=extra["correct_score"][position],
                    likeliest=likeliest_scores(normalised[position]),
                )
            yield FixtureOdds(
                home=home,
                away=int(away),
                p_home=float(p_home[position]),
                p_draw=float(p_draw[position]),
                p_away=float(p_away[position]),
                xg_home=float(xg_home[position]),
                xg_away=float(xg_away[position]),
                likely_score=(int(best[0]), int(best[1])),
                likely_score_p=float(grid[best] / grid.sum()),
                score_grid=grid,
                markets=fixture_markets,
            )
