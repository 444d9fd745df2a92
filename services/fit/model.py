"""Goals models in numpyro, each a plain function of its data so that one function fits and predicts.

A model is a swappable piece: `MODELS` maps a name to a `GoalsModel`, which chooses its window of
matches, turns them into arrays, and exports the draws that predict the next match in the names the
posterior contract defines (intercept, home, attack, defence and optionally rho; see
matchodds.core.posterior). The served model is the one the walk-forward backtests favour
(docs/model-quality.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from matchodds.core.results import Match

# Real scoring: about 1.4 goals per team per match (EPL 2012-2025: 1.53 home, 1.21 away).
GOALS_PER_TEAM = 1.4


def poisson_goals(
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    n_teams: int,
    home_goals: jnp.ndarray | None = None,
    away_goals: jnp.ndarray | None = None,
) -> None:
    """Independent Poisson goals; zero-sum, non-centred attack and defence strengths.

    log rate home = intercept + home/2 + attack[h] + defence[a]
    log rate away = intercept - home/2 + attack[a] + defence[h]
    """
    intercept = numpyro.sample("intercept", dist.Normal(math.log(GOALS_PER_TEAM), 0.2))
    home = numpyro.sample("home", dist.Normal(0.2, 0.2))
    attack_scale = numpyro.sample("attack_scale", dist.HalfNormal(0.5))
    defence_scale = numpyro.sample("defence_scale", dist.HalfNormal(0.5))
    attack_raw = numpyro.sample("attack_raw", dist.ZeroSumNormal(1.0, event_shape=(n_teams,)))
    defence_raw = numpyro.sample("defence_raw", dist.ZeroSumNormal(1.0, event_shape=(n_teams,)))
    attack = numpyro.deterministic("attack", attack_scale * attack_raw)
    defence = numpyro.deterministic("defence", defence_scale * defence_raw)
    log_home_rate = intercept + home / 2 + attack[home_team] + defence[away_team]
    log_away_rate = intercept - home / 2 + attack[away_team] + defence[home_team]
    with numpyro.plate("matches", home_team.shape[0]):
        numpyro.sample("home_goals", dist.Poisson(jnp.exp(log_home_rate)), obs=home_goals)
        numpyro.sample("away_goals", dist.Poisson(jnp.exp(log_away_rate)), obs=away_goals)


def dixon_coles_log_tau(
    home_goals: jnp.ndarray, away_goals: jnp.ndarray, home_rate: jnp.ndarray, away_rate: jnp.ndarray, rho: jnp.ndarray
) -> jnp.ndarray:
    """log of Dixon & Coles' (1997) correction of the four low scores; 0 for every other score."""
    tau = jnp.where(
        (home_goals == 0) & (away_goals == 0),
        1 - home_rate * away_rate * rho,
        jnp.where(
            (home_goals == 0) & (away_goals == 1),
            1 + home_rate * rho,
            jnp.where(
                (home_goals == 1) & (away_goals == 0),
                1 + away_rate * rho,
                jnp.where((home_goals == 1) & (away_goals == 1), 1 - rho, 1.0),
            ),
        ),
    )
    return jnp.log(jnp.maximum(tau, 1e-10))


def league_level(n_seasons: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The league's scoring level and its home edge in each season, around a common mean."""
    intercept = numpyro.sample("intercept", dist.Normal(math.log(GOALS_PER_TEAM), 0.2))
    home_mean = numpyro.sample("home_mean", dist.Normal(0.2, 0.2))
    home_spread = numpyro.sample("home_spread", dist.HalfNormal(0.1))
    home_raw = numpyro.sample("home_raw", dist.Normal(0.0, 1.0).expand([n_seasons]).to_event(1))
    home_by_season = numpyro.deterministic("home_by_season", home_mean + home_spread * home_raw)
    return intercept, home_by_season


def goals_and_statistics(
    intercept: jnp.ndarray,
    home: jnp.ndarray,
    attack: Callable[[jnp.ndarray], jnp.ndarray],
    defence: Callable[[jnp.ndarray], jnp.ndarray],
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    rho: jnp.ndarray,
    weight: jnp.ndarray,
    home_goals: jnp.ndarray | None,
    away_goals: jnp.ndarray | None,
    statistics: dict[str, jnp.ndarray] | None,
    statistics_weight: float,
) -> None:
    """The decay-weighted likelihood of each match's goals (Dixon-Coles) and statistics, given the
    home edge and each team's attack and defence in the match (`attack(teams)`: one per match).

    Written for the sampler's inner loop, which evaluates it and its gradient some 130,000 times a
    fit: each match's strengths are looked up once and shared by the goals and every statistic, and
    the Poisson terms drop log(k!), which does not depend on the parameters (the posterior is the
    same; the log density moves by a constant). Timed in docs/model-quality.md, "Fit time and the
    quality gate"."""
    home_strength = attack(home_team) + defence(away_team)
    away_strength = attack(away_team) + defence(home_team)
    log_home_rate = intercept + home / 2 + home_strength
    log_away_rate = intercept - home / 2 + away_strength
    home_rate, away_rate = jnp.exp(log_home_rate), jnp.exp(log_away_rate)
    if home_goals is not None and away_goals is not None:
        log_likelihood = (
            poisson_kernel(home_goals, log_home_rate)
            + poisson_kernel(away_goals, log_away_rate)
            + dixon_coles_log_tau(home_goals, away_goals, home_rate, away_rate, rho)
        )
        numpyro.factor("goals", jnp.sum(weight * log_likelihood))
    for name, counts in (statistics or {}).items():
        # A match statistic (shots on target, corners) as a noisier signal of the same strengths:
        # its own level, home edge and a positive loading in goal units, down-weighted so that it
        # informs the strengths without outweighing the goals.
        level = numpyro.sample(f"{name}_level", dist.Normal(1.6, 0.5))  # ~5 a side
        edge = numpyro.sample(f"{name}_home", dist.Normal(0.1, 0.2))
        loading = numpyro.sample(f"{name}_loading", dist.LogNormal(0.0, 0.5))
        log_home_stat = level + edge / 2 + loading * home_strength
        log_away_stat = level - edge / 2 + loading * away_strength
        present = counts[:, 2]
        stat_log_likelihood = present * (
            poisson_kernel(counts[:, 0], log_home_stat) + poisson_kernel(counts[:, 1], log_away_stat)
        )
        numpyro.factor(name, statistics_weight * jnp.sum(weight * stat_log_likelihood))


def poisson_kernel(count: jnp.ndarray, log_rate: jnp.ndarray) -> jnp.ndarray:
    """log Poisson(count | rate) + log(count!): the part that depends on the rate. (XLA computes an
    exp shared with the caller's once.)"""
    return count * log_rate - jnp.exp(log_rate)


def dixon_coles_seasons(
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    season: jnp.ndarray,
    weight: jnp.ndarray,
    played: jnp.ndarray,
    new_team: jnp.ndarray,
    n_teams: int,
    n_seasons: int,
    home_goals: jnp.ndarray | None = None,
    away_goals: jnp.ndarray | None = None,
    statistics: dict[str, jnp.ndarray] | None = None,
    statistics_weight: float = 0.0,
) -> None:
    """Several seasons of goals, time-decayed, with Dixon-Coles low scores, a home edge per season,
    and strengths that move from season to season: a stationary AR(1) per team (persistence
    fitted), so last season informs this one without pinning it.

    - weight: each match's decay weight, rescaled so that the weights sum to the effective number of
      matches. Raw weights (at most 1) sum to less than that, and the prior then over-shrinks every
      team (seen: the spread of defence strengths halved).
    - played (seasons, teams): 1 where a team plays that season. The last row is the season being
      predicted, which is one more than the data hold when a backtest predicts a new season.
    - new_team (seasons, teams): 1 where a team plays a season but did not play the one before it:
      it starts afresh near the other promoted teams (a shared offset) instead of carrying on, so a
      promoted team starts near the teams it replaced rather than at the league average.
    - home advantage varies by season around a common mean (it vanished in 2020-21 without crowds).
    - each season's strengths sum to zero over the teams that play it; `attack` and `defence` are
      the predicted season's.
    """
    intercept, home_by_season = league_level(n_seasons)
    persistence = numpyro.sample("persistence", dist.Beta(8.0, 2.0))
    strengths = strengths_by_season(jnp.broadcast_to(persistence, (played.shape[0],)), played, new_team, n_teams)
    attack, defence = strengths["attack"], strengths["defence"]
    rho = numpyro.sample("rho", dist.Normal(-0.05, 0.05))
    goals_and_statistics(
        intercept,
        home_by_season[season],
        lambda team: attack[season, team],
        lambda team: defence[season, team],
        home_team,
        away_team,
        rho,
        weight,
        home_goals,
        away_goals,
        statistics,
        statistics_weight,
    )


def strengths_by_season(
    persistence: jnp.ndarray, played: jnp.ndarray, new_team: jnp.ndarray, n_teams: int
) -> dict[str, jnp.ndarray]:
    """Attack and defence per season and team: a stationary AR(1) from each season to the next with
    that season's persistence, new teams from a shared promoted offset, each season centred over the
    teams that play it. Records the predicted (last) season's as `attack` and `defence`."""
    periods = played.shape[0]
    step = jnp.sqrt(1 - persistence**2)  # keeps the spread of strengths the same from season to season
    strengths = {}
    for side, promoted_prior in (("attack", -0.15), ("defence", 0.15)):
        scale = numpyro.sample(f"{side}_scale", dist.HalfNormal(0.5))
        promoted = numpyro.sample(f"promoted_{side}", dist.Normal(promoted_prior, 0.15))
        raw = numpyro.sample(f"{side}_raw", dist.Normal(0.0, 1.0).expand([periods, n_teams]).to_event(2))
        rows = [scale * raw[0]]
        for row in range(1, periods):
            carried = persistence[row] * rows[-1] + scale * step[row] * raw[row]
            rows.append(jnp.where(new_team[row] > 0, promoted + scale * raw[row], carried))
        by_period = jnp.stack(rows)
        centre = jnp.sum(played * by_period, axis=1, keepdims=True) / jnp.maximum(played.sum(1, keepdims=True), 1)
        strengths[side] = by_period - centre
        numpyro.deterministic(side, strengths[side][-1])
    return strengths


def stretch_strengths(attack: np.ndarray, defence: np.ndarray, stretch: float) -> tuple[np.ndarray, np.ndarray]:
    """Move every team's attack and defence `stretch` times as far from the teams' mean, draw by draw
    (teams on the last axis); stretch 1 leaves the draws as they are.

    A prediction-time correction of the hierarchical prior's shrinkage, chosen by walk-forward
    backtests on development seasons (docs/model-quality.md). The league's mean, the home edge and
    rho are untouched.
    """
    attack_mean = attack.mean(axis=-1, keepdims=True)
    defence_mean = defence.mean(axis=-1, keepdims=True)
    return attack_mean + stretch * (attack - attack_mean), defence_mean + stretch * (defence - defence_mean)


def _statistic(match: Match, home_column: str, away_column: str) -> tuple[float, float, float]:
    """(home count, away count, 1) or (0, 0, 0) when the file lacks the statistic for this match."""
    home, away = match.numbers.get(home_column), match.numbers.get(away_column)
    return (home, away, 1.0) if home is not None and away is not None else (0.0, 0.0, 0.0)


# The label of the predicted season's row of strengths when the data do not hold it yet (a new season).
NEXT_PERIOD = "next"


@dataclass(frozen=True)
class Prepared:
    """A model's view of the data: its arrays, every team it fits, and the teams it predicts."""

    data: dict[str, Any]
    window: list[Match]
    team_codes: list[str]
    predict_codes: list[str]


# Match statistics read as signals of team strength: name -> (home column, away column) in football-data files.
STATISTICS = {"shots_on_target": ("HST", "AST"), "corners": ("HC", "AC")}


def season_teams(matches: Sequence[Match], season: str) -> set[str]:
    return {m.home for m in matches if m.season == season} | {m.away for m in matches if m.season == season}


def predicts_new_season(newest: set[str], predict: Sequence[str]) -> bool:
    """Whether the predicted teams are a season after the newest one in the data: teams have come
    and gone (relegation). A team that has not played yet this season (E0 2020-21 began a week later
    for four clubs) does not make one."""
    return not set(predict) <= newest and not newest <= set(predict)


def season_membership(rosters: Sequence[set[str]], codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(seasons, teams) arrays: 1 where a team plays the season; 1 where it plays it but not the one before."""
    played = np.array([[1.0 if code in roster else 0.0 for code in codes] for roster in rosters])
    new_team = np.zeros_like(played)
    new_team[1:] = played[1:] * (1 - played[:-1])
    return played, new_team


@dataclass(frozen=True)
class GoalsModel:
    """A model, how its data are made from matches, and which draws predict the next match."""

    name: str
    function: Callable[..., None]
    settings: dict[str, Any] = field(default_factory=dict)
    diagnosed_sites: tuple[str, ...] = ("intercept", "home", "attack", "defence")
    # Warmup and kept draws per chain when a command is not told: as many as the fit budget allows.
    draws: tuple[int, int] = (1000, 1000)
    # The axes of each sampled site that a warm start maps by label (services.fit.warm): "team" (every
    # team the fit indexes), "season" (the window's seasons), "period" (the seasons, and the predicted new
    # season when there is one). A site not named here is mapped only when its layout is the same.
    site_axes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def axis_labels(self, prepared: Prepared) -> dict[str, tuple[str, ...]]:
        """The labels of each axis `site_axes` names, for this fit's data."""
        seasons = tuple(sorted({match.season for match in prepared.window}))
        played = prepared.data.get("played")
        periods = (*seasons, NEXT_PERIOD) if played is not None and len(played) > len(seasons) else seasons
        return {"team": tuple(prepared.team_codes), "season": seasons, "period": periods}

    def window(self, matches: Sequence[Match]) -> list[Match]:
        """The matches this model fits on: the newest `seasons` seasons, in date order."""
        seasons = sorted({match.season for match in matches})[-int(self.settings.get("seasons", 1)) :]
        return sorted((m for m in matches if m.season in seasons), key=lambda m: m.date)

    def prepare(
        self, matches: Sequence[Match], predict_teams: Sequence[str] | None = None, as_of: date | None = None
    ) -> Prepared:
        """Arrays for the fit. Predicts the newest season's teams unless told which (a backtest
        predicting a new season's first week names its teams, promoted ones included)."""
        window = self.window(matches)
        if not window:
            raise ValueError("no matches to fit")
        seasons = sorted({m.season for m in window})
        current = seasons[-1]
        predict = sorted(predict_teams) if predict_teams is not None else sorted(season_teams(window, current))
        codes = sorted({m.home for m in window} | {m.away for m in window} | set(predict))
        index = {code: position for position, code in enumerate(codes)}
        data: dict[str, Any] = {
            "home_team": np.array([index[m.home] for m in window], dtype=np.int32),
            "away_team": np.array([index[m.away] for m in window], dtype=np.int32),
            "n_teams": len(codes),
            "home_goals": np.array([m.home_goals for m in window], dtype=np.int32),
            "away_goals": np.array([m.away_goals for m in window], dtype=np.int32),
        }
        data.update(self.model_data(window, seasons, codes, predict, as_of or window[-1].date))
        return Prepared(data, window, codes, predict)

    def model_data(
        self, window: list[Match], seasons: list[str], codes: list[str], predict: list[str], reference: date
    ) -> dict[str, Any]:
        """The model's arrays beyond teams and goals (none for the static baseline)."""
        return {}

    def decay_data(self, window: list[Match], seasons: list[str], reference: date) -> dict[str, Any]:
        """Each match's decay weight and season, and the match statistics when the model reads them."""
        age_days = np.array([(reference - m.date).days for m in window], dtype=np.float64)
        raw = np.exp(-float(self.settings["decay_per_day"]) * np.maximum(age_days, 0))
        weight = raw * raw.sum() / np.square(raw).sum()  # sums to the effective number of matches
        season_index = {season: position for position, season in enumerate(seasons)}
        data: dict[str, Any] = {
            "season": np.array([season_index[m.season] for m in window], dtype=np.int32),
            "weight": weight.astype(np.float32),
            "n_seasons": len(seasons),
        }
        if self.settings.get("statistics"):
            data["statistics"] = {
                name: np.array([_statistic(m, home_column, away_column) for m in window], dtype=np.float32)
                for name, (home_column, away_column) in self.settings["statistics"].items()
            }
            data["statistics_weight"] = float(self.settings["statistics_weight"])
        return data

    def rosters(self, window: list[Match], seasons: list[str], predict: list[str]) -> list[set[str]]:
        """Who plays each season, the predicted season last (one more than the data hold when the
        predicted teams are a new season's)."""
        predicting_new_season = predicts_new_season(season_teams(window, seasons[-1]), predict)
        rosters = [season_teams(window, s) for s in seasons] + ([set(predict)] if predicting_new_season else [])
        rosters[-1] = rosters[-1] | set(predict)
        return rosters

    def prediction_draws(self, samples: dict[str, np.ndarray], prepared: Prepared) -> dict[str, np.ndarray]:
        """The draws the posterior contract names, for the predicted teams, shaped (chains, draws, ...)."""
        keep = [prepared.team_codes.index(code) for code in prepared.predict_codes]
        draws = {
            "intercept": samples["intercept"],
            "attack": samples["attack"][..., keep],
            "defence": samples["defence"][..., keep],
        }
        if "home_by_season" in samples:
            draws["home"] = samples["home_by_season"][..., -1]  # this season's home edge
            draws["rho"] = samples["rho"]
        else:
            draws["home"] = samples["home"]
        stretch = float(self.settings.get("prediction_stretch", 1.0))
        if stretch != 1.0:
            draws["attack"], draws["defence"] = stretch_strengths(
                np.asarray(draws["attack"]), np.asarray(draws["defence"]), stretch
            )
        return {name: np.asarray(value, dtype=np.float32) for name, value in draws.items()}


@dataclass(frozen=True)
class SeasonsModel(GoalsModel):
    """The served model's data: decay weights, statistics, and who plays (and is new to) each season."""

    def model_data(
        self, window: list[Match], seasons: list[str], codes: list[str], predict: list[str], reference: date
    ) -> dict[str, Any]:
        played, new_team = season_membership(self.rosters(window, seasons, predict), codes)
        data = self.decay_data(window, seasons, reference)
        data["played"], data["new_team"] = played.astype(np.float32), new_team.astype(np.float32)
        return data


# What the fit serves: its model, and the simple baseline it is measured against. The variants tried
# on the way live in research/models.py.
MODELS: dict[str, GoalsModel] = {
    "poisson_static": GoalsModel(
        "poisson_static",
        poisson_goals,
        {"seasons": 1},
        ("intercept", "home", "attack_scale", "defence_scale", "attack", "defence"),
    ),
    "dixon_coles_seasons": SeasonsModel(
        "dixon_coles_seasons",
        dixon_coles_seasons,
        {
            "seasons": 4,
            "decay_per_day": 0.0018,
            "statistics": STATISTICS,
            # The statistics inform the strengths at half a goal's weight, the stretch undoes some of
            # the prior's shrinkage: both chosen by walk-forward backtests on development seasons.
            "statistics_weight": 0.5,
            "prediction_stretch": 1.1,
        },
        ("intercept", "home_by_season", "rho", "attack", "defence", "attack_scale", "defence_scale", "persistence"),
        # It mixes well enough that half the default draws pass the gate and bring its fit to the 20 s budget.
        draws=(500, 500),
        site_axes={"attack_raw": ("period", "team"), "defence_raw": ("period", "team"), "home_raw": ("season",)},
    ),
}
# The model with the best walk-forward scores on the development seasons (docs/model-quality.md).
DEFAULT_MODEL = "dixon_coles_seasons"
