"""A score-driven rating: attack and defence that step towards every match's evidence.

After each match a team's attack moves by `step_attack` x (signal - expected goals), and its
opponent's defence by `step_defence` x the same; the signal is a blend of goals, shots on target and
corners, each statistic in goal units (goals per shot on target, per corner, over the window). At
every new season the strengths shrink towards the mean by `carry`, and teams new to the league start
at a shared promoted offset. Every setting (intercept, home edge, the two steps, the blend, carry,
the promoted offsets, Dixon-Coles rho) is fitted by maximum likelihood of each match's goals
predicted from the ratings before it (one step ahead), so nothing is tuned by hand.

`Rating.fit` returns one parameter set, priced by the same score grid as the posterior draws. It is a
backtest forecaster (`ScoreDrivenRating`), not served: refitted weekly it scores 1.034 x Pinnacle on
the evaluation set against the served model's 1.030, and the mean of the two gains nothing
(docs/model-quality.md, "The served model averaged with a score-driven rating").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from matchodds.core.results import Match
from research.models import TOTAL_SHOTS, dixon_coles_log_likelihood, sent_off
from services.fit.model import STATISTICS, predicts_new_season, season_membership, season_teams

STATISTIC_COLUMNS = tuple(STATISTICS.values())  # (home, away) columns of shots on target, corners
# The market's prices of a past match, closing Pinnacle first: an experiment, not served (see Rating.market).
MARKET = (("PSCH", "PSCD", "PSCA"), ("PSH", "PSD", "PSA"), ("B365H", "B365D", "B365A"))
ROWS = 256  # matches are padded to a multiple of this: few shapes, few compilations
# Parameter vector: intercept, home, log step attack, log step defence, logit carry, promoted attack,
# promoted defence, rho, then one blend logit per signal other than goals (goals' logit is 0).
START = np.array([np.log(1.35), 0.25, np.log(0.03), np.log(0.03), 1.4, -0.15, 0.15, -0.05])
BOUNDS = [(None, None)] * 7 + [(-0.2, 0.2)]
BLEND_START = [0.0, -0.7]  # shots on target, corners (goals 0: about 0.4 / 0.4 / 0.2); the market's is 0
# The share of its evidence a match with a sending-off keeps, as a logit: starts at 0.88 (a little less
# than a full match), and the likelihood moves it either way.
RED_START = 2.0


def _settings(params: jnp.ndarray, n_signals: int) -> dict[str, jnp.ndarray]:
    """The settings of a parameter vector: the eight fixed ones, a blend logit per signal, and the red-card
    evidence share when the vector has one more (`Rating.red_cards`; else 1: every match counts in full)."""
    red_share = jax.nn.sigmoid(params[8 + n_signals]) if params.shape[0] > 8 + n_signals else jnp.ones(())
    return {
        "intercept": params[0],
        "home": params[1],
        "step_attack": jnp.exp(params[2]),
        "step_defence": jnp.exp(params[3]),
        "carry": jax.nn.sigmoid(params[4]),
        "promoted_attack": params[5],
        "promoted_defence": params[6],
        "rho": params[7],
        "blend": jax.nn.softmax(jnp.concatenate([jnp.zeros(1), params[8 : 8 + n_signals]])),  # goals first
        "red_share": red_share,
    }


def _filter(params: jnp.ndarray, data: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, tuple[jnp.ndarray, jnp.ndarray]]:
    """One-step-ahead log likelihood of the weighted matches, and the ratings after the last one."""
    s = _settings(params, data["signals"].shape[1])
    n_teams = data["new_team"].shape[1]

    def step(state, row):
        attack, defence = state
        # A new season: shrink to the mean of its teams, promoted teams start at the shared offset.
        new = data["new_team"][row["season"]]
        roster = data["roster"][row["season"]]
        for_season = lambda x, offset: jnp.where(  # noqa: E731
            new > 0, offset, s["carry"] * (x - jnp.sum(x * roster) / jnp.sum(roster))
        )
        attack = jnp.where(row["season_start"], for_season(attack, s["promoted_attack"]), attack)
        defence = jnp.where(row["season_start"], for_season(defence, s["promoted_defence"]), defence)
        h, a = row["home"], row["away"]
        home_rate = jnp.exp(s["intercept"] + s["home"] / 2 + attack[h] + defence[a])
        away_rate = jnp.exp(s["intercept"] - s["home"] / 2 + attack[a] + defence[h])
        hg, ag = row["home_goals"], row["away_goals"]
        log_likelihood = dixon_coles_log_likelihood(hg, ag, home_rate, away_rate, s["rho"])
        # Each signal in goal units; a match without one counts its goals in its place.
        goals = jnp.stack([hg, ag])
        signals = jnp.where(row["has_signal"][:, None] > 0, row["signals"], goals)
        signal = s["blend"][0] * goals + s["blend"][1:] @ signals
        # A match with a sending-off moves the ratings by its share of a full match's evidence.
        evidence = 1.0 - row["red"] * (1.0 - s["red_share"])
        surprise = row["live"] * evidence * (signal - jnp.stack([home_rate, away_rate]))
        attack = attack.at[h].add(s["step_attack"] * surprise[0]).at[a].add(s["step_attack"] * surprise[1])
        defence = defence.at[a].add(s["step_defence"] * surprise[0]).at[h].add(s["step_defence"] * surprise[1])
        return (attack, defence), row["weight"] * log_likelihood

    rows = {key: data[key] for key in data if key not in ("new_team", "roster")}
    start = (jnp.zeros(n_teams), jnp.zeros(n_teams))
    ratings, log_likelihoods = jax.lax.scan(step, start, rows)
    return jnp.sum(log_likelihoods), ratings


_loss_and_grad = jax.jit(jax.value_and_grad(lambda p, d: -_filter(p, d)[0]))
_ratings = jax.jit(lambda p, d: _filter(p, d)[1])


@dataclass(frozen=True)
class FittedRating:
    """One parameter set in the posterior contract's terms (intercept, home, attack, defence, rho)."""

    team_codes: list[str]
    intercept: float
    home: float
    attack: np.ndarray
    defence: np.ndarray
    rho: float
    settings: dict[str, Any]  # every fitted setting, the blend as a list (goals first)


@dataclass(frozen=True)
class Rating:
    """`market=True` adds a fourth signal, the goal rates implied by the bookmakers' prices of each
    past match: an experiment to measure what those prices are worth, not served (the served odds are
    the results' own)."""

    seasons: int = 4
    market: bool = False
    # Leads of issue 23, screened on development seasons (research/NOTEBOOK.md): total shots as one more
    # signal, and a fitted share of its evidence for a match with a sending-off.
    total_shots: bool = False
    red_cards: bool = False

    def fit(self, matches: Sequence[Match], predict_teams: Sequence[str]) -> FittedRating:
        """Fit on the newest `seasons` seasons of `matches`; rate `predict_teams` for their next match
        (a new season's teams when they are not the newest season's: its step is taken first)."""
        kept = sorted({m.season for m in matches})[-self.seasons :]
        window = sorted((m for m in matches if m.season in kept), key=lambda m: m.date)
        predict = sorted(predict_teams)
        rosters = [season_teams(window, season) for season in kept]
        predicting_new_season = predicts_new_season(rosters[-1], predict)
        if predicting_new_season:
            rosters.append(set(predict))
        codes = sorted(set().union(*rosters) | set(predict))
        columns = STATISTIC_COLUMNS + tuple(TOTAL_SHOTS.values()) * self.total_shots
        data = _arrays(window, kept, rosters, codes, market=self.market, columns=columns, red_cards=self.red_cards)
        start = np.concatenate(
            [START, BLEND_START + [-0.7] * self.total_shots + [0.0] * self.market + [RED_START] * self.red_cards]
        )
        result = minimize(
            lambda p: tuple(np.asarray(v, dtype=np.float64) for v in _loss_and_grad(jnp.asarray(p, jnp.float32), data)),
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=BOUNDS + [(None, None)] * (len(start) - len(START)),
        )
        params = jnp.asarray(result.x, jnp.float32)
        if predicting_new_season:  # one more (empty) row that opens the new season
            data = _arrays(window, kept, rosters, codes, len(rosters) - 1, self.market, columns, self.red_cards)
        attack, defence = (np.asarray(x, dtype=np.float64) for x in _ratings(params, data))
        fitted = _settings(params, data["signals"].shape[1])
        settings = {key: np.asarray(value).tolist() for key, value in fitted.items()}
        keep = [codes.index(code) for code in predict]
        return FittedRating(
            predict,
            float(settings["intercept"]),
            float(settings["home"]),
            attack[keep],
            defence[keep],
            float(settings["rho"]),
            settings,
        )


def _arrays(
    window: list[Match],
    seasons: list[str],
    rosters: list[set[str]],
    codes: list[str],
    open_season: int | None = None,
    market: bool = False,
    columns: tuple[tuple[str, str], ...] = STATISTIC_COLUMNS,
    red_cards: bool = False,
) -> dict[str, jnp.ndarray]:
    index = {code: position for position, code in enumerate(codes)}
    season_index = {season: position for position, season in enumerate(seasons)}
    n = len(window) + (open_season is not None)
    size = -(-n // ROWS) * ROWS
    home = np.zeros(size, np.int32)
    away = np.zeros(size, np.int32)
    goals = np.zeros((2, size), np.float32)
    signals = np.zeros((size, len(columns) + market, 2), np.float32)
    has_signal = np.zeros((size, len(columns) + market), np.float32)
    red = np.zeros(size, np.float32)
    season = np.zeros(size, np.int32)
    season_start = np.zeros(size, bool)
    live = np.zeros(size, np.float32)
    weight = np.zeros(size, np.float32)
    # Goals in statistic units: goals per shot on target, per corner, over the matches that have both.
    has = [all(c in m.numbers for pair in columns for c in pair) for m in window]
    with_statistics = [m for m, flag in zip(window, has, strict=True) if flag]
    total_goals = sum(m.home_goals + m.away_goals for m in with_statistics)
    to_goals = [total_goals / max(sum(m.numbers[h] + m.numbers[a] for m in with_statistics), 1.0) for h, a in columns]
    # The first season only warms the ratings up (the first third of the matches when there is one).
    first_scored = next((i for i, m in enumerate(window) if m.season != seasons[0]), len(window) // 3)
    for i, m in enumerate(window):
        home[i], away[i] = index[m.home], index[m.away]
        goals[:, i] = m.home_goals, m.away_goals
        if has[i]:
            for s, (h, a) in enumerate(columns):
                signals[i, s] = m.numbers[h] * to_goals[s], m.numbers[a] * to_goals[s]
            has_signal[i, : len(columns)] = 1.0
        if red_cards:  # a file without the cards' columns leaves every match at its full evidence
            red[i] = float(sent_off(m))
        season[i] = season_index[m.season]
        season_start[i] = i > 0 and m.season != window[i - 1].season
        live[i] = 1.0
        weight[i] = 1.0 if i >= first_scored else 0.0
    if market:
        prices = {i: p for i, p in enumerate(map(_prices, window)) if p is not None}
        if prices:
            signals[list(prices), -1] = implied_rates(np.array(list(prices.values())))
            has_signal[list(prices), -1] = 1.0
    if open_season is not None:
        season[n - 1], season_start[n - 1] = open_season, True
    season[n:] = season[n - 1]
    roster, new_team = (x.astype(np.float32) for x in season_membership(rosters, codes))
    return {
        "home": jnp.asarray(home),
        "away": jnp.asarray(away),
        "home_goals": jnp.asarray(goals[0]),
        "away_goals": jnp.asarray(goals[1]),
        "signals": jnp.asarray(signals),
        "has_signal": jnp.asarray(has_signal),
        "season": jnp.asarray(season),
        "season_start": jnp.asarray(season_start),
        "live": jnp.asarray(live),
        "red": jnp.asarray(red),
        "weight": jnp.asarray(weight),
        "new_team": jnp.asarray(new_team),
        "roster": jnp.asarray(roster),
    }


def _prices(match: Match) -> list[float] | None:
    for columns in MARKET:
        prices = [match.numbers.get(column) for column in columns]
        if all(price is not None and price > 1 for price in prices):
            return prices  # type: ignore[return-value]
    return None


_RATE_GRID = np.exp(np.linspace(np.log(0.1), np.log(5.0), 200))


@functools.cache
def _rate_lookup() -> tuple[Any, np.ndarray]:
    """A tree of the (home win, away win) probabilities of a grid of rates, and those rates."""
    from scipy.spatial import cKDTree
    from scipy.stats import poisson

    goals = np.arange(16)
    pmf = poisson.pmf(goals[None, :], _RATE_GRID[:, None])  # (rates, goals)
    joint = pmf[:, None, :, None] * pmf[None, :, None, :]  # (home rate, away rate, home goals, away goals)
    home_win = np.tril(np.ones((16, 16)), -1)
    p_home = np.einsum("abij,ij->ab", joint, home_win)
    p_away = np.einsum("abij,ij->ab", joint, home_win.T)
    return cKDTree(np.stack([p_home.ravel(), p_away.ravel()], axis=1)), np.stack(
        np.meshgrid(_RATE_GRID, _RATE_GRID, indexing="ij"), axis=-1
    ).reshape(-1, 2)


def implied_rates(prices: np.ndarray) -> np.ndarray:
    """The independent-Poisson goal rates (home, away) whose home and away win probabilities are the
    prices' (margin removed proportionally): the nearest point of a fine grid of rates."""
    from research.evaluation import remove_margin

    tree, rates = _rate_lookup()
    _, nearest = tree.query(remove_margin(prices)[:, [0, 2]])
    return rates[nearest]
