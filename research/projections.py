"""Are the season projections right? Walk forward through past seasons and score them against what happened.

    python -m research.projections run [DIV:SEASON ...]   # fit and project at rounds 10, 20, 30 (slow: NUTS)
    python -m research.projections report                 # docs/projections.md's tables, from the kept results
    python -m research.projections plot                   # its calibration plot, drawn again

At each checkpoint the served model is fitted by the served `fit_posterior` on the three seasons before
and the season so far, the rest of the season (its real later matches) is projected by the served
`project_season`, and each team's P(title), P(top 4) and P(relegation) is kept beside a naive baseline's
(points per game so far, extrapolated with its spread) and the final table. The protocol is in
docs/projections.md, "Validation"; the per-team results in research/results/projections/.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from matchodds.core.projection import LeagueRules, Standings, league_rules, played_results, rank, tables
from matchodds.core.results import Fixture, Match, read_results
from matchodds.core.season import SeasonRecord, season_record
from research.model_quality import previous_seasons

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "football-data"
RESULTS = ROOT / "research" / "results" / "projections"
DOC = ROOT / "docs" / "projections.md"
PLOT = ROOT / "docs" / "projections-calibration.png"
# The protocol of docs/projections.md, "Validation": the last four shipped seasons of each league.
TARGETS = [f"E0:{season}" for season in ("2021-22", "2022-23", "2023-24", "2024-25")] + [
    f"{division}:{season}"
    for division in ("D1", "F1", "I1", "SP1")
    for season in ("2020-21", "2021-22", "2022-23", "2023-24")
]
CHECKPOINTS = (10, 20, 30)
CHAINS, WARMUP, SAMPLES, SEED = 2, 300, 300, 0
SIMULATIONS = 10_000
EVENTS = ("title", "top4", "relegation")
FORECASTERS = ("projection", "baseline")
CLIP = 1e-4
BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL = 2000, 0.9


def checkpoint_date(season_matches: Sequence[Match], rounds: int, n_teams: int) -> date:
    """The date of match number rounds x teams / 2 of the season, by date: the checkpoint's day."""
    dates = sorted(match.date for match in season_matches)
    return dates[rounds * n_teams // 2 - 1]


def zone_events(positions: np.ndarray, rules: LeagueRules) -> dict[str, np.ndarray]:
    """Whether each position (0 = top, any shape) is in the title, top-4 (europe) and relegation zones."""
    n_teams = positions.shape[-1]
    return {
        "title": positions < rules.title,
        "top4": positions < rules.europe,
        "relegation": positions >= n_teams - rules.relegation,
    }


def final_positions(record: SeasonRecord, rules: LeagueRules) -> np.ndarray:
    """Each team's place (0 = top) in the table of every match of `record`, by the league's tie-breaks."""
    n_teams = len(record.teams)
    standings = Standings.of(tables(n_teams, played_results(record)))
    return rank(standings, rules.tie_breaks, -np.arange(n_teams, dtype=np.float64))[0]


@dataclass(frozen=True)
class SoFar:
    """Each team's points, wins, draws and losses so far and its matches left: (teams,) each."""

    points: np.ndarray
    won: np.ndarray
    drawn: np.ndarray
    lost: np.ndarray
    left: np.ndarray


def so_far(record: SeasonRecord, remaining_home: np.ndarray, remaining_away: np.ndarray) -> SoFar:
    """The table so far of `record` (its played matches) and each team's number of remaining matches."""
    n_teams = len(record.teams)
    played = played_results(record)
    assert played.home_goals is not None and played.away_goals is not None
    margin = played.home_goals - played.away_goals
    sides = np.concatenate([played.home, played.away])
    signed = np.concatenate([margin, -margin])
    won = np.bincount(sides[signed > 0], minlength=n_teams)
    drawn = np.bincount(sides[signed == 0], minlength=n_teams)
    lost = np.bincount(sides[signed < 0], minlength=n_teams)
    left = np.bincount(np.concatenate([remaining_home, remaining_away]), minlength=n_teams)
    return SoFar(3 * won + drawn, won, drawn, lost, left)


def baseline_probabilities(
    table: SoFar, rules: LeagueRules, simulations: int = SIMULATIONS, seed: int = SEED
) -> dict[str, np.ndarray]:
    """P(title), P(top 4), P(relegation) per team: each team's matches left drawn independently from its own
    win / draw / loss frequencies so far, added to its points, tables ranked by points with ties at random."""
    rng = np.random.default_rng(seed)
    n_teams = table.points.shape[0]
    final_points = np.empty((simulations, n_teams))
    for team in range(n_teams):
        played = table.won[team] + table.drawn[team] + table.lost[team]
        frequencies = np.array([table.won[team], table.drawn[team], table.lost[team]]) / max(played, 1)
        if played == 0:
            frequencies = np.full(3, 1 / 3)
        outcomes = rng.multinomial(table.left[team], frequencies, size=simulations)
        final_points[:, team] = table.points[team] + 3 * outcomes[:, 0] + outcomes[:, 1]
    order = np.lexsort((rng.random((simulations, n_teams)), -final_points), axis=-1)
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.broadcast_to(np.arange(n_teams), order.shape), axis=-1)
    return {event: happened.mean(axis=0) for event, happened in zone_events(positions, rules).items()}


def project_checkpoint(
    history: Sequence[Match], season_matches: Sequence[Match], competition: str, through: date
) -> tuple[dict[str, np.ndarray], SeasonRecord, SoFar, dict[str, Any]]:
    """The served fit and projection as of `through`: probabilities per team of the record, the record,
    the table so far and the fit's diagnostics."""
    from services.fit import configure_jax

    configure_jax()  # splits the CPU into devices before JAX computes
    from matchodds.core.projection import project_posterior
    from research.backtest import NO_GATE
    from services.fit.inference import fit_posterior, sampler_for
    from services.fit.model import DEFAULT_MODEL, MODELS

    known = [match for match in season_matches if match.date <= through]
    later = [Fixture(competition, m.date, m.home, m.away) for m in season_matches if m.date > through]
    model = MODELS[DEFAULT_MODEL]
    sampler = sampler_for(model, CHAINS, WARMUP, SAMPLES, SEED)
    started = time.perf_counter()
    posterior = fit_posterior([*history, *known], model, competition, sampler, NO_GATE, as_of=through, fixtures=later)
    fit_seconds = time.perf_counter() - started
    projection = project_posterior(posterior, SIMULATIONS, SEED)
    if projection is None:
        raise ValueError(f"{competition} {season_matches[0].season}: no season recorded on {through}")
    if projection.remaining_matches != len(later):
        raise ValueError(f"{projection.remaining_matches} matches projected, {len(later)} left in the file")
    zones = projection.zone_probabilities()
    probabilities = {"title": zones["p_title"], "top4": zones["p_europe"], "relegation": zones["p_relegation"]}
    record = projection.record
    index = {code: position for position, code in enumerate(record.teams)}
    table = so_far(
        record, np.array([index[f.home] for f in later], dtype=np.intp), np.array([index[f.away] for f in later])
    )
    diagnostics = {
        **{key: posterior.meta["diagnostics"][key] for key in ("max_r_hat", "min_bulk_ess", "divergences")},
        "fit_seconds": round(fit_seconds, 1),
        "matches_known": len(known),
        "matches_left": len(later),
        "remaining_from": projection.remaining_from,
    }
    return {event: np.asarray(p) for event, p in probabilities.items()}, record, table, diagnostics


def run(targets: Sequence[str], data: Path = DATA, results: Path = RESULTS) -> None:
    """Each DIV:SEASON target at every checkpoint into `results`: a CSV of per-team probabilities and outcomes,
    a JSON of each fit's settings and diagnostics."""
    results.mkdir(parents=True, exist_ok=True)
    for target in targets:
        competition, season = target.split(":")
        history = read_results([data / competition / f"{s}.csv" for s in previous_seasons(season)])
        season_matches = [
            m for m in read_results([data / competition / f"{season}.csv"]) if m.competition == competition
        ]
        n_teams = len({m.home for m in season_matches} | {m.away for m in season_matches})
        rules = league_rules(competition)
        rows: list[dict[str, Any]] = []
        fits: dict[str, Any] = {}
        for rounds in CHECKPOINTS:
            through = checkpoint_date(season_matches, rounds, n_teams)
            projected, record, table, diagnostics = project_checkpoint(history, season_matches, competition, through)
            if len(record.teams) != n_teams:
                raise ValueError(f"{target}: the recorded league {record.teams} is not the season's {n_teams} teams")
            teams = record.teams
            final = final_positions(season_record(season, teams, season_matches), rules)
            happened = zone_events(final, rules)
            baseline = baseline_probabilities(table, rules)
            fits[str(rounds)] = {"through": through.isoformat(), **diagnostics}
            logger.info("%s round %d (through %s): %s", target, rounds, through, diagnostics)
            for team, code in enumerate(teams):
                rows.append(
                    {
                        "checkpoint": rounds,
                        "team": code,
                        "points": int(table.points[team]),
                        "played": int(table.won[team] + table.drawn[team] + table.lost[team]),
                        "final_position": int(final[team]) + 1,
                        **{f"projection_{e}": round(float(projected[e][team]), 4) for e in EVENTS},
                        **{f"baseline_{e}": round(float(baseline[e][team]), 4) for e in EVENTS},
                        **{f"happened_{e}": int(happened[e][team]) for e in EVENTS},
                    }
                )
        name = f"{competition}-{season}"
        with (results / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        settings = {
            "command": f"python -m research.projections run {target}",
            "model": "served (services.fit.model.DEFAULT_MODEL)",
            "sampler": {"chains": CHAINS, "warmup": WARMUP, "samples": SAMPLES, "seed": SEED},
            "simulations": SIMULATIONS,
            "zones": rules.zones(),
        }
        (results / f"{name}.json").write_text(json.dumps({"settings": settings, "fits": fits}, indent=1) + "\n")
        print(f"{name}: {json.dumps(fits)}", flush=True)


@dataclass(frozen=True)
class Kept:
    """The kept results: one row per (league-season, checkpoint, team)."""

    league_season: np.ndarray  # (rows,) e.g. "E0-2021-22"
    checkpoint: np.ndarray
    probabilities: dict[str, dict[str, np.ndarray]]  # forecaster -> event -> (rows,)
    happened: dict[str, np.ndarray]  # event -> (rows,) 0/1


def load(results: Path = RESULTS) -> Kept:
    """Every league-season's CSV under `results`, in name order."""
    rows: list[dict[str, str]] = []
    names: list[str] = []
    for path in sorted(results.glob("*.csv")):
        with path.open(newline="") as handle:
            season_rows = list(csv.DictReader(handle))
        rows += season_rows
        names += [path.stem] * len(season_rows)
    if not rows:
        raise FileNotFoundError(f"no results in {results}: run `python -m research.projections run` first")

    def column(name: str) -> np.ndarray:
        return np.array([float(row[name]) for row in rows])

    return Kept(
        np.array(names),
        column("checkpoint").astype(int),
        {f: {e: column(f"{f}_{e}") for e in EVENTS} for f in FORECASTERS},
        {e: column(f"happened_{e}") for e in EVENTS},
    )


def brier(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per forecast: (p - y)^2."""
    score: np.ndarray = (p - y) ** 2
    return score


def log_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per forecast: -log of the probability given to what happened, p clipped to [1e-4, 1 - 1e-4]."""
    clipped = np.clip(p, CLIP, 1 - CLIP)
    score: np.ndarray = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    return score


def season_bootstrap(differences: np.ndarray, groups: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): the pooled mean difference and its percentile interval, resampling league-seasons."""
    names, group = np.unique(groups, return_inverse=True)
    sums, counts = np.bincount(group, differences), np.bincount(group).astype(float)
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, names.size, (BOOTSTRAP_RESAMPLES, names.size))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - BOOTSTRAP_LEVEL) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(sums.sum() / counts.sum()), float(low), float(high)


def _scores(kept: Kept, rows: np.ndarray, events: Sequence[str], score: Any) -> dict[str, np.ndarray]:
    """forecaster -> per (row, event) scores, stacked event after event."""
    return {
        f: np.concatenate([score(kept.probabilities[f][e][rows], kept.happened[e][rows]) for e in events])
        for f in FORECASTERS
    }


def report(results: Path = RESULTS) -> str:
    """The tables of docs/projections.md, "Validation": scores per checkpoint and overall, per event."""
    kept = load(results)
    lines = [
        "| checkpoint | event | league-seasons | teams | Brier projection | Brier baseline "
        "| difference [90 % interval] | log loss projection | log loss baseline | difference [90 % interval] |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for checkpoint in (*CHECKPOINTS, None):
        rows = np.ones(kept.checkpoint.shape, dtype=bool) if checkpoint is None else kept.checkpoint == checkpoint
        where = "all" if checkpoint is None else f"round {checkpoint}"
        for events in (*((e,) for e in EVENTS), EVENTS):
            label = "all three" if len(events) > 1 else events[0]
            groups = np.concatenate([kept.league_season[rows]] * len(events))
            cells = []
            for score in (brier, log_loss):
                by = _scores(kept, rows, events, score)
                mean, low, high = season_bootstrap(by["projection"] - by["baseline"], groups)
                interval = f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"
                cells.append(f"{by['projection'].mean():.4f} | {by['baseline'].mean():.4f} | {interval}")
            bold = "**" if len(events) > 1 else ""
            lines.append(
                f"| {bold}{where}{bold} | {bold}{label}{bold} | {np.unique(kept.league_season[rows]).size} "
                f"| {int(rows.sum())} | {' | '.join(cells)} |"
            )
    return "\n".join(lines)


def calibration(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean forecast, observed frequency, count) in equal-width bins with any forecast."""
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    used = counts > 0
    forecast = np.bincount(which, p, minlength=bins)[used] / counts[used]
    observed = np.bincount(which, y, minlength=bins)[used] / counts[used]
    return forecast, observed, counts[used]


def plot(results: Path = RESULTS, path: Path = PLOT) -> Path:
    """The calibration plot (PNG): per event, forecast probability against observed frequency, every checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = load(results)
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharey=True)
    for axis, event in zip(axes, EVENTS, strict=True):
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        for forecaster, marker in zip(FORECASTERS, ("o", "s"), strict=True):
            forecast, observed, counts = calibration(kept.probabilities[forecaster][event], kept.happened[event])
            axis.plot(forecast, observed, marker=marker, markersize=4, label=forecaster)
            if forecaster == "projection":
                for x, y, n in zip(forecast, observed, counts, strict=True):
                    axis.annotate(str(int(n)), (x, y), fontsize=6, xytext=(3, -9), textcoords="offset points")
        axis.set_title({"title": "P(title)", "top4": "P(top 4)", "relegation": "P(relegation)"}[event])
        axis.set_xlabel("forecast probability (bins of 0.1)")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
    axes[0].set_ylabel("observed frequency")
    axes[0].legend(fontsize=8)
    seasons = np.unique(kept.league_season).size
    figure.suptitle(
        f"Calibration: {seasons} league-seasons x rounds {', '.join(map(str, CHECKPOINTS))}, "
        f"{kept.checkpoint.size} team forecasts per event (numbers: forecasts per bin)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """The command line of `python -m research.projections`; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m research.projections", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="fit and project each season at rounds 10, 20, 30 (slow)")
    run_parser.add_argument("targets", nargs="*", default=TARGETS, help="DIVISION:SEASON, default: the protocol's")
    run_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    for each in (run_parser, commands.add_parser("report", help="the tables, from the kept results (no refit)")):
        each.add_argument("--results", type=Path, default=RESULTS, help="where the per-season results are kept")
    plot_parser = commands.add_parser("plot", help="the calibration plot, from the kept results (no refit)")
    plot_parser.add_argument("--results", type=Path, default=RESULTS)
    plot_parser.add_argument("--out", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    if args.command == "run":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
        run(args.targets, args.data, args.results)
    elif args.command == "plot":
        print(plot(args.results, args.out))
    else:
        print(report(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
