"""The projection validation: the naive baseline on toy tables, the scores, and docs/projections.md's table."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from matchodds.core.projection import LeagueRules
from matchodds.core.results import Match
from research.projections import (
    DOC,
    EVENTS,
    RESULTS,
    SoFar,
    baseline_probabilities,
    brier,
    checkpoint_date,
    log_loss,
    report,
    zone_events,
)

pytestmark = pytest.mark.unit
RULES = LeagueRules(europe=2, relegation=1)


def toy(won: list[int], drawn: list[int], lost: list[int], left: list[int]) -> SoFar:
    w, d, lo = np.array(won), np.array(drawn), np.array(lost)
    return SoFar(3 * w + d, w, d, lo, np.array(left))


def test_the_baseline_is_certain_when_nothing_is_left_and_splits_a_tie_at_random() -> None:
    table = toy([3, 2, 2, 0], [0, 0, 0, 1], [0, 1, 1, 2], [0, 0, 0, 0])  # points 9, 6, 6, 1

    p = baseline_probabilities(table, RULES, simulations=20_000)

    assert p["title"].tolist() == [1, 0, 0, 0]
    assert p["relegation"].tolist() == [0, 0, 0, 1]
    assert p["top4"][0] == 1 and p["top4"][3] == 0
    assert p["top4"][1] == pytest.approx(0.5, abs=0.02)  # level on points for the second place


def test_the_baseline_draws_each_team_from_its_own_results_so_far() -> None:
    # A always won and is 3 points clear of C with 4 left each; B always lost: nothing can change.
    table = toy([2, 0, 1], [0, 0, 0], [0, 2, 1], [4, 4, 4])
    p = baseline_probabilities(table, RULES, simulations=20_000)
    assert p["title"].tolist() == [1, 0, 0]
    assert p["top4"].tolist() == [1, 0, 1]
    assert p["relegation"].tolist() == [0, 1, 0]

    # Level on 3 points with 4 left: one always drew (ends on 7), one won and lost one each (ends on 3 + 3k,
    # k ~ Binomial(4, 1/2)): the second is first when k >= 2, P = 11/16, and never level.
    table = toy([0, 1], [3, 0], [0, 1], [4, 4])
    p = baseline_probabilities(table, LeagueRules(), simulations=40_000)
    assert p["title"][1] == pytest.approx(11 / 16, abs=0.01)
    assert p["title"].sum() == pytest.approx(1)


def test_zones_and_the_checkpoint_day() -> None:
    happened = zone_events(np.array([[0, 1, 2, 3, 4]]), LeagueRules(europe=4, relegation=2))
    assert happened["title"].tolist() == [[True, False, False, False, False]]
    assert happened["top4"].tolist() == [[True, True, True, True, False]]
    assert happened["relegation"].tolist() == [[False, False, False, True, True]]
    start = date(2024, 8, 16)
    matches = [Match("E0", "2024-25", start + timedelta(days=i // 3), "ARS", "CHE", 1, 0) for i in range(12)]
    assert checkpoint_date(matches, rounds=2, n_teams=4) == start + timedelta(days=1)  # match 4 of 12


def test_scores_clip_for_log_loss() -> None:
    assert brier(np.array([0.8, 0.0]), np.array([1.0, 1.0])).tolist() == pytest.approx([0.04, 1.0])
    assert log_loss(np.array([0.0]), np.array([1.0]))[0] == pytest.approx(-np.log(1e-4))
    assert log_loss(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(-np.log(1 - 1e-4))


def test_report_pools_checkpoints_and_bootstraps_over_league_seasons(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name in ("E0-2020-21", "D1-2020-21"):
        rows = []
        for checkpoint in (10, 20, 30):
            for team in range(4):
                happened = {e: int(team == (0 if e != "relegation" else 3)) for e in EVENTS}
                rows.append(
                    {
                        "checkpoint": checkpoint,
                        "team": f"T{team}",
                        **{f"projection_{e}": 0.9 * happened[e] + 0.05 for e in EVENTS},
                        **{f"baseline_{e}": round(float(rng.random()), 4) for e in EVENTS},
                        **{f"happened_{e}": happened[e] for e in EVENTS},
                    }
                )
        with (tmp_path / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    text = report(tmp_path)

    assert "| round 10 | title | 2 | 8 | 0.0025 |" in text  # (0.05)^2 for every team
    assert "| **all** | **all three** | 2 | 24 | 0.0025 |" in text


def test_the_table_of_docs_projections_is_what_report_prints_from_the_kept_results() -> None:
    assert any(RESULTS.glob("*.csv")), "no kept results"
    assert report() in DOC.read_text()
