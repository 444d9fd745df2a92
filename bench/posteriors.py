"""Posteriors for the precompute and query benchmarks: a fitted one when the run made it, else synthetic.

A synthetic posterior has the contract's shape and EPL-like values (about 1.3 goals per team, a home
edge of about 0.25, team strengths spread like a Premier League season's, each team's draws spread
like one season's posterior), with the Dixon-Coles rho that the served model exports, so that
precompute does the same work as on the served model's posterior. Teams are the first N codes of
the shipped team table, which covers 210 clubs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from matchodds.core.keys import new_version
from matchodds.core.posterior import POSTERIOR_FORMAT, Posterior, decode_posterior
from matchodds.core.teams import default_table

BASE_TIME = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
CHAINS = 4


def synthetic_posterior(n_teams: int, draws: int = 4000, seed: int = 0, competition: str = "E0") -> Posterior:
    """A posterior of `n_teams` teams and `draws` draws (4 chains), EPL-like; deterministic per seed."""
    if draws % CHAINS:
        raise ValueError(f"draws must be a multiple of {CHAINS}, not {draws}")
    table = default_table()
    codes = tuple(sorted(table.names_by_code))[:n_teams]
    if len(codes) < n_teams:
        raise ValueError(f"the team table has {len(codes)} codes, fewer than {n_teams}")
    rng = np.random.default_rng(seed)
    shape = (CHAINS, draws // CHAINS)
    attack_mean = rng.normal(0.0, 0.25, n_teams)
    defence_mean = rng.normal(0.0, 0.2, n_teams)
    team_spread = 0.12  # posterior sd of one team's strength after a season
    posterior_draws = {
        "intercept": rng.normal(0.25, 0.04, shape),
        "home": rng.normal(0.25, 0.05, shape),
        "attack": attack_mean - attack_mean.mean() + rng.normal(0.0, team_spread, (*shape, n_teams)),
        "defence": defence_mean - defence_mean.mean() + rng.normal(0.0, team_spread, (*shape, n_teams)),
        "rho": rng.normal(-0.05, 0.03, shape),
    }
    meta = {
        "format": POSTERIOR_FORMAT,
        "competition": competition,
        "version": new_version(BASE_TIME),
        "created_at": BASE_TIME.isoformat(),
        "model": {"name": "synthetic", "settings": {"teams": n_teams, "seed": seed}},
        "data_window": {"first_match": "2025-08-15", "last_match": "2026-01-04", "matches": 200, "seasons": []},
        "seed": seed,
        "sampler": {"chains": CHAINS, "samples": draws // CHAINS},
        "diagnostics": {"max_r_hat": 1.0, "min_bulk_ess": float(draws), "divergences": 0},
    }
    return Posterior(
        draws={name: values.astype(np.float32) for name, values in posterior_draws.items()},
        team_codes=codes,
        team_names=tuple(table.name(code) for code in codes),
        meta=meta,
    )


def load_posterior(path: Path | None, n_teams: int, draws: int, seed: int = 0) -> Posterior:
    """The fitted posterior at `path` if given, else a synthetic one."""
    if path is not None:
        return decode_posterior(path.read_bytes())
    return synthetic_posterior(n_teams, draws, seed)


def as_version(posterior: Posterior, offset_seconds: int) -> Posterior:
    """The same draws under another, later version (versions are creation times)."""
    created = BASE_TIME + timedelta(seconds=offset_seconds)
    meta = {**posterior.meta, "version": new_version(created), "created_at": created.isoformat()}
    return replace(posterior, meta=meta)


def posterior_arguments(path: Path | None, n_teams: int, draws: int) -> list[str]:
    """The child arguments that name the same posterior."""
    return ["--posterior", str(path)] if path is not None else ["--teams", str(n_teams), "--draws", str(draws)]
