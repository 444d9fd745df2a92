"""A fit whose season breaks the season record's limits publishes its odds without a table (issue 31).

45 teams in a season's results and 2,500 fixtures named for it: the fit sampled, then season_record
raised ContractError uncaught, and nothing was published, that week or any later one.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from itertools import permutations

import pytest

from matchodds.core.posterior import decode_posterior, encode_posterior
from matchodds.core.projection import project_posterior
from matchodds.core.results import Fixture, Match
from matchodds.core.season import SEASON_META_KEY
from services.fit.inference import QualityGate, SamplerSettings, fit_posterior
from services.fit.model import MODELS
from tests.fit.test_fit import CODES, synthetic_season

pytestmark = pytest.mark.fit
TINY = SamplerSettings(chains=2, warmup=100, samples=100, seed=5)
LOOSE = QualityGate(max_r_hat=1.3, min_bulk_ess=10)  # about what is published, not how well tiny runs mix


def test_a_season_of_45_teams_and_2500_fixtures_publishes_odds_without_a_table(
    caplog: pytest.LogCaptureFixture,
) -> None:
    newcomers = [f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(33)]
    matches = synthetic_season(rounds=2) + [
        Match("E0", "2024-25", date(2024, 12, 1) + timedelta(days=i), team, CODES[i % len(CODES)], 1, 1)
        for i, team in enumerate(newcomers)
    ]
    pairings = list(permutations(CODES, 2))
    fixtures = [Fixture("E0", date(2025, 1, 1) + timedelta(days=n // 132), *pairings[n % 132]) for n in range(2500)]
    with caplog.at_level(logging.WARNING):
        posterior = fit_posterior(matches, MODELS["poisson_static"], "E0", TINY, LOOSE, fixtures=fixtures)
    assert len(posterior.team_codes) == 45
    assert SEASON_META_KEY not in posterior.meta and "no season record for 2024-25" in caplog.text
    published = decode_posterior(encode_posterior(posterior))  # what precompute reads: odds, and no table
    assert published.team_codes == posterior.team_codes and project_posterior(published) is None
