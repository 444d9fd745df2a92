"""The model variants tried on the way to the served one, for backtests and the lab notebook.

Not served and not in any image: the fit serves services.fit.model's MODELS (its model and the
poisson_static baseline). RESEARCH_MODELS adds these; each reuses the served model's pieces.
- dixon_coles_decay: strengths fixed across four time-decayed seasons, promoted teams offset.
- dixon_coles_stats: the same with shots on target and corners as signals (served until 2026-11-29
  under the name dixon_coles_stats, replaced by dixon_coles_seasons).
- dixon_coles_periods: strengths that also move within a season, in five two-month parts (slow to
  mix, never backtested in full; research/NOTEBOOK.md).
- dixon_coles_walk: the same with a random walk over three parts instead of a second AR(1), its step fixed;
  it mixes, and was level with the served model on nine development seasons at 1.45 x its fit time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import gammaln

from matchodds.core.results import Match
from services.fit.model import (
    MODELS,
    GoalsModel,
    SeasonsModel,
    dixon_coles_log_tau,
    goals_and_statistics,
    league_level,
    predicts_new_season,
    season_membership,
    season_teams,
    stretch_strengths,
)


def strengths_by_period(
    persistence: jnp.ndarray,
    played: jnp.ndarray,
    new_team: jnp.ndarray,
    n_teams: int,
    predict_period: int = -1,
    step: jnp.ndarray | None = None,
) -> dict[str, jnp.ndarray]:
    """Attack and defence per period (a season, or a part of one) and team: a stationary AR(1) from
    each period to the next with that period's persistence, new teams from a shared promoted offset,
    each period centred over the teams that play it. Records the predicted period's as `attack` and
    `defence`. `step` (per period, in units of the spread) replaces the stationary step when given: a
    random walk where persistence is 1. With one period a season, the served
    services.fit.model.strengths_by_season."""
    periods = played.shape[0]
    if step is None:
        step = jnp.sqrt(1 - persistence**2)  # keeps the spread of strengths the same from period to period
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
        numpyro.deterministic(side, strengths[side][predict_period])
    return strengths


def stretch_each_side(
    attack: np.ndarray, defence: np.ndarray, attack_stretch: float, defence_stretch: float
) -> tuple[np.ndarray, np.ndarray]:
    """The served stretch (services.fit.model.stretch_strengths), the attacks and defences by stretches of their own."""
    return stretch_strengths(attack, defence, attack_stretch)[0], stretch_strengths(attack, defence, defence_stretch)[1]


def dixon_coles_log_likelihood(
    home_goals: jnp.ndarray, away_goals: jnp.ndarray, home_rate: jnp.ndarray, away_rate: jnp.ndarray, rho: jnp.ndarray
) -> jnp.ndarray:
    """log P(score) under Dixon & Coles (1997): two Poisson counts and the low-score correction."""
    return (
        home_goals * jnp.log(home_rate)
        - home_rate
        - gammaln(home_goals + 1.0)
        + away_goals * jnp.log(away_rate)
        - away_rate
        - gammaln(away_goals + 1.0)
        + dixon_coles_log_tau(home_goals, away_goals, home_rate, away_rate, rho)
    )


def dixon_coles_decay(
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    season: jnp.ndarray,
    weight: jnp.ndarray,
    promoted: jnp.ndarray,
    n_teams: int,
    n_seasons: int,
    home_goals: jnp.ndarray | None = None,
    away_goals: jnp.ndarray | None = None,
    statistics: dict[str, jnp.ndarray] | None = None,
    statistics_weight: float = 0.0,
) -> None:
    """Several seasons of goals, time-decayed, with Dixon-Coles low scores and a home edge per season.

    - weight: each match's decay weight, rescaled so that the weights sum to the effective number of
      matches. Raw weights (at most 1) sum to less than that, and the prior then over-shrinks every
      team (seen: the spread of defence strengths halved).
    - promoted: 1 for teams new to the league this season; they share an offset from the mean, so a
      promoted team starts near the teams it replaced rather than at the league average.
    - home advantage varies by season around a common mean (it vanished in 2020-21 without crowds).
    """
    intercept, home_by_season = league_level(n_seasons)
    attack_scale = numpyro.sample("attack_scale", dist.HalfNormal(0.5))
    defence_scale = numpyro.sample("defence_scale", dist.HalfNormal(0.5))
    promoted_attack = numpyro.sample("promoted_attack", dist.Normal(-0.15, 0.15))
    promoted_defence = numpyro.sample("promoted_defence", dist.Normal(0.15, 0.15))
    attack_raw = numpyro.sample("attack_raw", dist.ZeroSumNormal(1.0, event_shape=(n_teams,)))
    defence_raw = numpyro.sample("defence_raw", dist.ZeroSumNormal(1.0, event_shape=(n_teams,)))
    attack = numpyro.deterministic("attack", attack_scale * attack_raw + promoted_attack * promoted)
    defence = numpyro.deterministic("defence", defence_scale * defence_raw + promoted_defence * promoted)
    rho = numpyro.sample("rho", dist.Normal(-0.05, 0.05))
    goals_and_statistics(
        intercept,
        home_by_season[season],
        lambda team: attack[team],
        lambda team: defence[team],
        home_team,
        away_team,
        rho,
        weight,
        home_goals,
        away_goals,
        statistics,
        statistics_weight,
    )


def dixon_coles_periods(
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    season: jnp.ndarray,
    weight: jnp.ndarray,
    played: jnp.ndarray,
    new_team: jnp.ndarray,
    n_teams: int,
    n_seasons: int,
    period: jnp.ndarray,
    season_start: jnp.ndarray,
    predict_period: int,
    home_goals: jnp.ndarray | None = None,
    away_goals: jnp.ndarray | None = None,
    statistics: dict[str, jnp.ndarray] | None = None,
    statistics_weight: float = 0.0,
    walk: bool = False,
    fixed_step: float | None = None,
) -> None:
    """The served dixon_coles_seasons with strengths that also move within a season: a season in
    parts (periods), a second persistence from one part to the next; or, with `walk`
    (dixon_coles_walk), a random walk from one part to the next: every strength moves by
    `within_step` x the spread x noise, no persistence to pin against 1 (the step fitted, or
    `fixed_step`).

    - played, new_team (periods, teams); period (matches): the period each match is in;
      season_start (periods): 1 where a period begins a season; predict_period: the period whose
      strengths predict.
    """
    intercept, home_by_season = league_level(n_seasons)
    between = numpyro.sample("persistence", dist.Beta(8.0, 2.0))
    starts = season_start > 0
    if walk:
        within_step = (
            numpyro.sample("within_step", dist.HalfNormal(0.2)) if fixed_step is None else jnp.asarray(fixed_step)
        )
        persistence = jnp.where(starts, between, 1.0)
        step = jnp.where(starts, jnp.sqrt(1 - between**2), within_step)
    else:
        within = numpyro.sample("persistence_within", dist.Beta(20.0, 1.0))
        persistence, step = jnp.where(starts, between, within), None
    strengths = strengths_by_period(persistence, played, new_team, n_teams, predict_period, step=step)
    attack, defence = strengths["attack"], strengths["defence"]
    rho = numpyro.sample("rho", dist.Normal(-0.05, 0.05))
    goals_and_statistics(
        intercept,
        home_by_season[season],
        lambda team: attack[period, team],
        lambda team: defence[period, team],
        home_team,
        away_team,
        rho,
        weight,
        home_goals,
        away_goals,
        statistics,
        statistics_weight,
    )


def part_of_season(day: date, parts: int) -> int:
    """Which of `parts` equal parts of a season (August to May, ten months) a day is in; June and
    July count with the last part, as they are the end of one season or the eve of the next."""
    months = (day.month - 8) % 12  # August 0 ... May 9
    return min(months * parts // 10, parts - 1)


@dataclass(frozen=True)
class DecayModel(GoalsModel):
    """Strengths fixed across the window; teams new to the predicted season marked as promoted."""

    def model_data(
        self, window: list[Match], seasons: list[str], codes: list[str], predict: list[str], reference: date
    ) -> dict[str, Any]:
        newest = season_teams(window, seasons[-1])
        # The predicted teams are the season being predicted; those absent from the newest season in
        # the data, or from the one before it, are new to the league.
        if predicts_new_season(newest, predict) or len(seasons) == 1:
            previous = newest
        else:
            previous = season_teams(window, seasons[-2])
        promoted = [1.0 if code in predict and code not in previous else 0.0 for code in codes]
        return {**self.decay_data(window, seasons, reference), "promoted": np.array(promoted, dtype=np.float32)}


@dataclass(frozen=True)
class PeriodsModel(SeasonsModel):
    """Every season in `periods_per_season` parts; a team new to a season is new in its first part."""

    def model_data(
        self, window: list[Match], seasons: list[str], codes: list[str], predict: list[str], reference: date
    ) -> dict[str, Any]:
        parts = int(self.settings["periods_per_season"])
        rosters = self.rosters(window, seasons, predict)
        by_season, new_team = season_membership(rosters, codes)
        new_team = np.stack([new_team if part == 0 else np.zeros_like(new_team) for part in range(parts)], 1)
        season_index = {season: position for position, season in enumerate(seasons)}
        predicting_new_season = len(rosters) > len(seasons)
        data = self.decay_data(window, seasons, reference)
        data["period"] = np.array(
            [season_index[m.season] * parts + part_of_season(m.date, parts) for m in window], dtype=np.int32
        )
        data["season_start"] = np.tile(np.eye(1, parts)[0], len(rosters)).astype(np.float32)
        # The predicted season's first part when predicting a new one (its eve may be in July).
        predict_part = 0 if predicting_new_season else part_of_season(reference, parts)
        data["predict_period"] = (len(rosters) - 1) * parts + predict_part
        played = np.repeat(by_season, parts, axis=0)
        data["played"], data["new_team"] = played.astype(np.float32), new_team.reshape(played.shape).astype(np.float32)
        if self.settings.get("walk"):
            data["walk"] = True
            if self.settings.get("within_step") is not None:
                data["fixed_step"] = float(self.settings["within_step"])
        return data


_SERVED = MODELS["dixon_coles_seasons"]
_DECAY_SITES = ("intercept", "home_by_season", "rho", "attack", "defence", "attack_scale", "defence_scale")
# Issue 23's leads (research/NOTEBOOK.md), in the served model and in the rating: total shots as one more
# statistic, and matches with a sending-off (HR/AR: home and away red cards).
TOTAL_SHOTS = {"shots": ("HS", "AS")}
RED_CARDS = ("HR", "AR")


def sent_off(match: Match) -> bool:
    """Whether anyone was sent off; a file without the cards' columns says no."""
    return sum(match.numbers.get(column) or 0.0 for column in RED_CARDS) > 0


@dataclass(frozen=True)
class RedCardsModel(SeasonsModel):
    """The served model in which a match with a sending-off weighs `red_card_weight` of another match in
    the likelihood (goals and statistics), before the decay weights are rescaled to the effective number
    of matches. A file without the cards' columns leaves every match at full weight."""

    def decay_data(self, window: list[Match], seasons: list[str], reference: date) -> dict[str, Any]:
        data = super().decay_data(window, seasons, reference)
        red = np.array([sent_off(m) for m in window])
        weight = data["weight"].astype(np.float64) * np.where(red, float(self.settings["red_card_weight"]), 1.0)
        data["weight"] = (weight * weight.sum() / np.square(weight).sum()).astype(np.float32)
        return data


RESEARCH_MODELS: dict[str, GoalsModel] = {
    **MODELS,
    "dixon_coles_decay": DecayModel(
        "dixon_coles_decay", dixon_coles_decay, {"seasons": 4, "decay_per_day": 0.0018}, _DECAY_SITES
    ),
    "dixon_coles_stats": DecayModel(
        "dixon_coles_stats",
        dixon_coles_decay,
        {**_SERVED.settings, "statistics_weight": 0.25},
        _DECAY_SITES,
    ),
    "dixon_coles_periods": PeriodsModel(
        "dixon_coles_periods",
        dixon_coles_periods,
        {**_SERVED.settings, "periods_per_season": 5},
        (*_SERVED.diagnosed_sites, "persistence_within"),
        draws=(500, 500),
    ),
    "dixon_coles_walk": PeriodsModel(
        "dixon_coles_walk",
        dixon_coles_periods,
        # Three parts (August-November, December-February, March-May); the step fixed at 0.2 of the spread
        # a part, the mean of its posterior medians (0.24, 0.13, 0.19) on three development windows, as a
        # fitted step mixes slowly (research/NOTEBOOK.md).
        {**_SERVED.settings, "periods_per_season": 3, "walk": True, "within_step": 0.2},
        _SERVED.diagnosed_sites,
        draws=(500, 500),
    ),
}


def with_settings(name: str, **settings: Any) -> GoalsModel:
    """A research model with some settings changed; `within_step=None` fits the walk's step (and diagnoses it)."""
    from dataclasses import replace

    model = RESEARCH_MODELS[name]
    sites = model.diagnosed_sites
    if "within_step" in settings and settings["within_step"] is None:
        sites = (*sites, "within_step")
    return replace(model, settings={**model.settings, **settings}, diagnosed_sites=sites)


def main(argv: list[str] | None = None) -> int:
    """One cold fit of a research model on some files, with its time, diagnostics and the quantiles of its
    persistences and step (`python -m research.models dixon_coles_walk --within-step fit data/...csv`); or,
    with --warm-from or --save, one fit as the service fits (warm from last week's posterior, the gate
    reporting but never refusing)."""
    import argparse
    import sys
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m research.models", description=main.__doc__)
    parser.add_argument("model", choices=sorted(RESEARCH_MODELS))
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--within-step", help="the walk's step a part, or 'fit' to fit it")
    parser.add_argument("--parts", type=int, help="parts a season (dixon_coles_walk, dixon_coles_periods)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm-from", type=Path, help="warm start from this posterior's adaptation (last week's)")
    parser.add_argument("--save", type=Path, help="write the posterior here")
    args = parser.parse_args(argv)
    if args.within_step is not None and not RESEARCH_MODELS[args.model].settings.get("walk"):
        parser.error(f"--within-step is the walk's; {args.model} has no step")
    from services.fit import configure_jax

    configure_jax()  # four CPU devices and the compilation cache, before JAX computes
    from matchodds.core.adaptation import posterior_adaptation
    from matchodds.core.posterior import decode_posterior, encode_posterior
    from matchodds.core.results import read_results
    from services.fit.inference import Diagnostics, QualityGate, diagnose, fit_posterior, sample, sampler_for

    changes: dict[str, Any] = {}
    if args.within_step is not None:
        changes["within_step"] = None if args.within_step == "fit" else float(args.within_step)
    if args.parts is not None:
        changes["periods_per_season"] = args.parts
    model = with_settings(args.model, **changes)
    matches = read_results(args.files)
    if args.warm_from is None and args.save is None:  # a look at the parameters the posterior does not export
        started = time.perf_counter()
        prepared = model.prepare(matches)
        samples, divergences = sample(model, prepared.data, sampler_for(model, seed=args.seed))
        seconds = time.perf_counter() - started
        print(f"{model.name}: {seconds:.1f} s, {diagnose(samples, model.diagnosed_sites, divergences)}")
        for site in ("persistence", "persistence_within", "within_step"):
            if site in samples:
                low, middle, high = np.quantile(np.asarray(samples[site]), [0.05, 0.5, 0.95])
                print(f"{site}: median {middle:.3f}, 90 % {low:.3f} to {high:.3f}")
        return 0
    previous = posterior_adaptation(decode_posterior(args.warm_from.read_bytes())) if args.warm_from else None
    never_refuses = QualityGate(max_r_hat=float("inf"), min_bulk_ess=-float("inf"), max_divergences=sys.maxsize)
    started = time.perf_counter()
    posterior = fit_posterior(
        matches, model, matches[-1].competition, sampler_for(model, seed=args.seed), never_refuses, previous=previous
    )
    seconds = time.perf_counter() - started
    sampler = posterior.meta["sampler"]
    print(
        f"{model.name}: {seconds:.1f} s, {sampler['chains']} x ({sampler['warmup']} + {sampler['samples']}), "
        f"{Diagnostics(**posterior.meta['diagnostics'])}"
    )
    if args.save:
        args.save.write_bytes(encode_posterior(posterior))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
