"""Walk-forward backtests: no leakage, every forecaster on the same matches, the command end to end."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import research.backtest
from entry.local.sample_data import SAMPLE_RESULTS
from matchodds.core.results import Fixture, Match, read_results
from research.backtest import (
    BaseRate,
    Bookmaker,
    DixonColesMLE,
    ScoreDrivenRating,
    summarise,
    walk_forward,
    week_start,
)
from research.backtest import main as backtest_main
from services.fit.model import DEFAULT_MODEL, MODELS

pytestmark = pytest.mark.research
TEAMS = ("ARS", "AVL", "CHE", "LIV", "MCI", "TOT")


def fixtures(first: date, weeks: int, season: str, odds: bool = True) -> list[Match]:
    """Three matches a week: Tuesday (the first day of a backtest week), Saturday and Monday."""
    rng = np.random.default_rng(len(season) + weeks)
    matches = []
    for week in range(weeks):
        tuesday = first + timedelta(weeks=week)
        for n, offset in enumerate((0, 4, 6)):
            home, away = TEAMS[(week + n) % 6], TEAMS[(week + n + 3) % 6]
            numbers = {"PSCH": 2.1, "PSCD": 3.4, "PSCA": 3.6} if odds else {}
            matches.append(
                Match(
                    "E0",
                    season,
                    tuesday + timedelta(days=offset),
                    home,
                    away,
                    int(rng.poisson(1.5)),
                    int(rng.poisson(1.2)),
                    numbers,
                )
            )
    return matches


class Spy:
    """Records what each week's fit was allowed to see."""

    name = "spy"

    def __init__(self) -> None:
        self.seen: list[tuple[list[Match], list[Fixture]]] = []

    def forecast(self, train: Any, week: Any, teams: Any) -> np.ndarray:
        self.seen.append((list(train), list(week)))
        return np.full((len(week), 3), 1 / 3)


def test_walk_forward_never_sees_a_match_on_or_after_the_week_it_predicts() -> None:
    history = fixtures(date(2023, 8, 8), 10, "2023-24")
    test = fixtures(date(2024, 8, 6), 5, "2024-25")
    spy = Spy()
    result = walk_forward(history, test, [spy])
    assert result.weeks == 5 and len(result.matches) == 15
    for train, week in spy.seen:
        start = week_start(week[0].date)
        assert all(m.date < start for m in train)  # a Tuesday match of the predicted week is not training data
        assert all(isinstance(f, Fixture) for f in week)  # the week as fixtures: no goals to see
        assert {f.date for f in week} <= {start + timedelta(days=d) for d in range(7)}
    # the season so far is training data: week k sees the k-1 earlier weeks of the test season
    assert [sum(m.season == "2024-25" for m in train) for train, _ in spy.seen] == [0, 3, 6, 9, 12]


def test_week_start_is_tuesday() -> None:
    assert week_start(date(2024, 8, 17)).isoformat() == "2024-08-13"  # a Saturday
    assert week_start(date(2024, 8, 19)) == date(2024, 8, 13)  # the Monday after it: same round
    assert week_start(date(2024, 8, 20)) == date(2024, 8, 20)  # a Tuesday starts a week


def test_forecasters_are_scored_on_the_same_matches_and_missing_bookmakers_are_counted() -> None:
    history = fixtures(date(2023, 8, 8), 10, "2023-24")
    test = fixtures(date(2024, 8, 6), 4, "2024-25")
    test[4] = Match(
        *[getattr(test[4], f) for f in ("competition", "season", "date", "home", "away", "home_goals", "away_goals")],
        numbers={},
    )
    forecasters = [
        BaseRate(),
        Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA")),
        Bookmaker("bet365", ("B365H", "B365D", "B365A")),
        DixonColesMLE(),
    ]
    result = walk_forward(history, test, forecasters)
    summary = summarise(result, reference="dixon_coles_mle")
    assert summary["pinnacle_closing"]["n"] == summary["base_rate"]["n"] == 11
    assert summary["pinnacle_closing"]["skipped_rows"] == 1
    assert summary["bet365"]["n"] == 0 and summary["bet365"]["skipped_rows"] == 12
    assert "dixon_coles_mle_rps_minus_this" in summary["base_rate"]
    dc = result.forecasts["dixon_coles_mle"]
    np.testing.assert_allclose(dc.sum(axis=1), 1, atol=1e-9)


def test_two_week_backtest_command_on_shipped_seasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fit_calls: list[dict[str, Any]] = []

    def recorded_fit(*args: Any, **kwargs: Any) -> Any:
        fit_calls.append(kwargs)
        return real_fit(*args, **kwargs)

    real_fit = research.backtest.fit_posterior
    monkeypatch.setattr(research.backtest, "fit_posterior", recorded_fit)
    history, test = [str(p) for p in SAMPLE_RESULTS[-2:-1]], str(SAMPLE_RESULTS[-1])
    out, plot = tmp_path / "scores.json", tmp_path / "reliability.png"
    status = backtest_main(
        [
            "--history",
            *history,
            "--test",
            test,
            "--json",
            str(out),
            "--plot",
            str(plot),
            "--weeks",
            "2",
            "--chains",
            "2",
            "--warmup",
            "150",
            "--samples",
            "150",
            "--keep-posteriors",
            str(tmp_path / "posteriors"),
            "--warm-warmup",
            "60",
            "--warm-draws",
            "plus-saved-warmup",
        ]
    )
    assert status == 0
    summary = json.loads(out.read_text())
    names = {"model", "pinnacle_closing", "bet365", "dixon_coles_mle", "base_rate"}
    assert names <= set(summary) and summary["settings"]["weeks"] == 2
    served = MODELS[DEFAULT_MODEL].settings
    assert summary["settings"]["model_settings"]["prediction_stretch"] == served["prediction_stretch"]
    fits = summary["settings"]["weekly_fits"]  # one record per week: what a fit cost and whether it published
    assert len(fits) == 2 and all(f["seconds"] > 0 and {"published", "reran", "max_r_hat"} <= set(f) for f in fits)
    assert summary["settings"]["weeks_failing_served_gate"] == sum(not f["published"] for f in fits)
    # As the service does: the first fit warms up cold, the next starts from the posterior that predicted before it.
    assert summary["settings"]["warm_start"] is True
    assert [f["warm_tried"] for f in fits] == [False, True]
    assert summary["settings"]["warm_warmup"] == 60  # a warm fit's warmup as the run chose it, not the service's
    assert {call["warm_warmup"] for call in fit_calls} == {60}
    assert all(f["warmup"] == (60 if f["warm"] else 150) for f in fits if f["published"])
    # The run's choice of a warm fit's draws reaches every fit: the 90 warmup iterations it saves become draws.
    assert summary["settings"]["warm_spends_saved_warmup"] is True
    assert {call["warm_spends_saved_warmup"] for call in fit_calls} == {True}
    assert all(f["samples"] == (240 if f["warm"] else 150) for f in fits if f["published"])
    n = {summary[name]["n"] for name in names}
    assert len(n) == 1 and n.pop() >= 10  # every forecaster on the same matches
    for name in names:
        assert 0.1 < summary[name]["rps"] < 0.35 and summary[name]["log_loss"] > 0
    assert summary["model"]["rps"] < summary["base_rate"]["rps"]
    assert plot.stat().st_size > 10_000
    kept = sorted((tmp_path / "posteriors").glob("week-*.npz"))
    assert len(kept) == 2  # one posterior per predicted week, as it was used
    with np.load(kept[0]) as week:
        teams = len(week["team_codes"])
        draws = 2 * 150  # every draw of both chains
        assert teams == 20 and week["attack"].shape == week["defence"].shape == (draws, teams)
        assert week["intercept"].shape == week["home"].shape == week["rho"].shape == (draws,)


def test_the_score_driven_rating_forecasts_every_match_of_a_new_seasons_first_weeks() -> None:
    history, test = read_results(SAMPLE_RESULTS[:-1]), read_results(SAMPLE_RESULTS[-1:])
    result = walk_forward(history, test, [ScoreDrivenRating(), DixonColesMLE()], weeks=2)
    rating = result.forecasts["rating"]
    assert len(rating) == len(result.matches) >= 10
    assert np.allclose(rating.sum(axis=1), 1) and (rating > 0).all()
    # Not a copy of the classic baseline, but of the same kind: the same favourite in most matches.
    favourites = rating.argmax(axis=1) == result.forecasts["dixon_coles_mle"].argmax(axis=1)
    assert not np.allclose(rating, result.forecasts["dixon_coles_mle"], atol=0.01) and favourites.mean() > 0.7
