"""THE PROTOTYPE'S ODDS, NOT SERVED: one posterior draw, 100 simulated games, per request.

Kept only so the benchmarks can show what exact precomputed odds replaced: the estimator's error
against the exact probabilities (precompute) and the cost of answering a request this way, reading
the whole posterior object from S3 every time (query).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from matchodds.core.grid import PredictionDraws
from matchodds.core.posterior import TEAM_CODES_KEY

PROTOTYPE_GAMES = 100


def simulated_outcomes(
    draws: PredictionDraws, home_team: np.ndarray, away_team: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """P(home), P(draw), P(away) per pair as the prototype estimated them: (pairs, 3).

    Each pair gets one posterior draw of its two goal rates and 100 simulated games (independent
    Poisson goals, as the prototype simulated them).
    """
    home_rate, away_rate = draws.rates(home_team, away_team)  # (pairs, draws)
    chosen = rng.integers(home_rate.shape[1], size=home_rate.shape[0])
    pairs = np.arange(home_rate.shape[0])
    home_goals = rng.poisson(home_rate[pairs, chosen][:, None], (len(pairs), PROTOTYPE_GAMES))
    away_goals = rng.poisson(away_rate[pairs, chosen][:, None], (len(pairs), PROTOTYPE_GAMES))
    return np.stack(
        [
            (home_goals > away_goals).mean(axis=1),
            (home_goals == away_goals).mean(axis=1),
            (home_goals < away_goals).mean(axis=1),
        ],
        axis=1,
    )


def answer(s3: Any, bucket: str, key: str, home: str, away: str, rng: np.random.Generator) -> dict[str, Any]:
    """One request answered the prototype's way: read the posterior from S3, one draw, 100 games."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with np.load(io.BytesIO(body), allow_pickle=False) as npz:
        codes = [str(code) for code in npz[TEAM_CODES_KEY]]
        stored = {name: npz[f"draws/{name}"] for name in ("intercept", "home", "attack", "defence")}
    values = {name: draws.reshape((-1, *draws.shape[2:])) for name, draws in stored.items()}  # chains pooled
    h, a = codes.index(home), codes.index(away)
    draw = int(rng.integers(values["intercept"].shape[0]))
    base, edge = values["intercept"][draw], values["home"][draw]
    home_rate = np.exp(base + edge / 2 + values["attack"][draw, h] + values["defence"][draw, a])
    away_rate = np.exp(base - edge / 2 + values["attack"][draw, a] + values["defence"][draw, h])
    home_goals, away_goals = rng.poisson(home_rate, PROTOTYPE_GAMES), rng.poisson(away_rate, PROTOTYPE_GAMES)
    return {
        "home": home,
        "away": away,
        "probabilities": {
            "home": float((home_goals > away_goals).mean()),
            "draw": float((home_goals == away_goals).mean()),
            "away": float((home_goals < away_goals).mean()),
        },
    }
