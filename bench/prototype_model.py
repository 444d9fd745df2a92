"""THE PROTOTYPE'S MODEL, NOT SERVED: kept here only so the fit benchmark can show what replaced it.

Independent Poisson goals, log rate home = intercept + home + attack[h] + defence[a] and log rate
away = intercept + attack[a] + defence[h]; attack and defence ~ Normal(0, tau) with tau ~ Gamma(0.1,
0.1) as their scale, home ~ Normal(0, tau_home) (tau_home given the same Gamma(0.1, 0.1) prior, which
the prototype's description leaves unstated), intercept ~ Normal(0, 0.1); centred, and no sum-to-zero
constraint, so attack, defence and the intercept trade off freely. Sampled as the prototype did: NUTS,
one chain, 1500 warmup, 50 draws.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from services.fit.inference import SamplerSettings
from services.fit.model import GoalsModel, Prepared

PROTOTYPE_SAMPLER = SamplerSettings(chains=1, warmup=1500, samples=50)


def prototype_poisson(
    home_team: jnp.ndarray,
    away_team: jnp.ndarray,
    n_teams: int,
    home_goals: jnp.ndarray | None = None,
    away_goals: jnp.ndarray | None = None,
) -> None:
    """The prototype's goals model (see the module docstring); not served."""
    intercept = numpyro.sample("intercept", dist.Normal(0.0, 0.1))
    tau = numpyro.sample("tau", dist.Gamma(0.1, 0.1))
    tau_home = numpyro.sample("tau_home", dist.Gamma(0.1, 0.1))
    home = numpyro.sample("home", dist.Normal(0.0, tau_home))
    with numpyro.plate("teams", n_teams):
        attack = numpyro.sample("attack", dist.Normal(0.0, tau))
        defence = numpyro.sample("defence", dist.Normal(0.0, tau))
    log_home_rate = intercept + home + attack[home_team] + defence[away_team]
    log_away_rate = intercept + attack[away_team] + defence[home_team]
    with numpyro.plate("matches", home_team.shape[0]):
        numpyro.sample("home_goals", dist.Poisson(jnp.exp(log_home_rate)), obs=home_goals)
        numpyro.sample("away_goals", dist.Poisson(jnp.exp(log_away_rate)), obs=away_goals)


class PrototypeModel(GoalsModel):
    """The prototype's model in the fit's interface; its draws mapped to the posterior contract."""

    def prediction_draws(self, samples: dict[str, np.ndarray], prepared: Prepared) -> dict[str, np.ndarray]:
        # The contract splits the home edge: intercept + home/2 at home, intercept - home/2 away.
        keep = [prepared.team_codes.index(code) for code in prepared.predict_codes]
        draws = {
            "intercept": samples["intercept"] + samples["home"] / 2,
            "home": samples["home"],
            "attack": samples["attack"][..., keep],
            "defence": samples["defence"][..., keep],
        }
        return {name: np.asarray(value, dtype=np.float32) for name, value in draws.items()}


PROTOTYPE_MODEL = PrototypeModel(
    "prototype_poisson",
    prototype_poisson,
    {"seasons": 1},
    ("intercept", "home", "tau", "tau_home", "attack", "defence"),
)
