"""Goals models in numpyro, each a plain function of its data so that one function fits and predicts.

A model is a swappable piece: `MODELS` maps a name to a `GoalsModel`, which knows how to turn matches
into the model's arrays and how to export the draws that predict the next match in the names the
posterior contract defines (intercept, home, attack, defence; see matchodds.contract).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from matchodds.results import Match

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


@dataclass(frozen=True)
class GoalsModel:
    """A model, how its data are made from matches, and which draws predict the next match."""

    name: str
    function: Callable[..., None]
    settings: dict[str, Any] = field(default_factory=dict)

    def window(self, matches: Sequence[Match]) -> list[Match]:
        """The matches this model fits on: the newest `seasons` seasons."""
        seasons = sorted({match.season for match in matches})[-int(self.settings.get("seasons", 1)) :]
        return [match for match in matches if match.season in seasons]

    def data(self, matches: Sequence[Match], team_codes: Sequence[str]) -> dict[str, Any]:
        index = {code: position for position, code in enumerate(team_codes)}
        return {
            "home_team": np.array([index[match.home] for match in matches], dtype=np.int32),
            "away_team": np.array([index[match.away] for match in matches], dtype=np.int32),
            "n_teams": len(team_codes),
            "home_goals": np.array([match.home_goals for match in matches], dtype=np.int32),
            "away_goals": np.array([match.away_goals for match in matches], dtype=np.int32),
        }

    def prediction_draws(self, samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The draws the posterior contract names, shaped (chains, draws, ...)."""
        return {
            name: np.asarray(samples[name], dtype=np.float32) for name in ("intercept", "home", "attack", "defence")
        }

    @property
    def diagnosed_sites(self) -> tuple[str, ...]:
        return ("intercept", "home", "attack_scale", "defence_scale", "attack", "defence")


MODELS: dict[str, GoalsModel] = {
    "poisson_static": GoalsModel("poisson_static", poisson_goals, {"seasons": 1}),
}
DEFAULT_MODEL = "poisson_static"
