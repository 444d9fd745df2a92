"""The evaluation report pools the kept per-season forecasts as documented in docs/model-quality.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matchodds.core.evaluation import rps
from research.model_quality import FORECASTERS, against, average, report

pytestmark = pytest.mark.unit
SETTINGS = {
    "fit_seconds_median": 13.0,
    "fit_seconds_max": 31.5,
    "weeks_failing_served_gate": 2,
    "weeks_kept_last_posterior": 1,
    "weeks": 34,
}


def write_season(directory: Path, name: str, forecasts: dict[str, np.ndarray], outcomes: np.ndarray) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(directory / f"{name}.npz", outcomes=outcomes, **forecasts)
    (directory / f"{name}.json").write_text(json.dumps({"settings": SETTINGS}))


def season(seed: int, matches: int = 60) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    outcomes = rng.integers(0, 3, matches)
    forecasts = {name: rng.dirichlet([4, 3, 3], matches) for name in FORECASTERS}
    return forecasts, outcomes


def test_report_pools_seasons_and_skips_matches_a_forecaster_lacks(tmp_path: Path) -> None:
    first, first_outcomes = season(1)
    second, second_outcomes = season(2)
    second["bet365"][:5] = np.nan  # five matches without Bet365 prices: left out for everyone
    write_season(tmp_path, "E0-2019-20", first, first_outcomes)
    write_season(tmp_path, "E0-2020-21", second, second_outcomes)

    text = report(tmp_path)

    model = np.concatenate([rps(first["model"], first_outcomes), rps(second["model"][5:], second_outcomes[5:])])
    pinnacle = np.concatenate(
        [rps(first["pinnacle_closing"], first_outcomes), rps(second["pinnacle_closing"][5:], second_outcomes[5:])]
    )
    assert f"| model | 115 | {model.mean():.4f} |" in text
    assert f"model / Pinnacle closing: {model.mean() / pinnacle.mean():.4f}" in text
    assert "| E0-2020-21 | 55 |" in text and "| 13.0 / 31.5 | 2 (1) of 34 |" in text


def test_against_pairs_two_runs_by_match_and_refuses_different_matches(tmp_path: Path) -> None:
    forecasts, outcomes = season(3)
    write_season(tmp_path / "served", "E0-2019-20", forecasts, outcomes)
    sharper = {**forecasts, "model": np.eye(3)[outcomes] * 0.5 + forecasts["model"] * 0.5}
    write_season(tmp_path / "other", "E0-2019-20", sharper, outcomes)

    text = against(tmp_path / "served", tmp_path / "other")

    difference = rps(forecasts["model"], outcomes).mean() - rps(sharper["model"], outcomes).mean()
    assert difference > 0
    assert "| pooled | 60 |" in text and f"{difference:+.5f} [" in text

    write_season(tmp_path / "shuffled", "E0-2019-20", forecasts, np.roll(outcomes, 1))
    with pytest.raises(ValueError, match="different matches"):
        against(tmp_path / "served", tmp_path / "shuffled")


def test_average_pairs_the_model_and_its_mean_with_the_rating_and_refuses_other_matches(tmp_path: Path) -> None:
    forecasts, outcomes = season(4)
    forecasts["bet365"][:3] = np.nan
    write_season(tmp_path / "served", "E0-2019-20", forecasts, outcomes)
    rating = np.eye(3)[outcomes] * 0.3 + forecasts["model"] * 0.7  # sharper than the model
    (tmp_path / "rating").mkdir()
    np.savez_compressed(tmp_path / "rating" / "E0-2019-20.npz", outcomes=outcomes, rating=rating)

    text = average(tmp_path / "served", tmp_path / "data", tmp_path / "rating")

    model, mean = forecasts["model"][3:], (forecasts["model"][3:] + rating[3:]) / 2
    gain = rps(mean, outcomes[3:]).mean() - rps(model, outcomes[3:]).mean()
    assert gain < 0
    assert f"| pooled | 57 | {rps(model, outcomes[3:]).mean():.4f} |" in text and f"{gain:+.5f} [" in text

    np.savez_compressed(tmp_path / "rating" / "E0-2019-20.npz", outcomes=np.roll(outcomes, 1), rating=rating)
    with pytest.raises(ValueError, match="other matches"):
        average(tmp_path / "served", tmp_path / "data", tmp_path / "rating")
