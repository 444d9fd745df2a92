"""The served fit with the knobs a backtest turns, wrapped around the service's own pieces.

The service always predicts the season's roster and warms up as services.fit.warm says. A backtest
names the teams of the week it predicts (a new season's first week, promoted teams included), and a
run may try another warm warmup, or a warm fit that keeps the cold fit's draws instead of spending the
warmup it saves on more. Each fit is services.fit.inference.fit_prepared, the service's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from matchodds.core.adaptation import Adaptation
from matchodds.core.posterior import Posterior
from matchodds.core.results import Fixture, Match
from matchodds.core.roster import season_roster
from matchodds.core.teams import TeamTable
from services.fit.inference import QualityGate, SamplerSettings, fit_prepared, with_roster
from services.fit.model import GoalsModel
from services.fit.warm import WARM_WARMUP

# The service's defaults (services.fit.inference.fit_posterior's).
SERVED_SAMPLER, SERVED_GATE = SamplerSettings(), QualityGate()
# The service's warm fit spends the warmup iterations it saves on draws (services.fit.warm.warm_sampler).
WARM_SPENDS_SAVED_WARMUP = True


def warm_sampler(
    sampler: SamplerSettings, warm_warmup: int, spend_saved: bool = WARM_SPENDS_SAVED_WARMUP
) -> SamplerSettings:
    """A warm fit's sampler: `warm_warmup` warmup iterations (never more than a cold fit's) and, when
    `spend_saved`, the cold fit's draws plus the warmup iterations that saves: the same iterations in all."""
    warmup = min(warm_warmup, sampler.warmup)
    samples = sampler.samples + (sampler.warmup - warmup if spend_saved else 0)
    return replace(sampler, warmup=warmup, samples=samples)


def fit_posterior(
    matches: Sequence[Match],
    model: GoalsModel,
    competition: str,
    sampler: SamplerSettings = SERVED_SAMPLER,
    gate: QualityGate = SERVED_GATE,
    teams: TeamTable | None = None,
    now: datetime | None = None,
    predict_teams: Sequence[str] | None = None,
    as_of: date | None = None,
    fixtures: Sequence[Fixture] = (),
    previous: Adaptation | None = None,
    warm_warmup: int = WARM_WARMUP,
    warm_spends_saved_warmup: bool = WARM_SPENDS_SAVED_WARMUP,
) -> Posterior:
    """services.fit.inference.fit_posterior, predicting `predict_teams` when given (else the season's
    roster, as the service does), a warm fit run with `warm_warmup` warmup iterations and, with
    `warm_spends_saved_warmup`, the iterations that saves spent on draws."""
    roster = season_roster(matches, fixtures) if predict_teams is None else None
    prepared = model.prepare(matches, roster.teams if roster else predict_teams, as_of)
    warm = warm_sampler(sampler, warm_warmup, warm_spends_saved_warmup)
    posterior = fit_prepared(prepared, model, competition, sampler, gate, teams, now, previous, warm)
    return posterior if roster is None else with_roster(posterior, roster, matches, fixtures)
