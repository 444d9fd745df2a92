"""The research model variants: their data, and what they were tried for (on synthetic seasons)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from research.models import RESEARCH_MODELS as MODELS
from research.models import main, part_of_season, strengths_by_period, with_settings
from services.fit.inference import QualityGate, fit_posterior
from services.fit.model import GoalsModel
from tests.fit.test_fit import CODES, SMALL, TRUE_ATTACK, synthetic_seasons

pytestmark = pytest.mark.research


def test_parts_of_seasons_split_august_to_may_and_keep_june_and_july_with_the_last() -> None:
    parts = [part_of_season(date(2024, month, 15), 5) for month in (8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7)]
    assert parts == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4]
    assert {part_of_season(date(2024, month, 1), 1) for month in range(1, 13)} == {0}


def test_strengths_by_period_split_each_season_and_start_new_teams_in_its_first_part() -> None:
    model = MODELS["dixon_coles_periods"]
    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK], rounds=1)  # all on 10 August of each season
    matches = [replace(m, date=m.date + timedelta(days=60 * (i % 2))) for i, m in enumerate(matches)]  # half in October
    matches = [m for m in matches if not (m.season == "2022-23" and "ARS" in (m.home, m.away))]
    prepared = model.prepare(matches, predict_teams=[*CODES[2:], "NEW"])
    data, codes = prepared.data, prepared.team_codes
    assert data["played"].shape == data["new_team"].shape == (15, len(codes))  # 2 seasons + the next, 5 parts
    assert data["season_start"].tolist() == [1, 0, 0, 0, 0] * 3
    assert data["new_team"][10, codes.index("NEW")] == 1 and data["new_team"].sum() == 1
    assert data["played"][:5, codes.index("ARS")].all() and not data["played"][5:, codes.index("ARS")].any()
    assert data["predict_period"] == 10  # the new season's first part
    expected = [
        season * 5 + part_of_season(m.date, 5) for season, m in zip(data["season"], prepared.window, strict=True)
    ]
    assert data["period"].tolist() == expected and set(expected) == {0, 1, 5, 6}
    # Within the newest season, the part of the last match predicts.
    assert model.prepare(matches).data["predict_period"] == 6


def test_strengths_by_season_follow_a_team_that_changed_more_than_a_static_fit_does() -> None:
    changed = TRUE_ATTACK.copy()
    changed[0], changed[-1] = TRUE_ATTACK[-1], TRUE_ATTACK[0]  # the weakest attack became the best
    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK, changed])
    loose = QualityGate(max_r_hat=1.05, min_bulk_ess=100)
    seasons = fit_posterior(matches, MODELS["dixon_coles_seasons"], "E0", SMALL, loose)
    static = fit_posterior(matches, MODELS["dixon_coles_stats"], "E0", SMALL, loose)
    first, last = seasons.team_codes.index(CODES[0]), seasons.team_codes.index(CODES[-1])
    for posterior in (seasons, static):
        attack = posterior.flat("attack").mean(axis=0)
        assert attack[first] > attack[last]  # both see the change...
    seasons_gap = np.diff(seasons.flat("attack").mean(axis=0)[[last, first]])[0]
    static_gap = np.diff(static.flat("attack").mean(axis=0)[[last, first]])[0]
    assert seasons_gap > static_gap + 0.25  # ...the seasons model follows it further (truth: 0.7)


def test_the_walk_moves_each_strength_by_its_step_within_a_season_and_by_the_ar1_between_seasons() -> None:
    import jax.numpy as jnp  # after conftest's configure_jax(), which sets JAX's devices
    from numpyro import handlers

    played, new_team = np.ones((4, 3)), np.zeros((4, 3))  # two seasons of two parts, three teams
    raw = np.array([[1.0, -1.0, 0.0], [0.5, 0.0, -0.5], [2.0, 0.0, -2.0], [0.0, 1.0, -1.0]])
    values = {"attack_scale": 0.4, "attack_raw": raw, "defence_scale": 0.4, "defence_raw": raw}
    persistence = jnp.array([1.0, 1.0, 0.8, 1.0])  # the second season starts at row 2
    step = jnp.array([0.0, 0.2, 0.6, 0.2])
    with handlers.seed(rng_seed=0), handlers.substitute(data=values):
        attack = np.asarray(strengths_by_period(persistence, played, new_team, 3, step=step)["attack"])
    expected = [0.4 * raw[0]]
    expected.append(expected[0] + 0.4 * 0.2 * raw[1])  # a random walk within the season
    expected.append(0.8 * expected[1] + 0.4 * 0.6 * raw[2])  # the AR(1) into the next
    expected.append(expected[2] + 0.4 * 0.2 * raw[3])
    assert np.allclose(attack, np.array(expected) - np.mean(expected, axis=1, keepdims=True), atol=1e-6)


def test_the_walk_fixes_its_step_unless_told_to_fit_it() -> None:
    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK], rounds=1)
    walk = MODELS["dixon_coles_walk"]
    assert walk.prepare(matches).data["fixed_step"] == 0.2 and "within_step" not in walk.diagnosed_sites
    fitted = with_settings("dixon_coles_walk", within_step=None)
    assert "fixed_step" not in fitted.prepare(matches).data and "within_step" in fitted.diagnosed_sites
    assert fitted.prepare(matches).data["played"].shape[0] == 2 * 3  # two seasons of three parts
    with pytest.raises(SystemExit):  # the periods model has no step to fix
        main(["dixon_coles_periods", "--within-step", "0.2", "data/football-data/E0/2024-25.csv"])


def attack_gaps_after_a_change_in_february(models: dict[str, GoalsModel]) -> dict[str, float]:
    """Each model's predicted gap between the two teams whose attacks swapped in February of the second
    season (truth: 0.7, from -0.35 to +0.35 and back), fitted on the seasons until then."""
    changed = TRUE_ATTACK.copy()
    changed[0], changed[-1] = TRUE_ATTACK[-1], TRUE_ATTACK[0]  # the weakest attack became the best...
    before, early, late = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK, changed]), [], []
    for m in before:
        if m.season == "2022-23":  # ...in February of the second season
            early.append(m)
        elif m.season == "2023-24":
            late.append(replace(m, season="2022-23", date=date(2023, 2, 10)))
    matches = [m for m in before if m.season == "2021-22"] + early + late
    loose = QualityGate(max_r_hat=1.05, min_bulk_ess=100)
    gaps = {}
    for label, model in models.items():
        posterior = fit_posterior(matches, model, "E0", SMALL, loose)
        attack = posterior.flat("attack").mean(axis=0)
        gaps[label] = attack[posterior.team_codes.index(CODES[0])] - attack[posterior.team_codes.index(CODES[-1])]
    return gaps


def test_strengths_by_period_follow_a_change_within_a_season_further_than_strengths_by_season() -> None:
    gaps = attack_gaps_after_a_change_in_february(
        {name: MODELS[name] for name in ("dixon_coles_periods", "dixon_coles_seasons")}
    )
    assert gaps["dixon_coles_periods"] > gaps["dixon_coles_seasons"] + 0.25


def test_the_walk_follows_a_change_within_a_season_as_far_as_its_step_lets_it() -> None:
    gaps = attack_gaps_after_a_change_in_february(
        {
            "seasons": MODELS["dixon_coles_seasons"],
            "walk": MODELS["dixon_coles_walk"],  # a step of 0.2 of the spread a part: slow, as the data say
            "walk, step 1": with_settings("dixon_coles_walk", within_step=1.0),
        }
    )
    assert gaps["walk, step 1"] > gaps["seasons"] + 0.25
    assert gaps["seasons"] < gaps["walk"] < gaps["walk, step 1"]


def test_a_team_yet_to_play_this_season_is_neither_promoted_nor_the_start_of_a_new_season() -> None:
    # E0 2020-21: four clubs began a week late; in week two they had no match yet this season.
    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK], rounds=1)
    late = CODES[0]
    matches = [m for m in matches if m.season == "2021-22" or late not in (m.home, m.away)][: 132 + 20]
    assert late not in {m.home for m in matches if m.season == "2022-23"} | {
        m.away for m in matches if m.season == "2022-23"
    }
    static = MODELS["dixon_coles_stats"].prepare(matches, predict_teams=CODES)
    assert static.data["promoted"].sum() == 0
    seasons = MODELS["dixon_coles_seasons"].prepare(matches, predict_teams=CODES)
    assert seasons.data["played"].shape == (2, len(CODES)) and seasons.data["new_team"].sum() == 0
    # A real new season (one team relegated, one promoted) still is one.
    promoted = MODELS["dixon_coles_stats"].prepare(matches, predict_teams=[*CODES[2:], "NEW"])
    assert promoted.data["promoted"][promoted.team_codes.index("NEW")] == 1 and promoted.data["promoted"].sum() == 1


def test_a_match_with_a_sending_off_weighs_the_red_card_weight_of_another_match() -> None:
    from research.model_quality import with_red_card_weight

    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK], rounds=1)
    sent_off = {5, 17, len(matches) - 2}
    matches = [replace(m, numbers={"HR": 1.0 if i in sent_off else 0.0, "AR": 0.0}) for i, m in enumerate(matches)]
    served = MODELS["dixon_coles_seasons"].prepare(matches).data["weight"].astype(np.float64)
    variant = MODELS[with_red_card_weight("dixon_coles_seasons", 0.4)].prepare(matches).data["weight"]
    ratio = variant / served
    others = np.array([i not in sent_off for i in range(len(matches))])
    assert np.allclose(ratio[others], ratio[others][0], rtol=1e-5)  # the decay unchanged between the others
    assert np.allclose(ratio[~others], 0.4 * ratio[others][0], rtol=1e-5)
    assert np.isclose(variant.sum(), np.square(variant.sum()) / np.square(variant).sum(), rtol=1e-5)  # effective n


def test_the_total_shots_variant_reads_them_as_a_third_statistic() -> None:
    from research.model_quality import with_total_shots

    numbers = {"HST": 4.0, "AST": 3.0, "HC": 5.0, "AC": 4.0, "HS": 12.0, "AS": 9.0}
    matches = [replace(m, numbers=numbers) for m in synthetic_seasons([TRUE_ATTACK], rounds=1)]
    statistics = MODELS[with_total_shots("dixon_coles_seasons")].prepare(matches).data["statistics"]
    assert set(statistics) == {"shots_on_target", "corners", "shots"}
    assert (statistics["shots"] == [12.0, 9.0, 1.0]).all()
