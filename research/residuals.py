"""What the served model's goals leave unexplained, from the weekly posteriors a backtest kept.

Two of issue 23's leads, checked against the forecasts before any model is built for them:

- **Overdispersion and correlation** (a negative binomial or bivariate Poisson likelihood): each match's
  predictive distribution of the score (the Dixon-Coles grid averaged over every posterior draw, exactly
  as precompute prices it) gives the mean and variance of each side's goals and their covariance. If the
  goals varied more than the model expects, the mean squared Pearson residual would sit above 1; if the two
  sides' goals moved together beyond the grid's own covariance, their residuals' product would average above 0.
- **Team-specific finishing and keeping** (anything the model misses about a team that lasts): a team's
  goals scored minus expected over the first half of its season, against the same over the second half.
  A persistent miss makes the two halves correlate across team-seasons; a model that misses nothing
  lasting leaves them uncorrelated.

    python -m research.residuals build/research/posteriors/dev-seasons-w50-warm200 [...]

reads each `<DIV>-<SEASON>/week-<date>.npz` there with `data/football-data/<DIV>/<SEASON>.csv`. The
intervals are 90 % bootstrap intervals over matches (dispersion) or team-seasons (persistence).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from matchodds.core.grid import PredictionDraws, score_grids
from matchodds.core.results import Match, read_results_file
from research.backtest import week_start

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "football-data"
MAX_GOALS = 12  # the grid's last row and column; the mass beyond is below 1e-6 for any rate seen here
BOOTSTRAP = 2000


@dataclass(frozen=True)
class Scored:
    """One match's goals and the model's predictive moments for them."""

    competition: str
    season: str
    home: str
    away: str
    home_goals: int
    away_goals: int
    home_mean: float
    away_mean: float
    home_variance: float
    away_variance: float
    covariance: float


def moments(grid: np.ndarray) -> tuple[float, float, float, float, float]:
    """(home mean, away mean, home variance, away variance, covariance) of a score pmf."""
    goals = np.arange(grid.shape[0], dtype=np.float64)
    home_pmf, away_pmf = grid.sum(axis=1), grid.sum(axis=0)
    home_mean, away_mean = float(goals @ home_pmf), float(goals @ away_pmf)
    home_variance = float((goals - home_mean) ** 2 @ home_pmf)
    away_variance = float((goals - away_mean) ** 2 @ away_pmf)
    covariance = float((goals - home_mean) @ grid @ (goals - away_mean))
    return home_mean, away_mean, home_variance, away_variance, covariance


def kept_weeks(season: Path, data: Path = DATA) -> Iterator[tuple[list[Match], dict[str, np.ndarray], list[str]]]:
    """For each week of a kept season (`<run>/<DIV>-<SEASON>/`) that has a kept posterior: the week's matches
    from the season's file, the posterior's draws by name, and its team codes."""
    competition, name = season.name.split("-", 1)
    by_week: dict[date, list[Match]] = {}
    for match in read_results_file(data / competition / f"{name}.csv"):
        by_week.setdefault(week_start(match.date), []).append(match)
    for week, matches in sorted(by_week.items()):
        path = season / f"week-{week.isoformat()}.npz"
        if not path.exists():
            continue  # a week the backtest did not predict (before its first fit)
        with np.load(path) as kept:
            codes = [str(code) for code in kept["team_codes"]]
            draws = {name: np.asarray(kept[name], dtype=np.float64) for name in kept.files if name != "team_codes"}
        yield matches, draws, codes


def score_season(season: Path, data: Path = DATA) -> list[Scored]:
    """Every match of one kept season scored against the posterior that predicted its week, by the score grid
    precompute serves (matchodds.core.grid.score_grids: every draw, Dixon-Coles with rho held in its bounds)."""
    competition, name = season.name.split("-", 1)
    scored = []
    for matches, draws, codes in kept_weeks(season, data):
        predicted = PredictionDraws(
            draws["intercept"], draws["home"], draws["attack"], draws["defence"], draws.get("rho")
        )
        home = np.array([codes.index(match.home) for match in matches])
        away = np.array([codes.index(match.away) for match in matches])
        for match, grid in zip(matches, score_grids(predicted, home, away, MAX_GOALS), strict=True):
            scored.append(
                Scored(
                    competition,
                    name,
                    match.home,
                    match.away,
                    match.home_goals,
                    match.away_goals,
                    *moments(grid / grid.sum()),
                )
            )
    return scored


def bootstrap_interval(values: np.ndarray, statistic=np.mean, seed: int = 0) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """The statistic and its 90 % bootstrap interval over the rows of `values`."""
    generator = np.random.default_rng(seed)
    resampled = [statistic(values[generator.integers(0, len(values), len(values))]) for _ in range(BOOTSTRAP)]
    low, high = np.quantile(resampled, [0.05, 0.95])
    return float(statistic(values)), float(low), float(high)


def dispersion(scored: Sequence[Scored]) -> dict[str, tuple[float, float, float]]:
    """Mean squared Pearson residual of each side's goals (1 if the grid's variance is right) and the mean
    standardised product of the two sides' residuals minus the grid's own correlation (0 if right)."""
    home_residual = np.array([(s.home_goals - s.home_mean) / np.sqrt(s.home_variance) for s in scored])
    away_residual = np.array([(s.away_goals - s.away_mean) / np.sqrt(s.away_variance) for s in scored])
    correlation = np.array([s.covariance / np.sqrt(s.home_variance * s.away_variance) for s in scored])
    return {
        "home goals: mean squared Pearson residual": bootstrap_interval(home_residual**2),
        "away goals: mean squared Pearson residual": bootstrap_interval(away_residual**2),
        "both sides: residual product minus the grid's correlation": bootstrap_interval(
            home_residual * away_residual - correlation
        ),
    }


def halves(scored: Sequence[Scored]) -> np.ndarray:
    """Per team-season: (goals scored - expected) and (conceded - expected) in the first and second half of
    its matches, per match; rows (scored first, scored second, conceded first, conceded second)."""
    rows = []
    teams = sorted({(s.competition, s.season, team) for s in scored for team in (s.home, s.away)})
    for competition, season, team in teams:
        played = [s for s in scored if (s.competition, s.season) == (competition, season) and team in (s.home, s.away)]
        if len(played) < 10:
            continue
        scored_minus = np.array(
            [s.home_goals - s.home_mean if s.home == team else s.away_goals - s.away_mean for s in played]
        )
        conceded_minus = np.array(
            [s.away_goals - s.away_mean if s.home == team else s.home_goals - s.home_mean for s in played]
        )
        middle = len(played) // 2
        rows.append(
            [
                scored_minus[:middle].mean(),
                scored_minus[middle:].mean(),
                conceded_minus[:middle].mean(),
                conceded_minus[middle:].mean(),
            ]
        )
    return np.array(rows)


def persistence(scored: Sequence[Scored]) -> dict[str, tuple[float, float, float]]:
    """The correlation across team-seasons between the two halves' misses, for goals scored and conceded."""
    table = halves(scored)
    if len(table) < 3:
        return {}  # too few team-seasons of ten matches or more to correlate

    def correlation(columns: tuple[int, int]):  # type: ignore[no-untyped-def]
        return lambda rows: float(np.corrcoef(rows[:, columns[0]], rows[:, columns[1]])[0, 1])

    return {
        f"goals scored, first half's miss against the second's ({len(table)} team-seasons)": bootstrap_interval(
            table, correlation((0, 1))
        ),
        f"goals conceded, first half's miss against the second's ({len(table)} team-seasons)": bootstrap_interval(
            table, correlation((2, 3))
        ),
    }


def report(runs: Sequence[Path], data: Path = DATA) -> str:
    scored = [
        row
        for run in runs
        for season in sorted(p for p in run.iterdir() if p.is_dir())
        for row in score_season(season, data)
    ]
    lines = [
        f"{len(scored)} matches from {', '.join(str(run) for run in runs)}",
        "",
        "| check | value | 90 % interval |",
        "|---|---:|---|",
    ]
    for name, (value, low, high) in {**dispersion(scored), **persistence(scored)}.items():
        lines.append(f"| {name} | {value:+.3f} | [{low:+.3f}, {high:+.3f}] |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m research.residuals", description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="kept weekly posteriors: build/research/posteriors/<run>")
    parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    args = parser.parse_args(argv)
    missing = [str(run) for run in args.runs if not run.is_dir()]
    if missing:
        print(
            f"research.residuals: no kept posteriors in {', '.join(missing)} (run research.model_quality first)",
            file=sys.stderr,
        )
        return 2
    print(report(args.runs, args.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
