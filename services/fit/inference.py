"""NUTS inference, convergence diagnostics and the quality gate that decides whether to publish.

Diagnostics follow Vehtari et al. (2021): bulk effective sample size and split R-hat, both on
rank-normalised draws (R-hat also on folded draws, and the larger of the two is kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer import NUTS
from scipy.special import ndtri
from scipy.stats import rankdata

from matchodds.core.adaptation import ADAPTATION_META_KEY, Adaptation
from matchodds.core.keys import new_version
from matchodds.core.posterior import POSTERIOR_FORMAT, Posterior
from matchodds.core.results import Fixture, Match
from matchodds.core.roster import WITH_PREVIOUS, Roster, season_roster
from matchodds.core.season import SEASON_META_KEY, season_record_or_none
from matchodds.core.teams import TeamTable, default_table
from services.fit.model import GoalsModel, Prepared
from services.fit.warm import (
    CannotMap,
    WarmStart,
    WarmStartArrays,
    adaptation_from,
    warm_sampler,
    warm_start,
)

logger = logging.getLogger(__name__)


# How the chains share the CPU: "parallel" (one host device each, jax.pmap: needs as many devices as
# chains, which services.fit sets up), "sequential" (one after another, jax.lax.map) or "vectorized"
# (all in one batched program, jax.vmap: each NUTS step waits for the chain with the longest trajectory).
CHAIN_METHODS = ("parallel", "sequential", "vectorized")


@dataclass(frozen=True)
class SamplerSettings:
    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    seed: int = 0
    target_accept: float = 0.9
    # None: parallel when there are devices for every chain, else sequential.
    chain_method: str | None = None


def sampler_for(
    model: GoalsModel,
    chains: int = 4,
    warmup: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    chain_method: str | None = None,
) -> SamplerSettings:
    """The sampler for `model`: its own warmup and draws (what the fit budget allows) unless told."""
    if chain_method is not None and chain_method not in CHAIN_METHODS:
        raise ValueError(f"chain method {chain_method!r} is not one of {', '.join(CHAIN_METHODS)}")
    return SamplerSettings(
        chains=chains,
        warmup=model.draws[0] if warmup is None else warmup,
        samples=model.draws[1] if samples is None else samples,
        seed=seed,
        chain_method=chain_method,
    )


def chain_method_for(sampler: SamplerSettings) -> str:
    """The chain method a fit uses: the one asked for, else parallel when every chain has a device."""
    if sampler.chain_method is None:
        return "parallel" if jax.local_device_count() >= sampler.chains else "sequential"
    if sampler.chain_method not in CHAIN_METHODS:
        raise ValueError(f"chain method {sampler.chain_method!r} is not one of {', '.join(CHAIN_METHODS)}")
    if sampler.chain_method == "parallel" and jax.local_device_count() < sampler.chains:
        raise ValueError(f"{sampler.chains} parallel chains need as many devices; JAX has {jax.local_device_count()}")
    return sampler.chain_method


@dataclass(frozen=True)
class QualityGate:
    """Publish only when every diagnosed parameter has mixed: the prototype's min ESS was about 4."""

    max_r_hat: float = 1.01
    min_bulk_ess: float = 400.0
    max_divergences: int = 0


@dataclass(frozen=True)
class Diagnostics:
    max_r_hat: float
    min_bulk_ess: float
    divergences: int
    worst_r_hat_site: str
    worst_ess_site: str

    def failures(self, gate: QualityGate) -> list[str]:
        problems = []
        if not self.max_r_hat <= gate.max_r_hat:
            problems.append(f"max r_hat {self.max_r_hat:.4f} > {gate.max_r_hat} ({self.worst_r_hat_site})")
        if not self.min_bulk_ess >= gate.min_bulk_ess:
            problems.append(f"min bulk ESS {self.min_bulk_ess:.0f} < {gate.min_bulk_ess:.0f} ({self.worst_ess_site})")
        if self.divergences > gate.max_divergences:
            problems.append(f"{self.divergences} divergent transitions")
        return problems


class QualityGateError(RuntimeError):
    """The sampler did not converge well enough to publish; the current odds stay."""

    def __init__(self, diagnostics: Diagnostics, problems: list[str]) -> None:
        super().__init__("quality gate refused to publish: " + "; ".join(problems))
        self.diagnostics = diagnostics


def _rank_normalise(draws: np.ndarray) -> np.ndarray:
    ranks = rankdata(draws, axis=None).reshape(draws.shape)
    normal_scores: np.ndarray = ndtri((ranks - 0.375) / (draws.size + 0.25))
    return normal_scores


def _split_chains(draws: np.ndarray) -> np.ndarray:
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]], axis=0)


def scalar_diagnostics(draws: np.ndarray) -> tuple[float, float]:
    """(rank-normalised split R-hat, bulk ESS) of one scalar's draws shaped (chains, draws)."""
    draws = np.asarray(draws, dtype=np.float64)
    if np.ptp(draws) == 0:
        return 1.0, float(draws.size)
    bulk = _rank_normalise(draws)
    folded = _rank_normalise(np.abs(draws - np.median(draws)))
    r_hat = max(float(split_gelman_rubin(bulk)), float(split_gelman_rubin(folded)))
    ess = float(effective_sample_size(_split_chains(bulk)))
    return r_hat, ess


def diagnose(samples: dict[str, np.ndarray], sites: Sequence[str], divergences: int) -> Diagnostics:
    worst_r_hat, worst_ess = (1.0, ""), (float("inf"), "")
    for site in sites:
        values = np.asarray(samples[site])
        flat = values.reshape(values.shape[0], values.shape[1], -1)
        for component in range(flat.shape[2]):
            label = site if flat.shape[2] == 1 else f"{site}[{component}]"
            r_hat, ess = scalar_diagnostics(flat[:, :, component])
            if r_hat > worst_r_hat[0] or not np.isfinite(r_hat):
                worst_r_hat = (r_hat, label)
            if ess < worst_ess[0]:
                worst_ess = (ess, label)
    return Diagnostics(worst_r_hat[0], worst_ess[0], divergences, worst_r_hat[1], worst_ess[1])


# A fit's matches are padded to a multiple of this with weight-0 rows, so that one compiled sampler
# serves every week whose window rounds to the same size (a backtest's weeks, the weekly fit's).
MATCH_ROWS = 128
MATCH_ARRAYS = ("home_team", "away_team", "home_goals", "away_goals", "season", "period", "weight")
# Compiled samplers kept for reuse, one per model, settings and data shapes; beyond this all go,
# with JAX's caches (a walk-forward backtest's fits otherwise grow memory until LLVM cannot allocate).
_KEPT_SAMPLERS = 8
_samplers: dict[tuple[Any, ...], Callable[..., Any]] = {}


def pad_matches(data: dict[str, Any], rows: int = MATCH_ROWS) -> dict[str, Any]:
    """The model's arrays with the match axis padded to a multiple of `rows` by matches of weight 0.

    A zero-weight match adds nothing to the log density or its gradient, so the posterior is the
    same. Models without decay weights are returned as they are."""
    if "weight" not in data:
        return data
    extra = -len(data["weight"]) % rows

    def pad(value: np.ndarray) -> np.ndarray:
        return np.concatenate([value, np.zeros((extra, *value.shape[1:]), dtype=value.dtype)])

    padded = {name: pad(value) if name in MATCH_ARRAYS else value for name, value in data.items()}
    if "statistics" in data:
        padded["statistics"] = {name: pad(value) for name, value in data["statistics"].items()}
    return padded


def _compiled_sampler(
    model: GoalsModel,
    static: dict[str, Any],
    arrays: dict[str, Any],
    sampler: SamplerSettings,
    method: str,
    warm: bool = False,
) -> Callable[..., Any]:
    """NUTS for `model` compiled once with the data as arguments (numpyro's MCMC closes over them, so
    every fit would compile anew: about 7 s of a 13.5 s fit). Returns f(chain keys, arrays, warm start)
    -> (draws of every site, deterministic ones included, shaped (chains, draws, ...); divergent flags;
    each chain's adaptation: its step size, the variance of its kept draws and its last position, by
    site in the unconstrained space). With `warm`, each chain starts from a given position, step size
    and inverse mass matrix, and its warmup adapts the step size alone (services.fit.warm)."""
    key = (
        model.function,
        tuple(sorted(static.items())),
        tuple(np.shape(leaf) for leaf in jax.tree.leaves(arrays)),
        sampler.warmup,
        sampler.samples,
        sampler.target_accept,
        method,
        warm,
    )
    if key in _samplers:
        return _samplers[key]

    def chain(rng_key: jax.Array, arrays: dict[str, Any], start: WarmStartArrays | None) -> Any:
        function = partial(model.function, **static)
        if start is None:
            kernel = NUTS(function, target_accept_prob=sampler.target_accept)
            state = kernel.init(rng_key, sampler.warmup, model_args=(), model_kwargs=arrays)
        else:
            step_size, inverse_mass, position = start
            kernel = NUTS(
                function,
                target_accept_prob=sampler.target_accept,
                step_size=step_size,
                # One diagonal block per site: numpyro's block form, {(site,): diagonal}.
                inverse_mass_matrix={(name,): value.reshape(-1) for name, value in inverse_mass.items()},
                adapt_mass_matrix=False,
            )
            state = kernel.init(rng_key, sampler.warmup, init_params=position, model_args=(), model_kwargs=arrays)

        def step(state: Any, _: None) -> tuple[Any, tuple[Any, jax.Array]]:
            state = kernel.sample(state, (), arrays)
            return state, (state.z, state.diverging)

        # One loop over warmup and draws alike (one copy of the NUTS step to compile, as numpyro's
        # fori_collect has), keeping the draws after warmup.
        final, (visited, diverging) = jax.lax.scan(step, state, None, length=sampler.warmup + sampler.samples)
        kept = jax.tree.map(lambda values: values[sampler.warmup :], visited)
        adapted = (final.adapt_state.step_size, jax.tree.map(lambda values: jnp.var(values, axis=0), kept), final.z)
        return jax.vmap(kernel.postprocess_fn((), arrays))(kept), diverging[sampler.warmup :], adapted

    if method == "parallel":
        compiled: Callable[..., Any] = jax.pmap(chain, in_axes=(0, None, 0))
    elif method == "vectorized":
        compiled = jax.jit(jax.vmap(chain, in_axes=(0, None, 0)))
    else:
        compiled = jax.jit(
            lambda keys, arrays, starts: jax.lax.map(lambda one: chain(one[0], arrays, one[1]), (keys, starts))
        )
    if len(_samplers) >= _KEPT_SAMPLERS:
        _samplers.clear()
        jax.clear_caches()
    _samplers[key] = compiled
    return compiled


@dataclass(frozen=True)
class Chains:
    """What a run of the sampler gives: draws by chain, divergences, and what each chain adapted."""

    samples: dict[str, np.ndarray]
    divergences: int
    step_size: np.ndarray  # (chains,)
    draws_variance: dict[str, np.ndarray]  # by site, (chains, *unconstrained shape): the kept draws' variance
    position: dict[str, np.ndarray]  # by site, (chains, *unconstrained shape): where each chain ended


def run_chains(
    model: GoalsModel, data: dict[str, Any], sampler: SamplerSettings, start: WarmStart | None = None
) -> Chains:
    """Run NUTS, cold (numpyro's full warmup) or from `start` (services.fit.warm)."""
    padded = pad_matches(data)
    static = {name: value for name, value in padded.items() if not isinstance(value, (np.ndarray, dict))}
    arrays = {name: value for name, value in padded.items() if name not in static}
    run = _compiled_sampler(model, static, arrays, sampler, chain_method_for(sampler), warm=start is not None)
    keys = jax.random.split(jax.random.PRNGKey(sampler.seed), sampler.chains)
    values, diverging, (step_size, variance, position) = run(keys, arrays, None if start is None else start.arrays())
    return Chains(
        samples={name: np.asarray(value) for name, value in values.items()},
        divergences=int(np.asarray(diverging).sum()),
        step_size=np.asarray(step_size),
        draws_variance={name: np.asarray(value) for name, value in variance.items()},
        position={name: np.asarray(value) for name, value in position.items()},
    )


def sample(model: GoalsModel, data: dict[str, Any], sampler: SamplerSettings) -> tuple[dict[str, np.ndarray], int]:
    """Run NUTS; returns draws grouped by chain and the number of divergent transitions.

    The chains are numpyro's NUTS, started and stepped as numpyro's MCMC does it (the same keys give
    the same first draws), but with the data passed to the compiled sampler instead of built into it
    as constants, and the matches padded to a few sizes: a later fit on data of the same shapes (the
    next week's, most weeks) reuses the compiled sampler instead of compiling it again."""
    chains = run_chains(model, data, sampler)
    return chains.samples, chains.divergences


def fit_posterior(
    matches: Sequence[Match],
    model: GoalsModel,
    competition: str,
    sampler: SamplerSettings = SamplerSettings(),
    gate: QualityGate = QualityGate(),
    teams: TeamTable | None = None,
    now: datetime | None = None,
    as_of: date | None = None,
    fixtures: Sequence[Fixture] = (),
    previous: Adaptation | None = None,
) -> Posterior:
    """Fit the model to its window of the matches; raises QualityGateError rather than publish junk.

    Predicts the season's roster (matchodds.core.roster: the league as results and fixtures show it,
    never just the teams that have played so far this season). With a roster whose league is known,
    the meta records the season in play (matchodds.core.season): its matches and named fixtures, from
    which precompute projects the table. The fit itself is `fit_prepared`'s.
    """
    roster = season_roster(matches, fixtures)
    prepared = model.prepare(matches, roster.teams, as_of)
    posterior = fit_prepared(prepared, model, competition, sampler, gate, teams, now, previous)
    return with_roster(posterior, roster, matches, fixtures)


def with_roster(
    posterior: Posterior, roster: Roster, matches: Sequence[Match], fixtures: Sequence[Fixture]
) -> Posterior:
    """The posterior with its roster, and the season in play when the roster's league is known, in its meta."""
    meta = {**posterior.meta, "roster": roster.describe()}
    # Not while the season's league is not known yet (WITH_PREVIOUS), nor when its record breaks the
    # record's limits: no table to project, the odds published all the same.
    record = (
        None
        if roster.source == WITH_PREVIOUS
        else season_record_or_none(roster.season, roster.teams, matches, fixtures)
    )
    if record is not None:
        meta[SEASON_META_KEY] = record.to_meta()
    return replace(posterior, meta=meta)


def fit_prepared(
    prepared: Prepared,
    model: GoalsModel,
    competition: str,
    sampler: SamplerSettings = SamplerSettings(),
    gate: QualityGate = QualityGate(),
    teams: TeamTable | None = None,
    now: datetime | None = None,
    previous: Adaptation | None = None,
    warm_settings: SamplerSettings | None = None,
) -> Posterior:
    """Fit the model to prepared data; raises QualityGateError rather than publish junk.

    A gate that trips is retried once with twice the draws and the next seed: r_hat lands just above
    1.01 now and then by chance, and a rerun is cheaper than a week without new odds.

    With `previous` (the adaptation the competition's last fit stored), the fit first starts warm from
    it, with `warm_settings` (by default the service's: services.fit.warm.warm_sampler); when it cannot
    be mapped onto this fit, or the warm fit fails the gate, the fit runs cold as above. The posterior
    stores this fit's adaptation.
    """
    window, data = prepared.window, prepared.data
    team_codes = prepared.predict_codes
    attempts: list[tuple[SamplerSettings, WarmStart | None]] = [
        (sampler, None),
        (replace(sampler, warmup=sampler.warmup * 2, samples=sampler.samples * 2, seed=sampler.seed + 1), None),
    ]
    warm_note = "no stored adaptation"
    if previous is not None:
        try:
            warm = warm_start(previous, model, prepared, sampler.chains)
        except CannotMap as error:
            warm_note = f"cold: {error}"
            logger.info("warm start not possible, warming up cold: %s", error)
        else:
            warm_note = f"{warm.mapped_share:.0%} of the values mapped"
            attempts.insert(0, (warm_sampler(sampler) if warm_settings is None else warm_settings, warm))
    for attempt, (settings, start) in enumerate(attempts, start=1):
        logger.info(
            "fitting %s on %d %s matches, %d teams (%d predicted): %d chains x (%d warmup + %d draws), seed %d, %s",
            model.name,
            len(window),
            competition,
            len(prepared.team_codes),
            len(team_codes),
            settings.chains,
            settings.warmup,
            settings.samples,
            settings.seed,
            f"warm start ({warm_note})" if start is not None else "cold warmup",
        )
        chains = run_chains(model, data, settings, start)
        samples = chains.samples
        diagnostics = diagnose(samples, model.diagnosed_sites, chains.divergences)
        problems = diagnostics.failures(gate)
        logger.info("diagnostics: %s", asdict(diagnostics))
        if not problems:
            break
        logger.warning("attempt %d failed the quality gate: %s", attempt, "; ".join(problems))
    else:
        raise QualityGateError(diagnostics, problems)
    table = teams or default_table()
    created = now or datetime.now(UTC)
    meta = {
        "format": POSTERIOR_FORMAT,
        "competition": competition,
        "version": new_version(created),
        "created_at": created.isoformat(timespec="seconds"),
        "model": {"name": model.name, "settings": model.settings},
        "data_window": {
            "first_match": window[0].date.isoformat(),
            "last_match": window[-1].date.isoformat(),
            "matches": len(window),
            "seasons": sorted({match.season for match in window}),
        },
        "seed": settings.seed,
        "sampler": asdict(settings),
        "attempts": attempt,  # 2 when the first fit tripped the gate and the rerun passed (3: after a warm one)
        "diagnostics": asdict(diagnostics),
        "gate": asdict(gate),
        "warm_start": {"used": start is not None, "tried": previous is not None, "note": warm_note},
        ADAPTATION_META_KEY: adaptation_from(
            model, prepared, chains.step_size, chains.draws_variance, chains.position, settings.samples
        ).to_meta(),
    }
    return Posterior(
        draws=model.prediction_draws(samples, prepared),
        team_codes=tuple(team_codes),
        team_names=tuple(table.name(code, competition) for code in team_codes),
        meta=meta,
    )
