"""Walk-forward backtests: refit every week on matches strictly before it, predict that week, score.

    python -m research.backtest --history FILE... --test FILE --json OUT [--plot OUT.png] [--weeks N]

Forecasters scored on the same matches: `model` (ours, fitted and priced exactly as served),
`pinnacle_closing` and `bet365` (margin removed), `dixon_coles_mle` (Dixon & Coles 1997 with time
decay, maximum likelihood), `base_rate` (history's H/D/A frequencies).

A forecaster sees the played matches strictly before the week, and the week itself only as fixtures:
who plays whom, when, and the bookmakers' prices (`fixture_of`); never a goal, a result or a
statistic of a match it forecasts.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

from matchodds.core.adaptation import posterior_adaptation
from matchodds.core.grid import PredictionDraws, grid_size, outcome_probabilities, score_grids
from matchodds.core.posterior import Posterior
from matchodds.core.results import Fixture, Match, ResultsError, read_results
from research.evaluation import outcome_index, paired_bootstrap, reliability, remove_margin, rps, scores
from research.fitting import WARM_SPENDS_SAVED_WARMUP, fit_posterior
from research.models import RESEARCH_MODELS as MODELS
from research.models import dixon_coles_log_likelihood
from research.rating import Rating
from services.fit import configure_jax
from services.fit.inference import QualityGate, QualityGateError, SamplerSettings, sampler_for
from services.fit.model import DEFAULT_MODEL
from services.fit.warm import WARM_WARMUP

logger = logging.getLogger(__name__)
NO_GATE = QualityGate(max_r_hat=float("inf"), min_bulk_ess=0.0, max_divergences=2**31)
SERVED_GATE = QualityGate()


# The columns of a football-data row that are known before its kick-off: the bookmakers' prices
# (1X2, over/under 2.5, Asian handicap with its line, and the number of bookmakers averaged), by
# football-data's naming: a bookmaker's code, `C` for a closing price, then the outcome. Closing
# prices count: they are the last prices before kick-off, and the `pinnacle_closing` benchmark is a
# forecast made at kick-off with them (later than the model's, made at the start of the week, so the
# comparison favours the market). Everything else (goals, the result at half and full time, shots,
# corners, fouls, cards, attendance, and any column football-data adds later) is recorded during or
# after the match, or unknown, and never reaches a forecaster of that match.
PRE_MATCH_PRICE = re.compile(
    r"(?:1XB|B365|BFE|BF|BS|BW|GB|IW|LB|PS|P|SB|SJ|SO|SY|VC|WH|Max|Avg|BbMx|BbAv)C?"
    r"(?:H|D|A|AH|AHH|AHA|[<>]2\.5|_2_5|_2_5_1)"
    r"|(?:Bb)?AHC?h|Bb1X2|BbOU|BbAH"
)


def week_start(day: date) -> date:
    """Weeks run Tuesday to Monday, so a Friday-to-Monday round stays in one week."""
    return day - timedelta(days=(day.weekday() - 1) % 7)


def fixture_of(match: Match) -> Fixture:
    """The match as a forecaster may see it before kick-off: who plays whom, when, and the prices."""
    prices = {column: value for column, value in match.numbers.items() if PRE_MATCH_PRICE.fullmatch(column)}
    return Fixture(match.competition, match.date, match.home, match.away, prices)


class Forecaster(Protocol):
    name: str

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        """(len(week), 3) probabilities of H, D, A; rows of NaN where it has no forecast."""
        ...


def probabilities_from_draws(draws: PredictionDraws, codes: Sequence[str], week: Sequence[Fixture]) -> np.ndarray:
    """H/D/A of each fixture from parameter draws, by the same exact score-grid maths precompute serves."""
    index = {code: position for position, code in enumerate(codes)}
    home = np.array([index[fixture.home] for fixture in week])
    away = np.array([index[fixture.away] for fixture in week])
    grids = score_grids(draws, home, away, grid_size(draws.max_rate()))
    return np.stack(outcome_probabilities(grids), axis=1)


def point_probabilities(
    intercept: float,
    home: float,
    attack: np.ndarray,
    defence: np.ndarray,
    rho: float,
    codes: Sequence[str],
    week: Sequence[Fixture],
) -> np.ndarray:
    """H/D/A of each fixture from one parameter set (a fit by maximum likelihood), as one draw."""
    one = np.ones(1)
    draws = PredictionDraws(intercept * one, home * one, attack[None], defence[None], rho * one)
    return probabilities_from_draws(draws, codes, week)


@dataclass
class Bookmaker:
    """A bookmaker's prices for the match (`columns`: home, draw, away), margin removed proportionally."""

    name: str
    columns: tuple[str, str, str]

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        rows = []
        for fixture in week:
            prices = fixture.prices(*self.columns)
            rows.append(remove_margin(np.array([prices]))[0] if prices else np.full(3, np.nan))
        return np.array(rows)


@dataclass
class BaseRate:
    """The H/D/A frequencies of every match it was trained on, the same for every fixture."""

    name: str = "base_rate"

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        counts = np.bincount(outcome_index([m.result for m in train]), minlength=3).astype(float)
        return np.tile(counts / counts.sum(), (len(week), 1))


@jax.jit
def _dixon_coles_loss(params: jnp.ndarray, data: dict[str, jnp.ndarray]) -> jnp.ndarray:
    n_teams = data["ridge_mask"].shape[0]
    attack, defence = params[:n_teams], params[n_teams : 2 * n_teams]
    home, intercept, rho = params[-3], params[-2], params[-1]
    home_rate = jnp.exp(intercept + home / 2 + attack[data["home"]] + defence[data["away"]])
    away_rate = jnp.exp(intercept - home / 2 + attack[data["away"]] + defence[data["home"]])
    hg, ag = data["home_goals"], data["away_goals"]
    log_likelihood = dixon_coles_log_likelihood(hg, ag, home_rate, away_rate, rho)
    ridge = 1e-3 * jnp.sum(data["ridge_mask"] * (attack**2 + defence**2))  # identifies teams without matches
    return -jnp.sum(data["weight"] * log_likelihood) + ridge


_dixon_coles_value_and_grad = jax.jit(jax.value_and_grad(_dixon_coles_loss))


@dataclass
class DixonColesMLE:
    """Dixon & Coles (1997): Poisson goals with the low-score correction, matches weighted by
    exp(-decay x age in days), fitted by maximum likelihood on `seasons` seasons (history + this one)."""

    decay_per_day: float = 0.0018
    seasons: int = 4
    name: str = "dixon_coles_mle"

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        kept_seasons = sorted({m.season for m in train})[-self.seasons :]
        window = [m for m in train if m.season in kept_seasons]
        codes = sorted({m.home for m in window} | {m.away for m in window} | set(teams))
        index = {code: position for position, code in enumerate(codes)}
        cutoff = week_start(week[0].date)
        size = -(-len(window) // 256) * 256  # pad to a multiple of 256: fewer shapes, fewer compilations
        pad = size - len(window)
        age = np.array([(cutoff - m.date).days for m in window], dtype=np.float64)
        data = {
            "home": jnp.array([index[m.home] for m in window] + [0] * pad),
            "away": jnp.array([index[m.away] for m in window] + [0] * pad),
            "home_goals": jnp.array([m.home_goals for m in window] + [0] * pad, dtype=jnp.float32),
            "away_goals": jnp.array([m.away_goals for m in window] + [0] * pad, dtype=jnp.float32),
            "weight": jnp.array(np.concatenate([np.exp(-self.decay_per_day * age), np.zeros(pad)]), dtype=jnp.float32),
            "ridge_mask": jnp.ones(len(codes)),
        }

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            value, gradient = _dixon_coles_value_and_grad(jnp.asarray(params, dtype=jnp.float32), data)
            return float(value), np.asarray(gradient, dtype=np.float64)

        start = np.zeros(2 * len(codes) + 3)
        start[-3:] = (0.2, np.log(1.35), -0.05)
        bounds = [(None, None)] * (2 * len(codes) + 2) + [(-0.2, 0.2)]
        fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
        n = len(codes)
        return point_probabilities(fitted[-2], fitted[-3], fitted[:n], fitted[n : 2 * n], fitted[-1], codes, week)


@dataclass
class ScoreDrivenRating:
    """The score-driven rating of `research.rating`, refitted every week on four seasons."""

    seasons: int = 4
    market: bool = False  # the experiment that also learns from past matches' prices
    name: str = "rating"
    total_shots: bool = False  # leads of issue 23 (research.rating.Rating)
    red_cards: bool = False
    settings: list[dict[str, Any]] = field(default_factory=list)  # each week's fitted settings

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        f = Rating(self.seasons, self.market, self.total_shots, self.red_cards).fit(train, teams)
        self.settings.append(f.settings)
        return point_probabilities(f.intercept, f.home, f.attack, f.defence, f.rho, f.team_codes, week)


@dataclass
class ServedModel:
    """Our model, fitted with NUTS, gated and priced exactly as the service does.

    As in service: a fit that fails the quality gate is retried once with twice the draws; if that
    fails too, nothing new is published and last week's odds stay, so last week's posterior predicts
    (a fit without the gate stands in only when there is no earlier posterior for these teams).
    """

    model: str
    sampler: SamplerSettings
    name: str = "model"
    gate: QualityGate = SERVED_GATE  # the service's; tests at tiny sampler settings pass NO_GATE
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    kept_last_week: int = 0
    last: Posterior | None = None
    keep_posteriors: Path | None = None  # write each week's prediction draws here, every draw
    # Each week's fit starts from the adaptation of the posterior that predicted the week before, as the
    # service's does since issue 22 (services.fit.warm); False: every fit warms up cold, as before it.
    warm: bool = True
    warm_warmup: int = WARM_WARMUP  # a warm fit's warmup iterations (the service's unless a run tries another)
    # Whether a warm fit spends the warmup it saves on draws (the service's unless a run tries otherwise).
    warm_spends_saved_warmup: bool = WARM_SPENDS_SAVED_WARMUP

    def forecast(self, train: Sequence[Match], week: Sequence[Fixture], teams: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        cutoff = week_start(week[0].date)
        sampler = SamplerSettings(**{**asdict(self.sampler), "seed": self.sampler.seed + 2 * len(self.diagnostics)})
        previous = posterior_adaptation(self.last) if self.warm and self.last is not None else None
        fit = partial(
            fit_posterior,
            train,
            MODELS[self.model],
            week[0].competition,
            predict_teams=teams,
            as_of=cutoff,
            previous=previous,
            warm_warmup=self.warm_warmup,
            warm_spends_saved_warmup=self.warm_spends_saved_warmup,
        )
        try:
            posterior = fit(sampler, self.gate)
        except QualityGateError as refused:
            logger.warning("week of %s: %s", cutoff, refused)
            self.diagnostics.append(
                {
                    "week": cutoff.isoformat(),
                    **asdict(refused.diagnostics),
                    "published": False,
                    "reran": True,
                    "warm_tried": previous is not None,
                }
            )
            fixture_teams = {fixture.home for fixture in week} | {fixture.away for fixture in week}
            if self.last is not None and fixture_teams <= set(self.last.team_codes):
                self.kept_last_week += 1
                posterior = self.last
            else:
                posterior = fit(replace(sampler, seed=sampler.seed + 7), NO_GATE)
        else:
            reran = posterior.meta["attempts"] > 1
            self.diagnostics.append(
                {
                    "week": cutoff.isoformat(),
                    **posterior.meta["diagnostics"],
                    "published": True,
                    "reran": reran,
                    "warm_tried": previous is not None,
                    "warm": posterior.meta["warm_start"]["used"],  # and passed the gate when attempts is 1
                    "warmup": posterior.meta["sampler"]["warmup"],  # of the fit that published
                    "samples": posterior.meta["sampler"]["samples"],
                }
            )
        self.diagnostics[-1]["seconds"] = time.perf_counter() - started
        self.last = posterior
        if self.keep_posteriors is not None:
            self.keep_posteriors.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(
                self.keep_posteriors / f"week-{cutoff.isoformat()}.npz",
                team_codes=np.array(posterior.team_codes),
                **{name: posterior.flat(name) for name in posterior.draws},
            )
        return probabilities_from_draws(PredictionDraws.from_posterior(posterior), posterior.team_codes, week)


@dataclass
class BacktestResult:
    """What a walk-forward run predicted: the matches in order, their outcomes, each forecaster's rows."""

    matches: list[Match]
    outcomes: np.ndarray
    forecasts: dict[str, np.ndarray]
    weeks: int
    training_ends: list[tuple[date, date]]  # (last training match, first predicted match) per week


def walk_forward(
    history: Sequence[Match],
    test: Sequence[Match],
    forecasters: Sequence[Forecaster],
    weeks: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Fit on everything strictly before each week of the test season, predict that week from its fixtures."""
    test = sorted(test, key=lambda m: m.date)
    everything = sorted([*history, *test], key=lambda m: m.date)
    season = test[0].season
    teams = sorted({m.home for m in test} | {m.away for m in test})
    by_week: dict[date, list[Match]] = {}
    for match in test:
        by_week.setdefault(week_start(match.date), []).append(match)
    starts = sorted(by_week)[:weeks]
    forecasts: dict[str, list[np.ndarray]] = {f.name: [] for f in forecasters}
    predicted: list[Match] = []
    training_ends = []
    for number, start in enumerate(starts, start=1):
        train = [m for m in everything if m.date < start]
        week = by_week[start]
        if not train:
            raise ValueError(f"no matches before the week of {start}: give --history")
        training_ends.append((max(m.date for m in train), min(m.date for m in week)))
        season_so_far_teams = sorted(set(teams) | {m.home for m in train if m.season == season})
        fixtures = [fixture_of(match) for match in week]
        for forecaster in forecasters:
            forecasts[forecaster.name].append(forecaster.forecast(train, fixtures, season_so_far_teams))
        predicted.extend(week)
        if progress:
            progress(number, len(starts))
    return BacktestResult(
        predicted,
        outcome_index([m.result for m in predicted]),
        {name: np.concatenate(rows) for name, rows in forecasts.items()},
        len(starts),
        training_ends,
    )


def summarise(result: BacktestResult, reference: str = "model") -> dict[str, Any]:
    """Scores of every forecaster on the matches that all of them forecast, and bootstrap intervals
    of the reference's RPS minus each other's."""
    available = {name: ~np.isnan(f).any(axis=1) for name, f in result.forecasts.items()}
    usable = {name for name, rows in available.items() if rows.any()}
    skipped = {name: int((~rows).sum()) for name, rows in available.items()}
    common = np.logical_and.reduce([available[name] for name in usable])
    outcomes = result.outcomes[common]
    summary: dict[str, Any] = {}
    reference_rps = rps(result.forecasts[reference][common], outcomes) if reference in usable else None
    for name in result.forecasts:
        if name not in usable:
            summary[name] = {"n": 0, "skipped_rows": skipped[name], "note": "no prices in these files"}
            continue
        probabilities = result.forecasts[name][common]
        entry: dict[str, Any] = {**scores(probabilities, outcomes), "skipped_rows": skipped[name]}
        if reference_rps is not None and name != reference:
            mean, low, high = paired_bootstrap(reference_rps - rps(probabilities, outcomes))
            entry[f"{reference}_rps_minus_this"] = {"mean": mean, "low_90": low, "high_90": high}
        summary[name] = entry
    return summary


def print_table(summary: dict[str, Any], stream: Any = sys.stdout) -> None:
    """The summary as a table: each forecaster's scores and the model's RPS minus its own."""
    reference = summary.get("model", {}).get("rps")
    print(
        f"{'forecaster':<18} {'n':>6} {'RPS':>8} {'log loss':>9} {'Brier':>7} {'RPS/model':>10}  model - this (90%)",
        file=stream,
    )
    for name, entry in summary.items():
        if name == "settings":
            continue
        if not entry.get("n"):
            print(f"{name:<18} {'-':>6}  skipped ({entry.get('note')})", file=stream)
            continue
        ratio = f"{entry['rps'] / reference:10.4f}" if reference else " " * 10
        diff = entry.get("model_rps_minus_this")
        interval = f"{diff['mean']:+.4f} [{diff['low_90']:+.4f}, {diff['high_90']:+.4f}]" if diff else ""
        print(
            f"{name:<18} {entry['n']:>6} {entry['rps']:8.4f} {entry['log_loss']:9.4f} {entry['brier']:7.4f} "
            f"{ratio}  {interval}",
            file=stream,
        )


def plot_reliability(result: BacktestResult, path: Path) -> None:
    """A reliability diagram (PNG) of every forecaster but the base rate: home, draw and away panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharey=True)
    for column, (axis, label) in enumerate(zip(axes, ("home win", "draw", "away win"), strict=True)):
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        for name, probabilities in result.forecasts.items():
            rows = ~np.isnan(probabilities).any(axis=1)
            if not rows.any() or name == "base_rate":
                continue
            panel = reliability(probabilities[rows], result.outcomes[rows])[column]
            axis.plot(panel["forecast"], panel["observed"], marker="o", markersize=3, label=name)
        axis.set_title(label)
        axis.set_xlabel("forecast probability")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
    axes[0].set_ylabel("observed frequency")
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Reliability, {len(result.outcomes)} matches, walk-forward weekly refits")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def standard_forecasters(
    model: str,
    sampler: SamplerSettings,
    keep_posteriors: Path | None = None,
    warm: bool = True,
    warm_warmup: int = WARM_WARMUP,
    warm_spends_saved_warmup: bool = WARM_SPENDS_SAVED_WARMUP,
) -> list[Forecaster]:
    """The model under test, both bookmakers, the classic Dixon-Coles baseline and the base rate."""
    return [
        ServedModel(
            model,
            sampler,
            keep_posteriors=keep_posteriors,
            warm=warm,
            warm_warmup=warm_warmup,
            warm_spends_saved_warmup=warm_spends_saved_warmup,
        ),
        Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA")),
        Bookmaker("bet365", ("B365H", "B365D", "B365A")),
        DixonColesMLE(),
        BaseRate(),
    ]


def run_backtest(
    history: Sequence[Match],
    test: Sequence[Match],
    model: str,
    sampler: SamplerSettings,
    weeks: int | None = None,
    show_progress: bool = True,
    keep_posteriors: Path | None = None,
    warm: bool = True,
    warm_warmup: int = WARM_WARMUP,
    warm_spends_saved_warmup: bool = WARM_SPENDS_SAVED_WARMUP,
) -> tuple[BacktestResult, dict[str, Any]]:
    """The standard forecasters walked forward over `test`, scored, with the model's weekly fits recorded."""
    forecasters = standard_forecasters(model, sampler, keep_posteriors, warm, warm_warmup, warm_spends_saved_warmup)
    bar = tqdm(total=None, desc="weeks", unit="wk", disable=not show_progress, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(1)

    result = walk_forward(history, test, forecasters, weeks, progress)
    bar.close()
    served = forecasters[0]
    assert isinstance(served, ServedModel)
    summary = summarise(result)
    gate_failures = sum(not d["published"] for d in served.diagnostics)
    seconds = [d["seconds"] for d in served.diagnostics]
    summary["settings"] = {
        "model": model,
        "model_settings": MODELS[model].settings,
        "sampler": asdict(sampler),
        "warm_start": warm,
        "warm_warmup": warm_warmup if warm else None,
        "warm_spends_saved_warmup": warm_spends_saved_warmup if warm else None,
        "test_season": test[0].season if test else None,
        "competition": test[0].competition if test else None,
        "weeks": result.weeks,
        "history_seasons": sorted({m.season for m in history}),
        "refit": "weekly (Tuesday to Monday), on every match strictly before the week",
        "week_seen_as": "fixtures: teams, date and pre-match prices (research.backtest.PRE_MATCH_PRICE)",
        "margin_removal": "proportional",
        "fit_seconds_median": float(np.median(seconds)) if seconds else None,
        "fit_seconds_max": float(np.max(seconds)) if seconds else None,
        "max_r_hat_worst_week": max((d["max_r_hat"] for d in served.diagnostics), default=None),
        "weeks_failing_served_gate": gate_failures,
        "weeks_kept_last_posterior": served.kept_last_week,
        "weekly_fits": served.diagnostics,  # per week: seconds, diagnostics, rerun, published
    }
    return result, summary


def write_json(summary: dict[str, Any], path: Path) -> None:
    """The summary as indented JSON."""
    path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m research.backtest`."""
    commands = argparse.ArgumentParser(
        prog="python -m research.backtest", description="Walk-forward backtest of a model against the market."
    )
    commands.add_argument("--history", nargs="+", type=Path, default=[], help="earlier seasons' football-data CSVs")
    commands.add_argument("--test", type=Path, required=True, help="the season to predict, week by week")
    commands.add_argument("--json", type=Path, required=True, help="write the scores here")
    commands.add_argument("--plot", type=Path, help="write a reliability diagram (PNG) here")
    commands.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    commands.add_argument("--weeks", type=int, help="stop after this many weeks (default: the whole season)")
    commands.add_argument("--chains", type=int, default=4)
    commands.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    commands.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    commands.add_argument("--seed", type=int, default=0)
    commands.add_argument(
        "--keep-posteriors", type=Path, help="write each week's prediction draws here (week-YYYY-MM-DD.npz)"
    )
    commands.add_argument(
        "--cold", action="store_true", help="warm up every fit cold (runs kept before 2026-12-02 were)"
    )
    commands.add_argument(
        "--warm-warmup", type=int, default=WARM_WARMUP, help="a warm fit's warmup iterations (default: the service's)"
    )
    commands.add_argument(
        "--warm-draws",
        choices=WARM_DRAWS,
        help="a warm fit's draws: the cold fit's, or those plus the warmup it saves (default: the service's)",
    )
    return commands


# A warm fit's draws, as a run names them: the cold fit's, or those plus the warmup iterations it saves.
WARM_DRAWS = ("as-cold", "plus-saved-warmup")


def spends_saved_warmup(warm_draws: str | None) -> bool:
    """Whether a warm fit spends its saved warmup on draws: as `--warm-draws` says, else as the service does."""
    return WARM_SPENDS_SAVED_WARMUP if warm_draws is None else warm_draws == "plus-saved-warmup"


def main(argv: Sequence[str] | None = None) -> int:
    """Backtest one season from football-data files; exit code 2 when a file cannot be read."""
    args = parser().parse_args(argv)
    configure_jax()  # splits the CPU into devices before JAX computes
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        history, test = read_results(args.history), read_results([args.test])
    except ResultsError as error:
        print(f"research.backtest: {error}", file=sys.stderr)
        return 2
    sampler = sampler_for(MODELS[args.model], args.chains, args.warmup, args.samples, args.seed)
    result, summary = run_backtest(
        history,
        test,
        args.model,
        sampler,
        args.weeks,
        show_progress=True,
        keep_posteriors=args.keep_posteriors,
        warm=not args.cold,
        warm_warmup=args.warm_warmup,
        warm_spends_saved_warmup=spends_saved_warmup(args.warm_draws),
    )
    summary["settings"]["files"] = {"history": [str(p) for p in args.history], "test": str(args.test)}
    print_table(summary)
    write_json(summary, args.json)
    if args.plot:
        plot_reliability(result, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
