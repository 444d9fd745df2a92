"""Warm start (issue 22): a fit starts from the sampler adaptation its competition's last fit stored,
maps it onto a changed team set, and warms up cold when it cannot or when the warm fit fails the gate.

One cold fit (a module fixture) stands for last week's; the tests fit this week's matches from it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matchodds.core.adaptation import Adaptation, ChainAdaptation, posterior_adaptation
from matchodds.core.results import Match
from research.fitting import fit_posterior, warm_sampler
from services.fit.inference import QualityGate, SamplerSettings
from services.fit.model import MODELS
from services.fit.warm import CannotMap, warm_start
from tests.fit.test_fit import synthetic_season

pytestmark = pytest.mark.fit
MODEL = MODELS["dixon_coles_seasons"]
COLD = SamplerSettings(chains=2, warmup=150, samples=150, seed=7)
# Loose: these tests are about which start the sampler takes, not how well tiny runs mix.
LOOSE = QualityGate(max_r_hat=1.2, min_bulk_ess=20)
WARM_WARMUP = 50
THIS_WEEK = synthetic_season(rounds=2)
LAST_WEEK = THIS_WEEK[:-12]  # one round of matches fewer


@pytest.fixture(scope="module")
def last_week() -> Adaptation:
    """The adaptation a cold fit of last week's matches stored in its posterior."""
    posterior = fit_posterior(LAST_WEEK, MODEL, "E0", COLD, LOOSE)
    assert posterior.meta["warm_start"] == {"used": False, "tried": False, "note": "no stored adaptation"}
    adaptation = posterior_adaptation(posterior)
    assert adaptation is not None
    return adaptation


def test_a_fit_starts_from_the_stored_adaptation_with_a_short_warmup(last_week: Adaptation) -> None:
    posterior = fit_posterior(
        THIS_WEEK, MODEL, "E0", COLD, LOOSE, previous=last_week, warm_warmup=WARM_WARMUP, warm_spends_saved_warmup=False
    )
    meta = posterior.meta
    assert meta["warm_start"]["used"] is True and meta["attempts"] == 1
    assert meta["sampler"]["warmup"] == WARM_WARMUP and meta["sampler"]["samples"] == COLD.samples
    # The same teams and seasons: every value is the stored one.
    start = warm_start(last_week, MODEL, MODEL.prepare(THIS_WEEK), COLD.chains)
    assert start.mapped_share == 1.0
    for chain, stored in enumerate(last_week.chains):
        assert start.step_size[chain] == stored.step_size
        for site, values in stored.position.items():
            np.testing.assert_array_equal(start.position[site][chain].ravel(), values)
            np.testing.assert_array_equal(start.inverse_mass[site][chain].ravel(), stored.inverse_mass[site])
    # And it leaves its own adaptation for next week.
    stored_now = posterior_adaptation(posterior)
    assert stored_now is not None and len(stored_now.chains) == COLD.chains


def test_a_warm_fit_spends_the_warmup_it_saves_on_draws_when_told(last_week: Adaptation) -> None:
    spent = fit_posterior(
        THIS_WEEK, MODEL, "E0", COLD, LOOSE, previous=last_week, warm_warmup=WARM_WARMUP, warm_spends_saved_warmup=True
    )
    assert spent.meta["warm_start"]["used"] is True and spent.meta["attempts"] == 1
    # As many iterations as the cold fit (150 + 150): the 100 warmup iterations saved become draws.
    assert (spent.meta["sampler"]["warmup"], spent.meta["sampler"]["samples"]) == (WARM_WARMUP, 250)
    assert spent.draws["attack"].shape[:2] == (COLD.chains, 250)
    # A warm warmup longer than the cold fit's is cut to it, and nothing is added to the draws.
    assert (warm_sampler(COLD, 400, True).warmup, warm_sampler(COLD, 400, True).samples) == (150, 150)
    assert (warm_sampler(COLD, 50, False).warmup, warm_sampler(COLD, 50, False).samples) == (50, 150)


def test_a_promoted_team_is_mapped_by_code_and_starts_at_the_median(last_week: Adaptation) -> None:
    """One club replaced by another: every other team keeps its stored values, the new one starts at 0."""
    gone, new = "LIV", "SUN"
    renamed = [
        Match(
            m.competition,
            m.season,
            m.date,
            new if m.home == gone else m.home,
            new if m.away == gone else m.away,
            m.home_goals,
            m.away_goals,
        )
        for m in THIS_WEEK
    ]
    prepared = MODEL.prepare(renamed)
    start = warm_start(last_week, MODEL, prepared, COLD.chains)
    assert 0.5 < start.mapped_share < 1.0
    old_codes, new_codes = last_week.axes["team"], tuple(prepared.team_codes)
    stored = last_week.chains[0]
    shape = last_week.sites["attack_raw"]
    old_attack = np.asarray(stored.position["attack_raw"]).reshape(shape)
    old_mass = np.asarray(stored.inverse_mass["attack_raw"]).reshape(shape)
    for index, code in enumerate(new_codes):
        if code == new:
            assert np.all(start.position["attack_raw"][0][:, index] == 0)
            assert np.all(start.inverse_mass["attack_raw"][0][:, index] == np.median(old_mass))
        else:
            np.testing.assert_array_equal(
                start.position["attack_raw"][0][:, index], old_attack[:, old_codes.index(code)]
            )


def test_a_layout_it_cannot_map_warms_up_cold(last_week: Adaptation) -> None:
    # Another model's adaptation, a changed set of sites, a zero-sum site (not per team) whose teams changed.
    with pytest.raises(CannotMap, match="poisson_static"):
        warm_start(replace(last_week, model="poisson_static"), MODEL, MODEL.prepare(THIS_WEEK), 2)
    fewer = {name: shape for name, shape in last_week.sites.items() if name != "rho"}
    with pytest.raises(CannotMap, match="rho"):
        warm_start(replace(last_week, sites=fewer), MODEL, MODEL.prepare(THIS_WEEK), 2)
    static = MODELS["poisson_static"]
    static_sites = {
        "intercept": (),
        "home": (),
        "attack_scale": (),
        "defence_scale": (),
        "attack_raw": (11,),
        "defence_raw": (11,),
    }
    static_adaptation = Adaptation(
        model="poisson_static",
        sites=static_sites,
        axes={**last_week.axes, "team": ("AAA", *last_week.axes["team"][1:])},  # one team replaced
        chains=(
            ChainAdaptation(
                step_size=0.1,
                inverse_mass={site: [1.0] * max(1, sum(shape)) for site, shape in static_sites.items()},
                position={site: [0.0] * max(1, sum(shape)) for site, shape in static_sites.items()},
            ),
        ),
    )
    with pytest.raises(CannotMap, match="attack_raw"):
        warm_start(static_adaptation, static, static.prepare(THIS_WEEK), 2)
    # And the fit itself: it says why, runs cold and still publishes.
    posterior = fit_posterior(
        THIS_WEEK, MODEL, "E0", COLD, LOOSE, previous=replace(last_week, sites=fewer), warm_warmup=WARM_WARMUP
    )
    assert posterior.meta["warm_start"]["used"] is False and posterior.meta["warm_start"]["tried"] is True
    assert posterior.meta["warm_start"]["note"].startswith("cold: the sampled sites changed")
    assert posterior.meta["sampler"]["warmup"] == COLD.warmup and posterior.meta["attempts"] == 1


def test_a_warm_fit_that_fails_the_gate_is_refitted_cold(last_week: Adaptation) -> None:
    """Chains started far from the posterior, with two warmup steps, cannot pass: the cold fit publishes."""
    poisoned = replace(
        last_week,
        chains=tuple(
            ChainAdaptation(
                step_size=chain.step_size,
                inverse_mass=chain.inverse_mass,
                position={
                    site: [(-1) ** index * 25.0 * (index + 1)] * len(values) if site.endswith("_raw") else values
                    for site, values in chain.position.items()
                },
            )
            for index, chain in enumerate(last_week.chains)
        ),
    )
    posterior = fit_posterior(THIS_WEEK, MODEL, "E0", COLD, LOOSE, previous=poisoned, warm_warmup=2)
    meta = posterior.meta
    assert meta["warm_start"]["tried"] is True and meta["warm_start"]["used"] is False
    assert meta["attempts"] == 2 and meta["sampler"]["warmup"] == COLD.warmup
