"""Exact match odds and markets from posterior draws: numpy only, no AWS.

For a fixture, each posterior draw gives two Poisson goal rates; the probability of every score is
the AVERAGE over all draws of the product of the two Poisson pmfs (the posterior predictive), on a
grid of 0..N goals a side with N chosen so that the mass left outside is below 1e-6. No simulation:
the same posterior always gives the same odds. Every market is a sum over that averaged grid; only
the credible intervals of P(home), P(draw), P(away) need the per-draw probabilities, which come
from the same per-draw pmfs without forming a grid per draw.

How it is computed, for speed (`python -m bench precompute`, docs/benchmarks.md): the pmfs by recurrence,
pmf(k) = pmf(k - 1) x rate / k, into arrays reused by every batch; each pair's grid as one matrix product
of its home pmfs (goals x draws) by its away pmfs (draws x goals), the sum over draws of the outer
products, with the Dixon-Coles change to the four low scores added apart; each pairing's rates as products
of per-team factors; the grid's size from a bound on every pairing and an exact tail only for the few
pairings the bound cannot settle; the credible intervals from one sort of the per-draw 1X2. The matrix
products run in numpy's BLAS (OpenBLAS), which must run on one thread where precompute runs
(SINGLE_THREADED_BLAS, matchodds.core.settings): its threads busy-wait, and on a busy or fractional CPU
(a Lambda's share of a vCPU, the shared 2-core benchmark machine) they made the same products slower
than numpy's own einsum loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from matchodds.core.keys import ContractError
from matchodds.core.markets import (
    ASIAN_HANDICAP_QUARTERS,
    CORRECT_SCORE_MAX_GOALS,
    CREDIBLE_MASS,
    HANDICAP_OUTCOMES,
    LIKELIEST_SCORES,
    MARKET_ENDS,
    OVER_UNDER_LINES,
)
from matchodds.core.posterior import Posterior

TAIL_MASS = 1e-6
MAX_GRID_GOALS = 60
# Pairs x draws computed at once. A batch's per-draw pmfs are pairs x goals x draws numbers, several
# arrays of them, so a batch is at most one home team's pairs and at most this many pairs x draws: at
# 4000 draws, 25 pairs (about 15 MB per pmf array at 19 goals) whatever the number of teams.
PAIR_DRAWS_PER_BATCH = 100_000
# Float rounding allowed around [0, 1] and around the grid's sum: the grids are sums of thousands of
# products, exact to about 1e-15; a wrong grid is off by far more (rho 0.95 gave a P(0-0) of -0.053).
GRID_TOLERANCE = 1e-9
# The bound of posterior_grid_size is a grid with a tail this much (relatively) below TAIL_MASS: the tails are
# exact to about 1e-15, so a pairing's bound never falls below its own grid for rounding.
BOUND_MARGIN = 1e-6
SIZING_BLOCKS = 64  # blocks of draws whose largest rates bound a pairing's grid (posterior_grid_size)
SIZING_CHUNK = 8  # pairings whose tails are computed at once, before the others' bounds are compared again

# The Dixon-Coles correction of the four low scores, shared by the odds (score grids) and the season's
# projection (simulated scores); the posterior's checks use its taus too.
DIXON_COLES_SCORES = ((0, 0), (0, 1), (1, 0), (1, 1))  # (home, away) goals that Dixon-Coles' tau corrects
# The share of Dixon & Coles' bounds on rho that a pairing may use: at the bound itself one low score's
# tau, hence its probability, is zero; at 0.99 of it the smallest tau is 0.01.
RHO_BOUND_SHARE = 0.99


def low_score_taus(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dixon & Coles' (1997) multipliers of the DIXON_COLES_SCORES (0-0, 0-1, 1-0, 1-1), per draw and pairing.

    Dixon & Coles bound rho per pairing, max(-1/home rate, -1/away rate) <= rho <= min(1/(home rate x away
    rate), 1), or a tau turns negative: a lopsided pairing (Bayern at home to a promoted side, 4.7 goals
    expected) can leave the bound while the league's rho stays plausible. rho is held within the bound here
    for every pairing of every draw, so every tau stays positive. The fit's likelihood needs no such hold:
    it weighs the taus of observed low scores only, where a negative tau has no likelihood at all.
    """
    return dixon_coles_taus(home_rate, away_rate, held_rho(home_rate, away_rate, rho))


def held_rho(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """rho held within RHO_BOUND_SHARE of Dixon & Coles' bounds for each pairing and draw (see low_score_taus)."""
    # Most posteriors come nowhere near the bounds (rho about -0.05, rates below 5): when even the largest rates
    # leave every draw's rho inside them, with room for the bounds' rounding, rho is returned as it is, which
    # is what the clip below would return, without the bounds of every pairing and draw.
    room = RHO_BOUND_SHARE * (1 - 1e-6)
    if np.size(home_rate) == 0 or np.size(away_rate) == 0 or np.size(rho) == 0:  # no match left (a finished season)
        return np.broadcast_to(rho, np.broadcast_shapes(np.shape(home_rate), np.shape(away_rate), np.shape(rho)))
    largest_home, largest_away = np.max(home_rate), np.max(away_rate)
    lowest_ok = np.min(rho) * np.maximum(largest_home, largest_away) >= -room  # a NaN anywhere fails a test
    if lowest_ok and np.max(rho) <= room * np.minimum(1 / (largest_home * largest_away), 1):
        shape = np.broadcast_shapes(np.shape(home_rate), np.shape(away_rate), np.shape(rho))
        return np.broadcast_to(rho, shape)
    lowest = np.maximum(-1 / home_rate, -1 / away_rate) * RHO_BOUND_SHARE
    highest = np.minimum(1 / (home_rate * away_rate), 1) * RHO_BOUND_SHARE
    held: np.ndarray = np.clip(rho, lowest, highest)
    return held


def dixon_coles_taus(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, ...]:
    """The taus as Dixon & Coles write them, rho as given (low_score_taus holds it within its bounds first)."""
    return 1 - home_rate * away_rate * rho, 1 + home_rate * rho, 1 + away_rate * rho, 1 - rho


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

    def log_rates(self, home_team: int | np.ndarray, away_team: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log goal rates (home, away) per draw, shaped index_shape + (draws,)."""
        attack, defence = self.attack.T, self.defence.T  # (teams, draws): indexing keeps draws last
        log_home = self.intercept + self.home / 2 + attack[home_team] + defence[away_team]
        log_away = self.intercept - self.home / 2 + attack[away_team] + defence[home_team]
        return log_home, log_away

    def rates(self, home_team: int | np.ndarray, away_team: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Goal rates (home, away) per draw, shaped index_shape + (draws,)."""
        log_home, log_away = self.log_rates(home_team, away_team)
        return np.exp(log_home, out=log_home), np.exp(log_away, out=log_away)

    @cached_property
    def _team_factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each team's factors of a goal rate (teams, draws), its draws contiguous: e^(intercept + home/2 +
        attack) at home, e^(intercept - home/2 + attack) away, and e^defence."""
        home_side = np.exp(self.intercept + self.home / 2 + self.attack.T)
        away_side = np.exp(self.intercept - self.home / 2 + self.attack.T)
        return home_side, away_side, np.exp(self.defence.T)

    def product_rates(self, home_team: int | np.ndarray, away_team: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`rates` as products of the teams' factors: the same to a unit or two in the last place, with an exp per
        team and draw instead of one per pairing and draw (about 10 ns an exp on the benchmark machine: two per
        pairing and draw were about a twentieth of every market's time at 380 pairs)."""
        home_side, away_side, defence = self._team_factors
        return home_side[home_team] * defence[away_team], away_side[away_team] * defence[home_team]

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
    goals = int(row_grid_sizes(rates, tail).max())
    if goals > MAX_GRID_GOALS:
        raise ValueError(f"goal rates up to {rates.max():.1f} need a grid beyond {MAX_GRID_GOALS} goals")
    return goals


def row_grid_sizes(rates: np.ndarray, tail: float = TAIL_MASS) -> np.ndarray:
    """grid_size of each row of `rates` (rows x draws) on its own; MAX_GRID_GOALS + 1 for a row that needs more.

    A row's tail only shrinks as goals are added (each step takes a pmf, never negative, from it), so the
    grid of several rows is their largest.
    """
    pmf = np.exp(-rates)
    left_out = 1 - pmf
    step = np.empty_like(pmf)  # rates / goals, written in place rather than a new array per goal
    goals = np.full(rates.shape[0], MAX_GRID_GOALS + 1)
    for count in range(MAX_GRID_GOALS + 1):
        if count:
            pmf *= np.divide(rates, count, out=step)
            left_out -= pmf
        done = left_out.mean(axis=-1) < tail / 2
        goals[done & (goals > count)] = count
        if np.all(done):
            break
    return goals


class _Workspace:
    """The per-draw arrays of a batch of pairs, allocated once for every batch: a batch's pmfs are several MB,
    and allocated afresh each time their pages were faulted in again, which cost as much as filling them."""

    def __init__(self, pairs: int, max_goals: int, n_draws: int) -> None:
        self.max_goals = max_goals
        # (goals, pairs, draws): each goal's slice is one contiguous block for the recurrence
        self.home, self.away = np.empty((2, max_goals + 1, pairs, n_draws))
        self.outcomes = np.empty((pairs, 3, n_draws))  # per draw: P(home win), P(draw), P(away win)
        self.away_below, self.home_mass, self.product = np.empty((3, pairs, n_draws))


def _batch_odds(
    home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray | None, work: _Workspace, *, per_draw: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Score grids (pairs, K, K) of a batch of pairs from their goal rates (pairs, draws), K = work.max_goals + 1;
    with per_draw, also each draw's P(home win), P(draw), P(away win), normalised per draw (pairs, 3, draws), in
    the workspace's array that the next batch overwrites.

    The home pmfs are kept times e^-(away rate) and the away pmfs times e^(away rate): every product of the two,
    all that is used, is the same, for one exp fewer per draw. The pmfs come by the recurrence
    pmf(k) = pmf(k - 1) x rate / k, one multiplication per cell instead of an exp and a log, and the per-draw
    sums are taken goal by goal as each goal's pmfs are made, while they are in cache.
    """
    pairs, n_draws = home_rate.shape
    home, away = work.home[:, :pairs], work.away[:, :pairs]
    np.add(home_rate, away_rate, out=home[0])
    np.exp(np.negative(home[0], out=home[0]), out=home[0])
    away[0] = 1.0
    outcomes, away_below, home_mass, product = (
        array[:pairs] for array in (work.outcomes, work.away_below, work.home_mass, work.product)
    )
    home_win, draw = outcomes[:, 0], outcomes[:, 1]
    if per_draw:
        away_below[:] = away[0]  # P(away scores fewer than the next home score)
        home_win[:] = 0.0
        draw[:] = home[0]
        home_mass[:] = home[0]
    for goals in range(1, work.max_goals + 1):
        np.multiply(home[goals - 1], home_rate, out=home[goals])
        home[goals] *= 1.0 / goals
        np.multiply(away[goals - 1], away_rate, out=away[goals])
        away[goals] *= 1.0 / goals
        if per_draw:
            home_win += np.multiply(home[goals], away_below, out=product)
            away_below += away[goals]
            draw += np.multiply(home[goals], away[goals], out=product)
            home_mass += home[goals]
    # Each pair's grid is the mean over draws of the outer products of its pmfs: one matrix product
    # (goals x draws) @ (draws x goals) in numpy's BLAS, on one thread (see the module's docstring).
    grids: np.ndarray = np.matmul(home.transpose(1, 0, 2), away.transpose(1, 2, 0))
    grids /= n_draws
    if rho is not None:
        # Dixon-Coles multiplies 0-0, 0-1, 1-0 and 1-1 by taus 1 - home x away x rho, 1 + home x rho, 1 + away
        # x rho and 1 - rho: since pmf(1) = rate x pmf(0), that moves the same mass, rho x pmf(home 1) x
        # pmf(away 1), from 0-0 and 1-1 to 0-1 and 1-0.
        moved = np.multiply(held_rho(home_rate, away_rate, rho), home[1], out=product)
        moved *= away[1]
        mean_moved = moved.mean(axis=-1)
        grids[:, 0, 0] -= mean_moved
        grids[:, 1, 1] -= mean_moved
        grids[:, 0, 1] += mean_moved
        grids[:, 1, 0] += mean_moved
        if per_draw:
            home_win += moved
            draw -= moved
            draw -= moved
    if not per_draw:
        return grids, None
    mass = np.multiply(home_mass, away_below, out=home_mass)  # the draw's grid's sum: every score
    np.subtract(mass, home_win, out=outcomes[:, 2])
    outcomes[:, 2] -= draw
    outcomes /= mass[:, None, :]
    return grids, outcomes


def score_grids(draws: PredictionDraws, home_team: np.ndarray, away_team: np.ndarray, max_goals: int) -> np.ndarray:
    """Posterior-predictive score grids for pairs of teams: (pairs, max_goals + 1, max_goals + 1)."""
    home_rate, away_rate = draws.rates(home_team, away_team)
    work = _Workspace(home_rate.shape[0], max_goals, draws.n_draws)
    return _batch_odds(home_rate, away_rate, draws.rho, work, per_draw=False)[0]


def check_rates(
    draws: PredictionDraws, home: int, aways: np.ndarray, home_rate: np.ndarray, away_rate: np.ndarray
) -> None:
    """Refuse, naming the pairing, goal rates (pairs, draws) that are not positive finite numbers."""
    for side, rates in (("home", home_rate), ("away", away_rate)):
        bad = ~(np.isfinite(rates.max(axis=-1)) & (rates.min(axis=-1) > 0))  # a NaN is the max and the min
        if np.any(bad):
            away = int(aways[np.argmax(bad)])
            raise ImplausibleOdds(
                f"goal rates of the {side} side of {draws.team(home)} v {draws.team(away)} are not all positive"
            )


def posterior_grid_size(draws: PredictionDraws) -> int:
    """grid_size of the goal rates (product_rates) of every pairing, each pairing's checked (check_rates), keeping
    no batch's rates.

    Most pairings' tails are not run: a Poisson's tail grows with its rate, so the mean tail of a block of draws
    is at most the tail of the block's largest rate, and the grid that the blocks' largest rates need bounds a
    pairing's own. Only pairings whose bound is above the grid found so far have their tail computed, largest
    bound first: a few of 380 (the most lopsided), where computing every tail cost as much as the 1X2.
    """
    blocks = min(SIZING_BLOCKS, draws.n_draws)
    starts = np.linspace(0, draws.n_draws, blocks + 1).astype(int)[:-1]
    homes, aways, block_maxima = [], [], []
    for home, batch_aways in pair_batches(draws):
        home_rate, away_rate = draws.product_rates(home, batch_aways)
        check_rates(draws, home, batch_aways, home_rate, away_rate)
        homes.append(np.full_like(batch_aways, home))
        aways.append(batch_aways)
        sides = (np.maximum.reduceat(rates, starts, axis=-1) for rates in (home_rate, away_rate))
        block_maxima.append(np.stack(list(sides), axis=1))
    home_team, away_team = np.concatenate(homes), np.concatenate(aways)
    # The mean over blocks weighs each block alike, the mean over draws by its number of draws: the bound's
    # tail is cut by that ratio at most, and by BOUND_MARGIN for rounding, so it can only be too large.
    largest_block = int(np.max(np.diff([*starts, draws.n_draws])))
    tail = TAIL_MASS * (1 - BOUND_MARGIN) * draws.n_draws / (largest_block * blocks)
    maxima = np.concatenate(block_maxima)  # (pairs, sides, blocks)
    bound = row_grid_sizes(maxima.reshape(-1, maxima.shape[-1]), tail).reshape(-1, 2).max(axis=1)
    order = np.argsort(-bound, kind="stable")
    goals = 0
    for start in range(0, len(order), SIZING_CHUNK):
        pairs = order[start : start + SIZING_CHUNK]
        pairs = pairs[bound[pairs] > goals]
        if not pairs.size:
            break  # every later bound is no larger
        home_rate, away_rate = draws.product_rates(home_team[pairs], away_team[pairs])
        goals = max(goals, grid_size(np.concatenate([home_rate, away_rate])))
    return goals


def check_score_grids(draws: PredictionDraws, home: int, aways: np.ndarray, grids: np.ndarray) -> None:
    """Refuse, naming the pairing, score grids (pairs, K, K) that are not probabilities.

    Every cell must lie in [0, 1] and each grid must sum to 1 less at most TAIL_MASS, what grid_size leaves
    out (Dixon-Coles' correction moves mass between the low scores and adds none).
    """
    low, high = grids.min(axis=(-2, -1)), grids.max(axis=(-2, -1))
    mass = grids.sum(axis=(-2, -1))
    wrong = ~np.isfinite(mass) | (low < -GRID_TOLERANCE) | (high > 1 + GRID_TOLERANCE)
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


@lru_cache(maxsize=4)
def _market_matrices(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For grids of size x size flattened: which cells are over each line (cells, lines), each cell's home margin
    one-hot (cells, margins), and the handicap outcomes of each margin (margins, lines x outcomes)."""
    home_goals, away_goals = np.indices((size, size))
    totals = (home_goals + away_goals).ravel()
    over = np.stack([totals > line for line in OVER_UNDER_LINES], axis=1).astype(float)
    margins = np.arange(-(size - 1), size)
    margin_of_cell = np.eye(len(margins))[(home_goals - away_goals + size - 1).ravel()]
    weights = np.stack([handicap_weights(quarters, margins) for quarters in ASIAN_HANDICAP_QUARTERS], axis=1)
    matrices = (over, margin_of_cell, weights.reshape(len(margins), -1))
    for matrix in matrices:
        matrix.setflags(write=False)
    return matrices


def grid_markets(grids: np.ndarray) -> dict[str, np.ndarray]:
    """The markets of normalised score grids (pairs, K, K): every number as a probability per pair."""
    pairs, size = grids.shape[0], grids.shape[-1]
    over_cells, margin_of_cell, handicap_of_margin = _market_matrices(size)
    cells = grids.reshape(pairs, size * size)
    over = cells @ over_cells
    btts = grids[:, 1:, 1:].sum(axis=(-2, -1))
    handicap = ((cells @ margin_of_cell) @ handicap_of_margin).reshape(pairs, len(ASIAN_HANDICAP_QUARTERS), -1)
    corner = CORRECT_SCORE_MAX_GOALS + 1
    correct_score = np.zeros((pairs, corner, corner))
    kept = min(corner, size)
    correct_score[:, :kept, :kept] = grids[:, :kept, :kept]
    return {"over": over, "btts": btts, "handicap": handicap, "correct_score": correct_score}


def likeliest_scores(grid: np.ndarray, count: int = LIKELIEST_SCORES) -> tuple[tuple[tuple[int, int], float], ...]:
    """The `count` likeliest scores of one normalised grid, likeliest first (ties: fewer home goals first)."""
    return _likeliest_of_grids(grid[None], count)[0]


def _likeliest_of_grids(grids: np.ndarray, count: int) -> list[tuple[tuple[tuple[int, int], float], ...]]:
    """likeliest_scores of each of a batch of grids (pairs, K, K), sorted in one call."""
    pairs, size = grids.shape[0], grids.shape[-1]
    cells = grids.reshape(pairs, size * size)
    order = np.argsort(-cells, axis=1, kind="stable")[:, :count]
    chances = np.take_along_axis(cells, order, axis=1).tolist()
    home_goals, away_goals = np.divmod(order, size)
    return [
        tuple(zip(zip(homes, aways, strict=True), chance, strict=True))
        for homes, aways, chance in zip(home_goals.tolist(), away_goals.tolist(), chances, strict=True)
    ]


def credible_intervals(outcome_draws: np.ndarray, mass: float = CREDIBLE_MASS, *, in_place: bool = False) -> np.ndarray:
    """The central `mass` interval of each outcome's per-draw probability: (pairs, 3, 2); in_place sorts
    `outcome_draws` itself rather than a copy.

    np.quantile's default (linear) interpolation between the order statistics either side of each end, from
    one sort along the draws: np.quantile partitions along a moved axis, which took 2-3x as long.
    """
    tail = (1 - mass) / 2
    ordered = outcome_draws if in_place else outcome_draws.copy()
    ordered.sort(axis=-1)
    count = ordered.shape[-1]
    position = np.array([tail, 1 - tail]) * (count - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, count - 1)
    weight = position - below
    low, high = ordered[..., below], ordered[..., above]
    step = high - low
    # numpy's own lerp: from the nearer end, so that an end at an order statistic is that statistic exactly
    interval: np.ndarray = np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)
    return interval


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
    # One grid for every pairing, so that each fixture's grid is cut alike.
    max_goals = posterior_grid_size(draws)
    work = _Workspace(max(len(aways) for _, aways in pair_batches(draws)), max_goals, draws.n_draws)
    for home, aways in pair_batches(draws):
        home_rate, away_rate = draws.product_rates(home, aways)
        grids, outcome_draws = _batch_odds(home_rate, away_rate, draws.rho, work, per_draw=markets)
        check_score_grids(draws, home, aways, grids)
        p_home, p_draw, p_away = (p.tolist() for p in outcome_probabilities(grids))
        xg_home, xg_away = home_rate.mean(axis=-1).tolist(), away_rate.mean(axis=-1).tolist()
        cells = grids.reshape(len(aways), -1)
        mass = cells.sum(axis=1)
        best = cells.argmax(axis=1)
        best_p = (cells[np.arange(len(aways)), best] / mass).tolist()
        best_home, best_away = (goals.tolist() for goals in np.divmod(best, grids.shape[-1]))
        fixture_markets: list[FixtureMarkets | None] = [None] * len(aways)
        if outcome_draws is not None:
            normalised = grids / mass[:, None, None]
            extra = grid_markets(normalised)
            intervals = credible_intervals(outcome_draws, in_place=True)
            btts = extra["btts"].tolist()
            likeliest = _likeliest_of_grids(normalised, LIKELIEST_SCORES)
            fixture_markets = [
                FixtureMarkets(
                    intervals=intervals[position],
                    over=extra["over"][position],
                    btts=btts[position],
                    handicap=extra["handicap"][position],
                    correct_score=extra["correct_score"][position],
                    likeliest=likeliest[position],
                )
                for position in range(len(aways))
            ]
        for position, away in enumerate(aways.tolist()):
            yield FixtureOdds(
                home=home,
                away=away,
                p_home=p_home[position],
                p_draw=p_draw[position],
                p_away=p_away[position],
                xg_home=xg_home[position],
                xg_away=xg_away[position],
                likely_score=(best_home[position], best_away[position]),
                likely_score_p=best_p[position],
                score_grid=grids[position],
                markets=fixture_markets[position],
            )


def market_numbers(fixtures: Sequence[FixtureOdds]) -> np.ndarray:
    """Every market number of each fixture, all with markets: (fixtures, numbers), in the order market_map reads."""
    markets = [fixture.markets for fixture in fixtures if fixture.markets is not None]
    if len(markets) != len(fixtures):
        raise ValueError("market_numbers needs fixtures computed with their markets")
    count = len(fixtures)
    p_home, p_draw, p_away = (np.array([getattr(f, name) for f in fixtures]) for name in ("p_home", "p_draw", "p_away"))
    decisive = p_home + p_away
    columns = [
        np.clip(np.stack([m.intervals for m in markets]), 0.0, 1.0).reshape(count, -1),
        np.stack([m.over for m in markets]),
        np.array([[m.btts] for m in markets]),
        np.stack([p_home + p_draw, decisive, p_draw + p_away], axis=1),
        np.stack([p_home / decisive, p_away / decisive], axis=1),
        np.stack([m.handicap for m in markets]).reshape(count, -1),
        np.stack([m.correct_score for m in markets]).reshape(count, -1),
        np.array([[p for _, p in m.likeliest] for m in markets]),
    ]
    numbers = np.concatenate(columns, axis=1)
    if numbers.shape[1] != MARKET_ENDS["likeliest"]:
        raise ValueError(f"{numbers.shape[1]} market numbers per fixture, not {MARKET_ENDS['likeliest']}")
    return numbers
