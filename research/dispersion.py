"""Goals narrower than Poisson, at pricing: what a Conway-Maxwell-Poisson grid would change (issue 23).

The residual check (research/residuals.py) found each side's goals varying about a tenth less than the
served Poisson grid says. This prices the kept weekly posteriors again with each draw's Poisson(rate)
replaced by a Conway-Maxwell-Poisson of the same mean, P(k) ∝ (μ^k / k!)^ν, μ chosen so that the mean is
the rate: ν = 1 is the Poisson, ν > 1 is narrower. Dixon-Coles' correction and each draw's rho stay. No
refit: the posterior is the Poisson model's, so this measures the pricing half of the idea only.

    python -m research.dispersion fit build/research/posteriors/<run> [...]     # nu by maximum likelihood
    python -m research.dispersion test build/research/posteriors/<run> [...] --nu 1.1   # RPS against nu = 1

Each run directory holds `<DIV>-<SEASON>/week-<date>.npz` as `research.model_quality run` keeps them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from matchodds.core.grid import DIXON_COLES_SCORES, low_score_taus
from research.evaluation import paired_bootstrap, rps
from research.residuals import DATA, kept_weeks

MAX_GOALS = 12  # the priced grid's last row and column
TAIL = 40  # the normalising sum runs this far
NU_GRID = (1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3)


@cache
def mean_table(nu: float) -> tuple[np.ndarray, np.ndarray]:
    """(μ, mean) on a fine grid of μ: the COM-Poisson's mean rises with μ, so it inverts by interpolation."""
    mu = np.geomspace(0.01, 12.0, 6000)
    pmf = com_pmf_of_mu(mu, nu, TAIL)
    return mu, pmf @ np.arange(TAIL + 1)


def com_pmf_of_mu(mu: np.ndarray, nu: float, last: int) -> np.ndarray:
    """P(k) for k = 0..last, normalised over 0..TAIL, of COM-Poisson(μ, ν); shape (*mu.shape, last + 1)."""
    goals = np.arange(TAIL + 1)
    log_weight = nu * (goals * np.log(mu)[..., None] - gammaln(goals + 1))
    log_weight -= log_weight.max(axis=-1, keepdims=True)
    weight = np.exp(log_weight)
    pmf: np.ndarray = weight / weight.sum(axis=-1, keepdims=True)
    return pmf[..., : last + 1]


def com_pmf(rate: np.ndarray, nu: float) -> np.ndarray:
    """P(k), k = 0..MAX_GOALS, of the COM-Poisson with ν whose mean is `rate` (Poisson(rate) at ν = 1)."""
    mu_grid, mean_grid = mean_table(float(nu))
    mu = np.interp(rate, mean_grid, mu_grid)
    return com_pmf_of_mu(mu, nu, MAX_GOALS)


def score_grid(draws: dict[str, np.ndarray], h: int, a: int, nu: float) -> np.ndarray:
    """The predictive score grid of one match: each draw's COM-Poisson pair with Dixon-Coles' correction,
    averaged over the draws and normalised (at ν = 1, the grid precompute serves, to the truncation)."""
    home_rate = np.exp(draws["intercept"] + draws["home"] / 2 + draws["attack"][:, h] + draws["defence"][:, a])
    away_rate = np.exp(draws["intercept"] - draws["home"] / 2 + draws["attack"][:, a] + draws["defence"][:, h])
    grid = com_pmf(home_rate, nu)[:, :, None] * com_pmf(away_rate, nu)[:, None, :]
    if "rho" in draws:  # the taus precompute applies: rho held within Dixon & Coles' bounds per draw
        for (home_goals, away_goals), tau in zip(
            DIXON_COLES_SCORES, low_score_taus(home_rate, away_rate, draws["rho"]), strict=True
        ):
            grid[:, home_goals, away_goals] *= tau
    mean: np.ndarray = grid.mean(axis=0)
    return mean / mean.sum()


def outcome(grid: np.ndarray) -> np.ndarray:
    """(home win, draw, away win) of a score grid (rows: home goals)."""
    return np.array([np.tril(grid, -1).sum(), np.trace(grid), np.triu(grid, 1).sum()])


@dataclass(frozen=True)
class Kept:
    """One match and the draws of the posterior that predicted it."""

    season: str
    draws: dict[str, np.ndarray]
    home: int
    away: int
    home_goals: int
    away_goals: int

    @property
    def result(self) -> int:
        return 0 if self.home_goals > self.away_goals else 1 if self.home_goals == self.away_goals else 2


def kept_matches(runs: Sequence[Path], data: Path = DATA, every_draw: int = 1) -> Iterator[Kept]:
    """Every match of the runs' seasons whose week has a kept posterior, with every `every_draw`-th draw."""
    for run in runs:
        for season in sorted(path for path in run.iterdir() if path.is_dir()):
            for matches, draws, codes in kept_weeks(season, data):
                thinned = {name: values[::every_draw] for name, values in draws.items()}
                for match in matches:
                    yield Kept(
                        season.name,
                        thinned,
                        codes.index(match.home),
                        codes.index(match.away),
                        match.home_goals,
                        match.away_goals,
                    )


def fit_nu(
    runs: Sequence[Path], data: Path = DATA, grid: Sequence[float] = NU_GRID
) -> tuple[float, dict[float, float]]:
    """ν by maximum likelihood of the observed scores under each match's predictive grid (every 4th draw)."""
    return best_nu(list(kept_matches(runs, data, every_draw=4)), grid)


def best_nu(matches: Sequence[Kept], grid: Sequence[float] = NU_GRID) -> tuple[float, dict[float, float]]:
    """The ν of `grid` under which the observed scores are likeliest, and each ν's log likelihood."""
    log_likelihood = {}
    for nu in grid:
        total = 0.0
        for match in matches:
            cell = score_grid(match.draws, match.home, match.away, nu)
            total += float(np.log(cell[min(match.home_goals, MAX_GOALS), min(match.away_goals, MAX_GOALS)]))
        log_likelihood[nu] = total
    return max(log_likelihood, key=lambda nu: log_likelihood[nu]), log_likelihood


def compare_nu(runs: Sequence[Path], nu: float, data: Path = DATA) -> str:
    """The RPS at ν against ν = 1, the same code pricing both, paired by match; per season and pooled."""
    rows: dict[str, list[tuple[float, float, np.ndarray, np.ndarray]]] = {}
    for match in kept_matches(runs, data):
        outcomes = np.array([match.result])
        poisson = outcome(score_grid(match.draws, match.home, match.away, 1.0))
        narrower = outcome(score_grid(match.draws, match.home, match.away, nu))
        rows.setdefault(match.season, []).append(
            (float(rps(poisson[None], outcomes)[0]), float(rps(narrower[None], outcomes)[0]), poisson, narrower)
        )
    lines = [
        f"| season | n | RPS, Poisson (ν = 1) | RPS, ν = {nu:g} | difference, 90 % interval "
        f"| mean draw probability, ν = 1 / {nu:g} |",
        "|---|---:|---:|---:|---|---|",
    ]
    everything = [row for season in rows.values() for row in season]
    for name, season_rows in [*sorted(rows.items()), ("pooled", everything)]:
        base = np.array([row[0] for row in season_rows])
        other = np.array([row[1] for row in season_rows])
        mean, low, high = paired_bootstrap(other - base)
        draws_then = np.mean([row[2][1] for row in season_rows])
        draws_now = np.mean([row[3][1] for row in season_rows])
        lines.append(
            f"| {name} | {len(base)} | {base.mean():.4f} | {other.mean():.4f} | "
            f"{mean:+.5f} [{low:+.5f}, {high:+.5f}] | {draws_then:.3f} / {draws_now:.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m research.dispersion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("fit", help="ν by maximum likelihood of the observed scores")
    test_parser = commands.add_parser("test", help="the RPS at ν against the Poisson, paired by match")
    test_parser.add_argument("--nu", type=float, required=True)
    for each in (fit_parser, test_parser):
        each.add_argument("runs", type=Path, nargs="+", help="kept weekly posteriors: build/research/posteriors/<run>")
        each.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    args = parser.parse_args(argv)
    missing = [str(run) for run in args.runs if not run.is_dir()]
    if missing:
        print(f"research.dispersion: no kept posteriors in {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.command == "fit":
        best, log_likelihood = fit_nu(args.runs, args.data)
        for nu, value in log_likelihood.items():
            print(f"nu {nu:g}: log likelihood {value:.2f}{'  <- maximum' if nu == best else ''}")
    else:
        print(compare_nu(args.runs, args.nu, args.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
