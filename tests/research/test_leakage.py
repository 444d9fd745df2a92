"""No forecaster of a week sees that week's results, or anything later: the scramble test.

Walk a real shipped season forward twice, the second time with every result from week W on replaced
by random values (goals, statistics, everything recorded at or after kick-off; from the week after W
on, the prices too). A week W match's prices stay: they are set before its kick-off, and the market
benchmarks forecast with them. Every forecast of the weeks up to and including W must come out
bitwise the same: week W's results are not known when week W is forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pytest

from matchodds.core.results import Fixture, Match, read_results
from research.backtest import (
    NO_GATE,
    PRE_MATCH_PRICE,
    BacktestResult,
    BaseRate,
    Bookmaker,
    DixonColesMLE,
    Forecaster,
    ScoreDrivenRating,
    ServedModel,
    fixture_of,
    walk_forward,
    week_start,
)
from research.model_quality import DATA
from services.fit.inference import SamplerSettings
from services.fit.model import DEFAULT_MODEL

HISTORY = DATA / "E0" / "2022-23.csv"
SEASON = DATA / "E0" / "2023-24.csv"


def scrambled(matches: Sequence[Match], first_week: date, seed: int = 7) -> list[Match]:
    """The matches with every result from `first_week` on random, and every price after that week random."""
    rng = np.random.default_rng(seed)
    out = []
    for match in matches:
        start = week_start(match.date)
        if start < first_week:
            out.append(match)
            continue
        numbers = {}
        for column, value in match.numbers.items():
            if not PRE_MATCH_PRICE.fullmatch(column):
                numbers[column] = float(rng.integers(0, 15))  # goals, statistics, attendance
            elif start == first_week:
                numbers[column] = value  # set before kick-off: known when the week is forecast
            else:
                numbers[column] = float(np.round(rng.uniform(1.05, 15.0), 2))
        goals = rng.integers(0, 7, size=2)
        out.append(replace(match, home_goals=int(goals[0]), away_goals=int(goals[1]), numbers=numbers))
    return out


def changed(first: BacktestResult, second: BacktestResult, up_to: date) -> dict[str, bool]:
    """Per forecaster: whether any forecast of a week starting on or before `up_to` differs between the runs."""
    weeks = np.array([week_start(m.date) for m in first.matches])
    assert [m.date for m in first.matches] == [m.date for m in second.matches]
    rows = weeks <= up_to
    assert 0 < rows.sum() < len(rows)
    return {
        name: not np.array_equal(first.forecasts[name][rows], second.forecasts[name][rows], equal_nan=True)
        for name in first.forecasts
    }


@dataclass
class UsesAllItIsShown:
    """A forecaster that depends on every number a fixture carries: unchanged only if none is a result."""

    name: str = "uses_all_it_is_shown"

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        weights = np.array([[1.0 + sum(f.numbers.values()) % 1.0, 1.0, 1.0 + len(f.numbers) % 3] for f in week])
        return weights / weights.sum(axis=1, keepdims=True)


@dataclass
class PeeksAtTheWeek:
    """The blind spot's bug, on purpose: Dixon-Coles fitted on the training matches plus the predicted
    week's own results, found by looking its fixtures up in the season it was handed."""

    season: Sequence[Match]
    name: str = "peeks_at_the_week"

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        played = {(m.date, m.home, m.away): m for m in self.season}
        peeked = [played[(f.date, f.home, f.away)] for f in week]
        return DixonColesMLE(name=self.name).forecast([*train, *peeked], week, teams)


def honest_forecasters() -> list[Forecaster]:
    return [
        Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA")),
        Bookmaker("bet365", ("B365H", "B365D", "B365A")),
        BaseRate(),
        DixonColesMLE(),
        ScoreDrivenRating(market=True, name="rating_with_past_prices"),  # reads all the results-only one does
        UsesAllItIsShown(),
    ]


def season_weeks(matches: Sequence[Match]) -> list[date]:
    return sorted({week_start(m.date) for m in matches})


@pytest.mark.unit
def test_a_fixture_carries_the_prices_and_nothing_recorded_at_or_after_kick_off() -> None:
    match = read_results([SEASON])[0]
    fixture = fixture_of(match)
    assert (fixture.date, fixture.home, fixture.away) == (match.date, match.home, match.away)
    assert {"PSCH", "PSH", "B365H", "AvgCH", "B365C>2.5", "AHh", "PCAHH"} <= set(fixture.numbers)
    results = {"FTHG", "FTAG", "HTHG", "HTAG", "HS", "AS", "HST", "AST", "HC", "AC", "HF", "AF", "HY", "AR"}
    assert results <= set(match.numbers) and not results & set(fixture.numbers)
    assert not hasattr(fixture, "home_goals") and not hasattr(fixture, "result")


@pytest.mark.unit
def test_every_column_of_every_shipped_file_is_a_price_or_kept_from_forecasters() -> None:
    """Pins the split of football-data's columns: a new kind of column stays hidden until someone decides."""
    import csv

    columns = set()
    for path in DATA.glob("*/*.csv"):
        with path.open(encoding="latin-1", newline="") as file:
            columns |= {column.strip().removeprefix("ï»¿") for column in next(csv.reader(file))}
    prices = {column for column in columns if PRE_MATCH_PRICE.fullmatch(column)}
    hidden = columns - prices
    assert len(prices) == 176 and {"PSCH", "B365H", "BbAvAHH", "1XBCA", "MaxC_2_5_1", "BbOU"} <= prices
    assert hidden == {
        *("", "Div", "Date", "Time", "HomeTeam", "AwayTeam", "Referee", "Attendance"),
        *("FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR"),
        *("HS", "AS", "HST", "AST", "HHW", "AHW", "HC", "AC", "HF", "AF", "HO", "AO"),
        *("HY", "AY", "HR", "AR", "HBP", "ABP"),
        *("Unnamed__70", "Unnamed__71", "Unnamed__72"),
    }


@pytest.mark.research  # no NUTS here, but Dixon-Coles and the rating fitted every week
def test_scrambling_the_results_from_week_w_on_leaves_every_forecast_up_to_week_w_unchanged() -> None:
    history, season = read_results([HISTORY]), read_results([SEASON])
    weeks = season_weeks(season)
    week_w = weeks[1]
    other_season = scrambled(season, week_w)
    assert sum(m.home_goals != o.home_goals for m, o in zip(season, other_season, strict=True)) > 200

    runs = [
        walk_forward(history, matches, [*honest_forecasters(), PeeksAtTheWeek(matches)], weeks=3)
        for matches in (season, other_season)
    ]

    up_to_w = changed(*runs, up_to=week_w)
    # The one forecaster that looks at the week's results is caught, in week W itself...
    assert up_to_w == {name: name == "peeks_at_the_week" for name in up_to_w}
    before_w = changed(*runs, up_to=weeks[0])
    assert not any(before_w.values())  # ...and not before: its training data are the same
    # The scramble reaches every forecaster from the week after W: the test has something to catch.
    after = {
        name: not np.array_equal(runs[0].forecasts[name], runs[1].forecasts[name], equal_nan=True)
        for name in runs[0].forecasts
    }
    assert all(after.values()), after


@pytest.mark.research
def test_the_served_model_forecasts_up_to_week_w_ignore_results_from_week_w_on() -> None:
    history, season = read_results([HISTORY]), read_results([SEASON])
    week_w = season_weeks(season)[0]  # the season's first week: the one the model must forecast blind
    tiny = SamplerSettings(chains=1, warmup=300, samples=100, seed=3)  # enough warmup for a new season
    runs = [
        walk_forward(history, matches, [ServedModel(DEFAULT_MODEL, tiny, gate=NO_GATE)], weeks=2)
        for matches in (season, scrambled(season, week_w))
    ]
    assert changed(*runs, up_to=week_w) == {"model": False}  # bitwise the same: fixed seeds
    assert not np.allclose(runs[0].forecasts["model"], runs[1].forecasts["model"])  # week 2 saw other results
