"""The fit on synthetic matches with known strengths, the quality gate, and the entry point over moto."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import boto3
import jax
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import log_density

from matchodds.core.posterior import Posterior, decode_posterior
from matchodds.core.projection import project_posterior
from matchodds.core.results import Match, read_results_file
from matchodds.core.season import SEASON_META_KEY, SeasonRecord
from services.fit.inference import (
    MATCH_ROWS,
    QualityGate,
    QualityGateError,
    SamplerSettings,
    fit_posterior,
    pad_matches,
    sample,
    sampler_for,
)
from services.fit.main import main as fit_main
from services.fit.model import MODELS, Prepared, poisson_kernel

pytestmark = pytest.mark.fit
CODES = ("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY", "EVE", "FUL", "IPS", "LEI", "LIV")
TRUE_HOME = 0.4
TRUE_ATTACK = np.linspace(-0.35, 0.35, len(CODES))
TRUE_DEFENCE = -np.linspace(-0.25, 0.25, len(CODES))
SAMPLE_SEASON = Path(__file__).parents[2] / "matchodds" / "data" / "sample" / "E0-2024-25.csv"
SMALL = SamplerSettings(chains=2, warmup=300, samples=300, seed=11)


def synthetic_season(rounds: int = 4, seed: int = 3) -> list[Match]:
    rng = np.random.default_rng(seed)
    matches, day = [], date(2024, 8, 10)
    for _ in range(rounds):
        for h, home in enumerate(CODES):
            for a, away in enumerate(CODES):
                if h == a:
                    continue
                base = np.log(1.4)
                home_rate = np.exp(base + TRUE_HOME / 2 + TRUE_ATTACK[h] + TRUE_DEFENCE[a])
                away_rate = np.exp(base - TRUE_HOME / 2 + TRUE_ATTACK[a] + TRUE_DEFENCE[h])
                matches.append(
                    Match("E0", "2024-25", day, home, away, int(rng.poisson(home_rate)), int(rng.poisson(away_rate)))
                )
                day += timedelta(hours=6)
    return matches


def test_recovers_a_known_home_advantage_and_the_order_of_strengths() -> None:
    posterior = fit_posterior(
        synthetic_season(), MODELS["poisson_static"], "E0", SMALL, QualityGate(max_r_hat=1.05, min_bulk_ess=100)
    )
    assert posterior.team_codes == tuple(sorted(CODES))
    home = posterior.flat("home")
    assert abs(home.mean() - TRUE_HOME) < 0.12 and np.quantile(home, 0.05) > 0.2
    order = [CODES.index(code) for code in posterior.team_codes]
    attack, defence = posterior.flat("attack").mean(axis=0), posterior.flat("defence").mean(axis=0)
    assert np.corrcoef(attack, TRUE_ATTACK[order])[0, 1] > 0.9
    assert np.corrcoef(defence, TRUE_DEFENCE[order])[0, 1] > 0.8
    assert abs(attack.sum()) < 1e-4  # zero-sum strengths
    meta = posterior.meta
    assert meta["seed"] == 11 and meta["data_window"]["matches"] == 4 * 12 * 11
    assert meta["attempts"] == 1  # the first fit passed: no rerun
    assert set(meta["diagnostics"]) >= {"max_r_hat", "min_bulk_ess", "divergences"}
    assert posterior.draws["attack"].shape == (2, 300, 12)
    # The season in play, for the table (issue 21): every match played, four meetings of each pairing.
    season = SeasonRecord.from_meta(meta[SEASON_META_KEY], posterior.team_codes)
    assert (season.season, season.teams, len(season.played), season.fixtures) == (
        "2024-25",
        tuple(sorted(CODES)),
        528,
        (),
    )
    projection = project_posterior(posterior, simulations=100)
    assert projection is not None and projection.remaining_matches == 0


def test_the_sampler_starts_where_numpyros_mcmc_starts_with_the_same_keys() -> None:
    model = MODELS["dixon_coles_seasons"]
    data = model.prepare(synthetic_season(rounds=2)).data
    ours, _ = sample(model, data, SamplerSettings(chains=2, warmup=0, samples=3, seed=5))
    mcmc = MCMC(NUTS(model.function, target_accept_prob=0.9), num_warmup=0, num_samples=3, num_chains=2)
    mcmc.run(jax.random.PRNGKey(5), **data)
    theirs = mcmc.get_samples(group_by_chain=True)
    for site in ("attack", "defence", "rho", "persistence", "home_by_season"):
        np.testing.assert_allclose(ours[site], theirs[site], atol=1e-5)


def test_padding_adds_matches_that_change_neither_the_log_density_nor_its_gradient() -> None:
    model = MODELS["dixon_coles_seasons"]
    data = model.prepare(read_results_file(SAMPLE_SEASON)).data  # 380 matches, with shots and corners
    padded = pad_matches(data)
    assert len(padded["home_team"]) == 3 * MATCH_ROWS and not padded["weight"][380:].any()
    assert all(len(counts) == 3 * MATCH_ROWS for counts in padded["statistics"].values())
    prior = handlers.trace(handlers.seed(model.function, 0)).get_trace(**data)
    params = {
        name: site["value"] for name, site in prior.items() if site["type"] == "sample" and not site["is_observed"]
    }

    def density(arrays: dict) -> tuple[jax.Array, dict]:
        return jax.value_and_grad(lambda p: log_density(model.function, (), arrays, p)[0])(params)

    (before, before_gradient), (after, after_gradient) = density(data), density(padded)
    assert float(after) == pytest.approx(float(before), rel=1e-6)
    for name in params:
        np.testing.assert_allclose(after_gradient[name], before_gradient[name], rtol=1e-4, atol=1e-4)


def test_a_fit_on_other_data_of_the_same_padded_size_reuses_the_compiled_sampler() -> None:
    model, settings = MODELS["dixon_coles_seasons"], SamplerSettings(chains=2, warmup=50, samples=50, seed=1)
    first = model.prepare(synthetic_season(rounds=2, seed=3)).data
    sample(model, first, settings)
    second = model.prepare(synthetic_season(rounds=2, seed=4)[:-5]).data  # other scores, 5 fewer matches
    assert len(pad_matches(second)["weight"]) == len(pad_matches(first)["weight"])
    compiles: list[str] = []

    def listen(event: str, seconds: float, **_: object) -> None:
        compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        draws, _ = sample(model, second, settings)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert "/jax/core/compile/backend_compile_duration" not in compiles
    again, _ = sample(model, first, settings)
    assert not np.allclose(draws["attack"], again["attack"])  # the draws follow the data passed in


def test_the_likelihoods_poisson_terms_differ_from_the_poisson_log_pmf_by_log_k_factorial_alone() -> None:
    from scipy.special import gammaln
    from scipy.stats import poisson

    counts = np.arange(0, 25, dtype=np.float32)[:, None]
    rates = np.array([[0.05, 0.7, 1.4, 3.0, 11.0]], dtype=np.float32)
    kernel = np.asarray(poisson_kernel(counts, np.log(rates)))
    # The dropped term depends on the count alone, so the posterior and its gradient are unchanged.
    np.testing.assert_allclose(kernel - gammaln(counts + 1), poisson.logpmf(counts, rates), rtol=1e-5, atol=1e-4)


def test_the_prediction_stretch_moves_strengths_away_from_the_mean_and_nothing_else() -> None:
    rng = np.random.default_rng(5)
    samples = {
        "intercept": rng.normal(0.3, 0.05, (2, 6)),
        "home_by_season": rng.normal(0.2, 0.05, (2, 6, 4)),
        "rho": rng.normal(-0.05, 0.02, (2, 6)),
        "attack": rng.normal(0.0, 0.3, (2, 6, 4)),
        "defence": rng.normal(0.0, 0.3, (2, 6, 4)),
    }
    prepared = Prepared({}, [], ["ARS", "AVL", "BOU", "CHE"], ["ARS", "BOU", "CHE"])
    served = MODELS["dixon_coles_seasons"]
    plain = replace(served, settings={**served.settings, "prediction_stretch": 1.0}).prediction_draws(samples, prepared)
    stretched = replace(served, settings={**served.settings, "prediction_stretch": 1.5}).prediction_draws(
        samples, prepared
    )
    for name in ("intercept", "home", "rho"):
        np.testing.assert_array_equal(stretched[name], plain[name])
    for name in ("attack", "defence"):
        mean = plain[name].mean(axis=-1, keepdims=True)  # per draw, over the predicted teams
        np.testing.assert_allclose(stretched[name].mean(axis=-1, keepdims=True), mean, atol=1e-6)
        np.testing.assert_allclose(stretched[name] - mean, 1.5 * (plain[name] - mean), atol=1e-6)
    np.testing.assert_array_equal(plain["attack"], samples["attack"][..., [0, 2, 3]].astype(np.float32))


def test_the_gate_refuses_after_one_longer_retry(caplog: pytest.LogCaptureFixture) -> None:
    tiny = SamplerSettings(chains=2, warmup=30, samples=30, seed=5)
    with caplog.at_level(logging.INFO), pytest.raises(QualityGateError, match="min bulk ESS"):
        fit_posterior(synthetic_season(rounds=1), MODELS["poisson_static"], "E0", tiny, QualityGate(min_bulk_ess=1e9))
    assert "x (60 warmup + 60 draws), seed 6" in caplog.text  # the retry: twice the draws, the next seed


def test_a_command_not_told_the_draws_uses_the_models_own() -> None:
    seasons, baseline = MODELS["dixon_coles_seasons"], MODELS["poisson_static"]
    assert (sampler_for(seasons).warmup, sampler_for(seasons).samples) == seasons.draws == (500, 500)
    assert (sampler_for(baseline).warmup, sampler_for(baseline).samples) == (1000, 1000)
    told = sampler_for(seasons, chains=2, warmup=40, samples=30, seed=7)
    assert told == SamplerSettings(chains=2, warmup=40, samples=30, seed=7)


SEASON = Path(__file__).parents[1] / "data" / "football-data" / "E0-2024-25-head.csv"


def test_a_malformed_results_file_names_the_object_and_line(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    s3 = boto3.client("s3")
    s3.upload_file(str(SEASON), aws["bucket"], "results/E0/2024-25.csv")
    s3.put_object(
        Bucket=aws["bucket"],
        Key="results/E0/2025-26.csv",
        Body=b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n"
        b"E0,15/08/2025,Liverpool,Bournemouth,4,2\n"
        b"E0,16/08/2025,Aston Villa,Newcastle,x,0\n",
    )
    with caplog.at_level(logging.ERROR):
        assert fit_main(["--bucket", aws["bucket"]]) == 2
    assert "s3://matchodds-local/results/E0/2025-26.csv, line 3: FTHG 'x'" in caplog.text
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/")


def fit_on_last_season_and(aws: dict[str, str], key: str, body: bytes) -> Posterior:
    """Fit (loosely gated) on the shipped 2024-25 season and one more object in the bucket; the posterior."""
    from entry.local.sample_data import SAMPLE_SEASON

    s3 = boto3.client("s3")
    s3.upload_file(str(SAMPLE_SEASON), aws["bucket"], "results/E0/2024-25.csv")
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=body)
    loose = ["--chains", "2", "--warmup", "300", "--samples", "300", "--seed", "5", "--min-ess", "1"]
    assert fit_main(["--bucket", aws["bucket"], *loose, "--max-r-hat", "2"]) == 0
    [published] = [o["Key"] for o in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/")["Contents"]]
    return decode_posterior(s3.get_object(Bucket=aws["bucket"], Key=published)["Body"].read())


def test_a_fixtures_file_in_the_bucket_names_the_new_seasons_teams(aws: dict[str, str]) -> None:
    fixtures = b"Div,Date,HomeTeam,AwayTeam\nE0,16/08/2025,Sunderland,West Ham\nE0,16/08/2025,Leeds,Everton\n"
    posterior = fit_on_last_season_and(aws, "fixtures/E0/next.csv", fixtures)
    # Four clubs named, sixteen of last season's kept until the season shows the rest.
    assert {"SUN", "LEE", "WHU", "EVE"} <= set(posterior.team_codes) and len(posterior.team_codes) == 22
    assert posterior.meta["roster"]["season"] == "2025-26"


def synthetic_seasons(attack_by_season: list[np.ndarray], rounds: int = 2, seed: int = 8) -> list[Match]:
    """Consecutive seasons of the same teams, each with its own attack strengths."""
    rng = np.random.default_rng(seed)
    matches = []
    for number, attack in enumerate(attack_by_season):
        day, season = date(2021 + number, 8, 10), f"{2021 + number}-{(22 + number) % 100:02d}"
        for _ in range(rounds):
            for h, home in enumerate(CODES):
                for a, away in enumerate(CODES):
                    if h != a:
                        home_rate = np.exp(np.log(1.4) + TRUE_HOME / 2 + attack[h] + TRUE_DEFENCE[a])
                        away_rate = np.exp(np.log(1.4) - TRUE_HOME / 2 + attack[a] + TRUE_DEFENCE[h])
                        goals = int(rng.poisson(home_rate)), int(rng.poisson(away_rate))
                        matches.append(Match("E0", season, day, home, away, *goals))
                        day += timedelta(hours=12)
    return matches


def test_strengths_by_season_know_who_plays_each_season_and_who_is_new() -> None:
    model = MODELS["dixon_coles_seasons"]
    matches = synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK], rounds=1)
    # ARS leaves after the first season; in the next one AVL goes down and a promoted team comes up.
    matches = [m for m in matches if not (m.season == "2022-23" and "ARS" in (m.home, m.away))]
    prepared = model.prepare(matches, predict_teams=[*CODES[2:], "NEW"])
    codes = prepared.team_codes
    played, new_team = prepared.data["played"], prepared.data["new_team"]
    assert played.shape == (3, len(codes)) == new_team.shape  # two seasons of data and the predicted one
    assert played[0, codes.index("ARS")] == 1 and played[1:, codes.index("ARS")].sum() == 0
    assert new_team[2, codes.index("NEW")] == 1 and played[:2, codes.index("NEW")].sum() == 0
    assert new_team.sum() == 1  # everyone else carries on from the season before
    assert played[2, codes.index("AVL")] == 0 and played[1, codes.index("AVL")] == 1
    assert "promoted" not in prepared.data
    # Predicting within the newest season adds no row.
    assert model.prepare(matches).data["played"].shape == (2, len(codes) - 1)
