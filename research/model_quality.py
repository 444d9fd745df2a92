"""Walk-forward backtests of a model against the market, season by season, and the tables made from them.

    python -m research.model_quality run [DIV:SEASON ...]   # one backtest per season (slow: NUTS weekly)
    python -m research.model_quality report                 # the tables of docs/model-quality.md, no refit
    python -m research.model_quality plots                  # the reliability diagrams, no refit
    python -m research.model_quality track-record           # the page's track record, from the same tables

Each test season is predicted week by week from the three seasons before it plus the season so far,
exactly as `python -m research.backtest` does, from the football-data files shipped in
data/football-data/. Per-match forecasts are kept in research/results/<run>/ (json + npz per season,
and its reliability diagram), so that every table can pool seasons and bootstrap the paired
differences without refitting. The default run is the served model's evaluation run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "football-data"
# The served model's evaluation run (docs/model-quality.md): what `run` rewrites and `report` reads
# unless told otherwise. A test checks that it was made with the served model's settings.
RESULTS = ROOT / "research" / "results" / "seasons-w50"
# The score-driven rating's forecasts of the development and evaluation seasons (`average`).
RATING = ROOT / "research" / "results" / "rating"
# Issue 23's screen: the score-driven rating with and without each lead, kept per variant and season.
SCREEN = ROOT / "research" / "results" / "screen"
LEADS = ("red_cards", "total_shots")
# The page's track record (services/query/static/index.html shows it): what `track-record` writes.
TRACK_RECORD = ROOT / "services" / "query" / "static" / "track-record.json"
# Each week's prediction draws of a run, for re-pricing without refitting; not in git (223 MB a run).
POSTERIORS = ROOT / "build" / "research" / "posteriors"
EVAL = [
    "E0:2019-20",
    "E0:2020-21",
    "E0:2021-22",
    "E0:2022-23",
    "E0:2023-24",
    "E0:2024-25",
    "D1:2023-24",
    "F1:2023-24",
    "I1:2023-24",
    "SP1:2023-24",
]
FORECASTERS = ["model", "pinnacle_closing", "bet365", "dixon_coles_mle", "base_rate"]


def previous_seasons(season: str, count: int = 3) -> list[str]:
    """The `count` seasons before `season`, oldest first: 2019-20 -> 2016-17, 2017-18, 2018-19."""
    start = int(season[:4])
    return [f"{year}-{(year + 1) % 100:02d}" for year in range(start - count, start)]


def season_files(data: Path, division: str, season: str) -> tuple[list[Path], Path]:
    """The history files (three seasons before) and the test file of one season, under `data`."""
    return [data / division / f"{s}.csv" for s in previous_seasons(season)], data / division / f"{season}.csv"


def run(
    targets: list[str],
    data: Path,
    model: str,
    warmup: int | None,
    samples: int | None,
    results: Path = RESULTS,
    weeks: int | None = None,
    warm: bool = True,
    warm_warmup: int | None = None,
    warm_draws: str | None = None,
) -> None:
    """Backtest each DIV:SEASON target into `results`: forecasts, scores and a reliability diagram.

    `warm_warmup`: a warm fit's warmup iterations, if not the service's (services.fit.warm.WARM_WARMUP).
    `warm_draws`: a warm fit's draws (research.backtest.WARM_DRAWS), if not as the service's.
    """
    from services.fit import configure_jax

    configure_jax()  # four CPU devices and the compilation cache, before JAX computes
    from matchodds.core.results import read_results
    from research.backtest import plot_reliability, print_table, run_backtest, spends_saved_warmup
    from research.models import RESEARCH_MODELS as MODELS
    from services.fit.inference import sampler_for
    from services.fit.warm import WARM_WARMUP

    results.mkdir(parents=True, exist_ok=True)
    for target in targets:
        division, season = target.split(":")
        history_files, test_file = season_files(data, division, season)
        history, test = read_results(history_files), read_results([test_file])
        sampler = sampler_for(MODELS[model], 4, warmup, samples, seed=0)
        name = f"{division}-{season}"
        result, summary = run_backtest(
            history,
            test,
            model,
            sampler,
            weeks,
            show_progress=sys.stderr.isatty(),
            keep_posteriors=POSTERIORS / results.name / name,
            warm=warm,
            warm_warmup=WARM_WARMUP if warm_warmup is None else warm_warmup,
            warm_spends_saved_warmup=spends_saved_warmup(warm_draws),
        )
        shown = [path.relative_to(ROOT) if path.is_relative_to(ROOT) else path for path in history_files]
        summary["settings"]["command"] = (
            f"python -m research.backtest --history {' '.join(map(str, shown))} "
            f"--test {shown[0].parent / test_file.name} --json {name}.json --model {model} "
            f"--warmup {sampler.warmup} --samples {sampler.samples}"
            + ("" if warm else " --cold")
            + ("" if warm_warmup is None or not warm else f" --warm-warmup {warm_warmup}")
            + ("" if warm_draws is None or not warm else f" --warm-draws {warm_draws}")
        )
        print(f"\n{name}")
        print_table(summary)
        (results / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
        np.savez_compressed(
            results / f"{name}.npz",
            outcomes=result.outcomes,
            days=np.array([match.date.isoformat() for match in result.matches]),
            **{key: value for key, value in result.forecasts.items()},
        )
        plot_reliability(result, results / f"reliability-{name}.png")


def with_statistics_weight(model: str, weight: float) -> str:
    """Register a variant of `model` with another statistics weight (for development runs only)."""
    from dataclasses import replace

    from research.models import RESEARCH_MODELS as MODELS

    name = f"{model}@{weight:g}"
    MODELS[name] = replace(MODELS[model], name=name, settings={**MODELS[model].settings, "statistics_weight": weight})
    return name


def with_red_card_weight(model: str, weight: float) -> str:
    """Register a variant of `model` in which a match with a sending-off weighs `weight` of a match."""
    from research.models import RESEARCH_MODELS as MODELS
    from research.models import RedCardsModel

    name = f"{model}+red@{weight:g}"
    base = MODELS[model]
    settings = {**base.settings, "red_card_weight": weight}
    MODELS[name] = RedCardsModel(name, base.function, settings, base.diagnosed_sites, base.draws, base.site_axes)
    return name


def with_total_shots(model: str) -> str:
    """Register a variant of `model` that reads total shots (HS/AS) as a third statistic."""
    from dataclasses import replace

    from research.models import RESEARCH_MODELS as MODELS
    from research.models import TOTAL_SHOTS

    name = f"{model}+shots"
    statistics = {**MODELS[model].settings["statistics"], **TOTAL_SHOTS}
    MODELS[name] = replace(MODELS[model], name=name, settings={**MODELS[model].settings, "statistics": statistics})
    return name


def stretched(draws: Any, stretch: float, side: str = "both") -> Any:
    """The draws with the strengths stretched as the served model's prediction draws are: both sides, or
    only the attacks or only the defences (`side`)."""
    from matchodds.core.grid import PredictionDraws
    from research.models import stretch_each_side

    attack_stretch, defence_stretch = (stretch if side != "defence" else 1.0), (stretch if side != "attack" else 1.0)
    attack, defence = stretch_each_side(draws.attack, draws.defence, attack_stretch, defence_stretch)
    return PredictionDraws(draws.intercept, draws.home, attack, defence, draws.rho)


def fitted_stretch(summary_path: Path) -> float:
    """The prediction stretch a season was fitted with (1 for runs from before the field existed)."""
    settings = json.loads(summary_path.read_text())["settings"]
    return float(settings.get("model_settings", {}).get("prediction_stretch", 1.0))


def reprice(results: Path, data: Path, stretches: list[float], write: Path | None = None, side: str = "both") -> str:
    """Re-price every kept weekly posterior with each stretch, on the matches each season scored.

    `side`: which strengths each stretch moves ("both"; "attack" or "defence": that side alone, the other
    staying as fitted).

    Stretches are absolute: the kept draws are already stretched as the run's model was
    (`model_settings.prediction_stretch`, 1 for runs older than that field), and a stretch is
    composed with it exactly, since stretching is linear about the same mean. The run's own stretch
    reproduces the season's stored model forecasts (exactly when every draw was kept; the development
    runs kept 1000 of 4000), a check that the kept posteriors are the ones scored.
    """
    from matchodds.core.grid import PredictionDraws
    from matchodds.core.results import read_results
    from research.backtest import BacktestResult, fixture_of, plot_reliability, probabilities_from_draws, week_start
    from research.evaluation import paired_bootstrap, rps

    fitted = {fitted_stretch(path.with_suffix(".json")) for path in results.glob("*.npz")}
    if len(fitted) > 1:
        raise ValueError(f"the seasons in {results} were fitted with different stretches: {sorted(fitted)}")
    fitted_with = fitted.pop() if fitted else 1.0
    chosen = stretches[0] if write is not None else None
    if chosen == fitted_with:
        raise ValueError(f"--write needs a stretch other than the fitted one ({fitted_with:g})")
    stretches = sorted({fitted_with, *stretches})
    pooled: dict[float, list[np.ndarray]] = {s: [] for s in stretches}
    pinnacle, lines = [], []
    for path in sorted(results.glob("*.npz")):
        name = path.stem
        division, season = name.split("-", 1)
        if not (POSTERIORS / results.name / name).is_dir():
            lines.append(f"| {name} | no kept posteriors: run the season again to re-price it |")
            continue
        with np.load(path) as kept_forecasts:
            stored = dict(kept_forecasts)
        usable = np.logical_and.reduce([~np.isnan(stored[f]).any(axis=1) for f in FORECASTERS])
        test = sorted(read_results([data / division / f"{season}.csv"]), key=lambda m: m.date)
        by_week: dict[Any, list[Any]] = {}
        for match in test:
            by_week.setdefault(week_start(match.date), []).append(fixture_of(match))
        weeks = sorted(by_week)
        forecasts: dict[float, list[np.ndarray]] = {s: [] for s in stretches}
        for start in weeks:
            kept = np.load(POSTERIORS / results.name / name / f"week-{start.isoformat()}.npz")
            draws = PredictionDraws(
                *(kept[k].astype(np.float64) for k in ("intercept", "home", "attack", "defence")),
                kept["rho"].astype(np.float64) if "rho" in kept else None,
            )
            codes = [str(code) for code in kept["team_codes"]]
            for s in stretches:
                forecasts[s].append(
                    probabilities_from_draws(stretched(draws, s / fitted_with, side), codes, by_week[start])
                )
        outcomes = stored["outcomes"][usable]
        drift = np.abs(np.concatenate(forecasts[fitted_with])[usable] - stored["model"][usable]).max()
        row = [name, f"{usable.sum()}", f"{drift:.4f}"]
        for s in stretches:
            scored = rps(np.concatenate(forecasts[s])[usable], outcomes)
            pooled[s].append(scored)
            row.append(f"{scored.mean():.4f}")
        if chosen is not None:  # the season as the re-stretched model forecasts it, the fitted one kept beside it
            forecasts_now = {key: value for key, value in stored.items() if key != "outcomes"}
            forecasts_now["model_as_fitted"] = stored["model"]
            forecasts_now["model"] = np.concatenate(forecasts[chosen])
            write.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(write / f"{name}.npz", outcomes=stored["outcomes"], **forecasts_now)
            summary = json.loads(path.with_suffix(".json").read_text())
            summary["settings"].setdefault("model_settings", {})["prediction_stretch"] = chosen
            summary["settings"]["repriced"] = "every kept weekly posterior priced again with the stretch; no refit"
            (write / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
            shown = {key: value for key, value in forecasts_now.items() if key in FORECASTERS}
            plot = BacktestResult([], stored["outcomes"], shown, len(weeks), [])
            plot_reliability(plot, write / f"reliability-{name}.png")
        pinnacle.append(rps(stored["pinnacle_closing"][usable], outcomes))
        row.append(f"{pinnacle[-1].mean():.4f}")
        lines.append("| " + " | ".join(row) + " |")
    if not pinnacle:
        raise ValueError(
            f"no kept weekly posteriors of {results} in {POSTERIORS / results.name}: "
            f"`run` its seasons with --results {results} first (they are not in git)"
        )
    named = "stretch" if side == "both" else f"{side} stretch"
    header = ["season", "n", f"max drift at {fitted_with:g}", *(f"{named} {s:g}" for s in stretches), "Pinnacle"]
    table = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|", *lines]
    pin = np.concatenate(pinnacle)
    base = np.concatenate(pooled[fitted_with])
    table.append("")
    for s in stretches:
        values = np.concatenate(pooled[s])
        line = f"{named} {s:g}: pooled RPS {values.mean():.4f}, / Pinnacle {values.mean() / pin.mean():.4f}"
        if s != fitted_with:
            mean, low, high = paired_bootstrap(values - base)
            line += f", minus {fitted_with:g} (as fitted): {mean:+.5f} [{low:+.5f}, {high:+.5f}]"
        table.append(line)
    return "\n".join(table)


def kept_seasons(runs: Sequence[Path]) -> list[Path]:
    """The per-season forecast files of one or more runs, in season-name order; a season kept twice is refused."""
    found: dict[str, Path] = {}
    for run_dir in runs:
        for path in run_dir.glob("*.npz"):
            if path.stem in found:
                raise ValueError(f"{path.stem} is kept in both {found[path.stem].parent} and {run_dir}")
            found[path.stem] = path
    if not found:
        raise ValueError(f"no kept season in {label(runs)}")
    return [found[name] for name in sorted(found)]


def label(runs: Sequence[Path]) -> str:
    """How tables name one or more runs: their directory names joined by +."""
    return " + ".join(run_dir.name for run_dir in runs)


def compared(name: str, a: np.ndarray, b: np.ndarray) -> str:
    """One row of a paired comparison: both mean RPS and a bootstrap interval of their difference."""
    from research.evaluation import paired_bootstrap

    mean, low, high = paired_bootstrap(a - b)
    return f"| {name} | {len(a)} | {a.mean():.4f} | {b.mean():.4f} | {mean:+.5f} [{low:+.5f}, {high:+.5f}] |"


def against(results: Sequence[Path], other: Sequence[Path], data: Path = DATA) -> str:
    """The model of the `results` runs against the model of the `other` runs, paired on the matches both scored:
    by season, pooled, and pooled by part of the season."""
    from research.evaluation import rps

    lines = [
        f"| season | n | model ({label(results)}) | model ({label(other)}) | difference, 90 % interval |",
        "|---|---:|---:|---:|---|",
    ]
    theirs_by_season = {path.stem: path for path in kept_seasons(other)}
    pooled: list[np.ndarray] = []
    for path in kept_seasons(results):
        if path.stem not in theirs_by_season:
            lines.append(f"| {path.stem} | not in {label(other)} |  |  |  |")
            continue
        mine, theirs = np.load(path), np.load(theirs_by_season[path.stem])
        if not np.array_equal(mine["outcomes"], theirs["outcomes"]):
            raise ValueError(f"{path.stem}: the two runs scored different matches")
        usable = ~np.isnan(mine["model"]).any(axis=1) & ~np.isnan(theirs["model"]).any(axis=1)
        outcomes = mine["outcomes"][usable]
        a, b = rps(mine["model"][usable], outcomes), rps(theirs["model"][usable], outcomes)
        parts = np.array([season_part(day) for day in kept_match_days(path, data)])[usable]
        pooled.append(np.stack([a, b, parts]))
        lines.append(compared(path.stem, a, b))
    if not pooled:
        raise ValueError(f"no season of {label(results)} is in {label(other)}")
    a, b, parts = np.concatenate(pooled, axis=1)
    lines.append(compared("pooled", a, b))
    lines += ["", "| part of the season | n | model | model | difference, 90 % interval |", "|---|---:|---:|---:|---|"]
    lines += [compared(name, a[parts == part], b[parts == part]) for part, name in enumerate(SEASON_PARTS)]
    return "\n".join(lines) + "\n"


def scored_seasons(results: Sequence[Path]) -> Iterator[tuple[Path, dict[str, np.ndarray], np.ndarray]]:
    """(file, forecasts by forecaster, outcomes) of each kept season, on the matches every forecaster priced."""
    for path in kept_seasons(results):
        stored = np.load(path)
        usable = np.logical_and.reduce([~np.isnan(stored[name]).any(axis=1) for name in FORECASTERS])
        yield path, {name: stored[name][usable] for name in FORECASTERS}, stored["outcomes"][usable]


def league_rps(results: Sequence[Path]) -> dict[str, tuple[list[str], dict[str, np.ndarray]]]:
    """By league: its kept seasons, and each forecaster's RPS of every match of them, pooled."""
    from research.evaluation import rps

    leagues: dict[str, tuple[list[str], dict[str, list[np.ndarray]]]] = {}
    for path, forecasts, outcomes in scored_seasons(results):
        seasons, scored = leagues.setdefault(path.stem.split("-", 1)[0], ([], {}))
        seasons.append(path.stem)
        for name in FORECASTERS:
            scored.setdefault(name, []).append(rps(forecasts[name], outcomes))
    return {
        division: (seasons, {name: np.concatenate(parts) for name, parts in scored.items()})
        for division, (seasons, scored) in leagues.items()
    }


def track_record(results: Sequence[Path] = (RESULTS,)) -> dict[str, Any]:
    """The page's track record of the served model, by league: the league table of `report`, as data."""
    leagues = {}
    for division, (seasons, r) in league_rps(results).items():
        model, pinnacle = r["model"].mean(), r["pinnacle_closing"].mean()
        leagues[division] = {
            "seasons": [season.removeprefix(division + "-") for season in seasons],
            "matches": len(r["model"]),
            "rps": {"model": round(model, 4), "pinnacle_closing": round(pinnacle, 4)},
            "model_over_pinnacle": round(model / pinnacle, 3),
        }
    return {
        "source": f"python -m research.model_quality track-record: the league table of docs/model-quality.md "
        f"({label(results)}); RPS (lower is better) of the served model's weekly walk-forward forecasts and of "
        "Pinnacle's closing prices, on the same matches",
        "leagues": leagues,
    }


# The parts of a season that `report` splits the matches into, by month of the match (June and July,
# when a season ran late, count with its end).
SEASON_PARTS = ("August to October", "November to January", "February to the end")


def season_part(day: Any) -> int:
    """Which of SEASON_PARTS a match day falls in."""
    return 0 if day.month in (8, 9, 10) else 1 if day.month in (11, 12, 1) else 2


def kept_match_days(path: Path, data: Path = DATA) -> list[Any]:
    """The day of every match a kept season's forecasts hold, in their order: kept beside them by runs
    since 2026-12-02; for older runs, the season file's matches by date (the order a walk-forward
    predicts them in), checked against the kept outcomes."""
    from datetime import date

    from matchodds.core.results import read_results
    from research.evaluation import outcome_index

    with np.load(path) as kept:
        if "days" in kept.files:
            return [date.fromisoformat(str(day)) for day in kept["days"]]
        outcomes = kept["outcomes"]
    division, season = path.stem.split("-", 1)
    matches = sorted(read_results([season_files(data, division, season)[1]]), key=lambda m: m.date)
    if not np.array_equal(outcome_index([m.result for m in matches]), outcomes):
        raise ValueError(f"{path.stem}: the kept forecasts are not of {division} {season}'s matches in date order")
    return [m.date for m in matches]


def part_table(results: Sequence[Path], data: Path = DATA) -> str:
    """The model, Pinnacle and Dixon-Coles by part of the season, pooled over the kept seasons."""
    from research.evaluation import paired_bootstrap, rps

    scored: dict[int, list[np.ndarray]] = {}
    for path in kept_seasons(results):
        stored = np.load(path)
        usable = np.logical_and.reduce([~np.isnan(stored[name]).any(axis=1) for name in FORECASTERS])
        parts = np.array([season_part(day) for day in kept_match_days(path, data)])[usable]
        outcomes = stored["outcomes"][usable]
        by_name = [rps(stored[name][usable], outcomes) for name in ("model", "pinnacle_closing", "dixon_coles_mle")]
        for part in range(len(SEASON_PARTS)):
            scored.setdefault(part, []).append(np.stack([x[parts == part] for x in by_name]))
    lines = [
        "| part of the season | n | model | Pinnacle closing | Dixon-Coles MLE | model / Pinnacle |"
        " model − Dixon-Coles, 90 % interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for part, name in enumerate(SEASON_PARTS):
        model, pinnacle, dixon_coles = np.concatenate(scored[part], axis=1)
        mean, low, high = paired_bootstrap(model - dixon_coles)
        lines.append(
            f"| {name} | {len(model)} | {model.mean():.4f} | {pinnacle.mean():.4f} | {dixon_coles.mean():.4f} | "
            f"{model.mean() / pinnacle.mean():.3f} | {mean:+.4f} [{low:+.4f}, {high:+.4f}] |"
        )
    return "\n".join(lines) + "\n"


def report(results: Sequence[Path] = (RESULTS,), data: Path = DATA) -> str:
    """The pooled table, the ratio to Pinnacle, and the tables per league and per season of the kept runs."""
    from research.evaluation import paired_bootstrap, rps, scores

    rows, pooled_forecasts, pooled_outcomes = [], {name: [] for name in FORECASTERS}, []
    for path, forecasts, outcomes in scored_seasons(results):
        pooled_outcomes.append(outcomes)
        season_scores = {}
        for name in FORECASTERS:
            pooled_forecasts[name].append(forecasts[name])
            season_scores[name] = scores(forecasts[name], outcomes)
        settings = json.loads(path.with_suffix(".json").read_text())["settings"]
        rows.append((path.stem, season_scores, settings))
    outcomes = np.concatenate(pooled_outcomes)
    pooled = {name: np.concatenate(parts) for name, parts in pooled_forecasts.items()}
    lines = [
        "| season | n | model | Pinnacle closing | Bet365 | Dixon-Coles MLE | base rate | model / Pinnacle |"
        " DC / Pinnacle | fit s (median / max) | weeks the gate refused (last week kept) |",
        "|---" * 11 + "|",
    ]
    for name, season_scores, settings in rows:
        r = {k: v["rps"] for k, v in season_scores.items()}
        refused, kept = settings["weeks_failing_served_gate"], settings["weeks_kept_last_posterior"]
        lines.append(
            f"| {name} | {season_scores['model']['n']} | {r['model']:.4f} | {r['pinnacle_closing']:.4f} | "
            f"{r['bet365']:.4f} | {r['dixon_coles_mle']:.4f} | {r['base_rate']:.4f} | "
            f"{r['model'] / r['pinnacle_closing']:.3f} | {r['dixon_coles_mle'] / r['pinnacle_closing']:.3f} | "
            f"{settings['fit_seconds_median']:.1f} / {settings['fit_seconds_max']:.1f} | "
            f"{refused} ({kept}) of {settings['weeks']} |"
        )
    leagues = [
        "| league | seasons | n | model | Pinnacle closing | Bet365 | Dixon-Coles MLE | model / Pinnacle |"
        " model − Dixon-Coles, 90 % interval |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for division, (seasons, r) in league_rps(results).items():
        mean, low, high = paired_bootstrap(r["model"] - r["dixon_coles_mle"])
        span = seasons[0] if len(seasons) == 1 else f"{seasons[0]} .. {seasons[-1]} ({len(seasons)})"
        leagues.append(
            f"| {division} | {span.replace(division + '-', '')} | {len(r['model'])} | {r['model'].mean():.4f} | "
            f"{r['pinnacle_closing'].mean():.4f} | {r['bet365'].mean():.4f} | {r['dixon_coles_mle'].mean():.4f} | "
            f"{r['model'].mean() / r['pinnacle_closing'].mean():.3f} | {mean:+.4f} [{low:+.4f}, {high:+.4f}] |"
        )
    model_rps = rps(pooled["model"], outcomes)
    summary = [
        "| forecaster (pooled) | n | RPS | log loss | Brier | RPS / Pinnacle | model − this, 90 % interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    pinnacle = scores(pooled["pinnacle_closing"], outcomes)["rps"]
    for name in FORECASTERS:
        s = scores(pooled[name], outcomes)
        interval = ""
        if name != "model":
            mean, low, high = paired_bootstrap(model_rps - rps(pooled[name], outcomes))
            interval = f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"
        summary.append(
            f"| {name} | {s['n']} | {s['rps']:.4f} | {s['log_loss']:.4f} | {s['brier']:.4f} | "
            f"{s['rps'] / pinnacle:.3f} | {interval} |"
        )
    ratio_draws = []
    rng = np.random.default_rng(1)
    pin_rps = rps(pooled["pinnacle_closing"], outcomes)
    for _ in range(2000):
        pick = rng.integers(0, len(outcomes), len(outcomes))
        ratio_draws.append(model_rps[pick].mean() / pin_rps[pick].mean())
    ratio = (model_rps.mean() / pin_rps.mean(), *np.quantile(ratio_draws, [0.05, 0.95]))
    return (
        "\n".join(summary) + f"\n\nmodel / Pinnacle closing: {ratio[0]:.4f} (90 % interval {ratio[1]:.4f} to "
        f"{ratio[2]:.4f})\n\n"
        + "\n".join(leagues)
        + "\n\n"
        + part_table(results, data)
        + "\n"
        + "\n".join(lines)
        + "\n"
    )


def plots(results: Sequence[Path]) -> list[Path]:
    """Draw each kept season's reliability diagram again beside its forecasts, from them alone."""
    from research.backtest import BacktestResult, plot_reliability

    written = []
    for path in kept_seasons(results):
        with np.load(path) as kept:
            forecasts = {name: kept[name] for name in FORECASTERS if name in kept}
            outcomes = kept["outcomes"]
        written.append(path.with_name(f"reliability-{path.stem}.png"))
        plot_reliability(BacktestResult([], outcomes, forecasts, 0, []), written[-1])
    return written


def average(results: Sequence[Path], data: Path, rating: Path = RATING, market: bool = False) -> str:
    """The kept model averaged 50/50 with the score-driven rating, paired by match against the model.

    The rating is backtested on each season of `results` (cheap: about 2 s a week) unless `rating`
    already holds it; its forecasts must line up with the kept ones, which the kept Pinnacle and
    Dixon-Coles forecasts check. `market`: the experimental rating that also learns from past
    matches' prices.
    """
    from matchodds.core.results import read_results
    from research.backtest import Bookmaker, DixonColesMLE, ScoreDrivenRating, walk_forward
    from research.evaluation import rps

    lines = [
        "| season | n | model | rating | average | Pinnacle closing | average − model, 90 % interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    pooled: list[np.ndarray] = []
    for path in kept_seasons(results):
        kept = np.load(path)
        if not (rating / path.name).exists():
            division, season = path.stem.split("-", 1)
            history_files, test_file = season_files(data, division, season)
            history, test = read_results(history_files), read_results([test_file])
            pinnacle = Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA"))
            result = walk_forward(history, test, [pinnacle, DixonColesMLE(), ScoreDrivenRating(market=market)])
            for name in ("pinnacle_closing", "dixon_coles_mle"):
                if not np.allclose(kept[name], result.forecasts[name], equal_nan=True):
                    raise ValueError(f"{path.stem}: the rating's backtest predicted other matches than {path.parent}'s")
            rating.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(rating / path.name, outcomes=result.outcomes, rating=result.forecasts["rating"])
        theirs = np.load(rating / path.name)
        if not np.array_equal(kept["outcomes"], theirs["outcomes"]):
            raise ValueError(f"{path.stem}: the rating in {rating} scored other matches")
        forecasts = {name: kept[name] for name in FORECASTERS} | {"rating": theirs["rating"]}
        usable = np.logical_and.reduce([~np.isnan(f).any(axis=1) for f in forecasts.values()])
        outcomes = kept["outcomes"][usable]
        scored = {name: rps(f[usable], outcomes) for name, f in forecasts.items()}
        scored["average"] = rps((forecasts["model"][usable] + forecasts["rating"][usable]) / 2, outcomes)
        pooled.append(np.stack([scored[n] for n in ("model", "rating", "average", "pinnacle_closing")]))
        lines.append(_average_row(path.stem, *pooled[-1]))
    lines.append(_average_row("pooled", *np.concatenate(pooled, axis=1)))
    return "\n".join(lines) + "\n"


def screen(results: Sequence[Path], data: Path, leads: Sequence[str], screens: Path = SCREEN) -> str:
    """Each lead screened in the score-driven rating (maximum likelihood, about 2 s a week): the rating
    with the lead against the rating without it, paired by match, on the seasons of `results`.

    Each variant's weekly backtest of a season is kept in `screens/<variant>/<season>.npz` (forecasts,
    and the fitted settings of every week) and reused; the kept Pinnacle forecasts of `results` check
    that every variant predicted the same matches. The verdict is the rule of research/NOTEBOOK.md
    ("Issue 23"): a lead advances when its pooled gain is larger than half its 90 % interval's width.
    """
    from matchodds.core.results import read_results
    from research.backtest import Bookmaker, ScoreDrivenRating, walk_forward
    from research.evaluation import paired_bootstrap, rps

    variants = ["rating", *(f"rating+{lead}" for lead in leads)]
    pooled: dict[str, list[np.ndarray]] = {variant: [] for variant in variants}
    pinnacle_pooled: list[np.ndarray] = []
    shares: dict[str, list[float]] = {}
    for path in kept_seasons(results):
        kept = np.load(path)
        usable = ~np.isnan(kept["pinnacle_closing"]).any(axis=1)
        for variant in variants:
            stored = screens / variant / path.name
            if not stored.exists():
                division, season = path.stem.split("-", 1)
                history_files, test_file = season_files(data, division, season)
                flags = {lead: f"+{lead}" in variant for lead in LEADS}
                rating = ScoreDrivenRating(**flags)
                pinnacle = Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA"))
                result = walk_forward(read_results(history_files), read_results([test_file]), [pinnacle, rating])
                if not np.allclose(kept["pinnacle_closing"], result.forecasts["pinnacle_closing"], equal_nan=True):
                    raise ValueError(f"{path.stem}: the screen predicted other matches than {path.parent}'s")
                stored.parent.mkdir(parents=True, exist_ok=True)
                partial = stored.with_suffix(".partial.npz")  # renamed when whole: two screens may share a variant
                np.savez_compressed(
                    partial,
                    outcomes=result.outcomes,
                    rating=result.forecasts["rating"],
                    settings=np.array(json.dumps(rating.settings)),
                )
                partial.replace(stored)
            theirs = np.load(stored)
            if not np.array_equal(kept["outcomes"], theirs["outcomes"]):
                raise ValueError(f"{path.stem}: {stored} scored other matches")
            usable &= ~np.isnan(theirs["rating"]).any(axis=1)
            for week in json.loads(str(theirs["settings"])):
                if "+red_cards" in variant:
                    shares.setdefault("red-card evidence share", []).append(week["red_share"])
                if "+total_shots" in variant:
                    shares.setdefault("total shots' blend share", []).append(week["blend"][3])
        outcomes = kept["outcomes"][usable]
        pinnacle_pooled.append(rps(kept["pinnacle_closing"][usable], outcomes))
        for variant in variants:
            pooled[variant].append(rps(np.load(screens / variant / path.name)["rating"][usable], outcomes))
    pinnacle = np.concatenate(pinnacle_pooled)
    base = np.concatenate(pooled["rating"])
    lines = [
        f"Screen on {label(results)}: {len(base)} matches with Pinnacle's closing prices.",
        "",
        "| variant | RPS | x Pinnacle | − rating, 90 % interval | advances (gain > half the interval's width) |",
        "|---|---:|---:|---|---|",
        f"| rating | {base.mean():.4f} | {base.mean() / pinnacle.mean():.4f} |  |  |",
    ]
    for variant in variants[1:]:
        scored = np.concatenate(pooled[variant])
        gain, low, high = paired_bootstrap(scored - base)
        advances = "yes" if -gain > (high - low) / 2 else "no"
        lines.append(
            f"| {variant} | {scored.mean():.4f} | {scored.mean() / pinnacle.mean():.4f} | "
            f"{gain:+.5f} [{low:+.5f}, {high:+.5f}] | {advances} |"
        )
    for name, values in shares.items():
        lows, mid, highs = np.quantile(values, [0.1, 0.5, 0.9])
        lines.append(f"\nFitted {name}, {len(values)} weekly fits: median {mid:.3f} (10-90 %: {lows:.3f}-{highs:.3f})")
    return "\n".join(lines) + "\n"


def _average_row(name: str, model: np.ndarray, rating: np.ndarray, mean: np.ndarray, pinnacle: np.ndarray) -> str:
    from research.evaluation import paired_bootstrap

    gain, low, high = paired_bootstrap(mean - model)
    ratios = " / ".join(f"{x.mean() / pinnacle.mean():.4f}" for x in (model, rating, mean))
    return (
        f"| {name} | {len(model)} | {model.mean():.4f} | {rating.mean():.4f} | {mean.mean():.4f} | "
        f"{pinnacle.mean():.4f} | {gain:+.5f} [{low:+.5f}, {high:+.5f}] (x Pinnacle: {ratios}) |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The command line of `python -m research.model_quality`; see the module docstring."""
    from research.backtest import WARM_DRAWS
    from services.fit.model import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="python -m research.model_quality", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="backtest seasons, week by week (slow: NUTS every week)")
    run_parser.add_argument("targets", nargs="*", default=EVAL, help="DIVISION:SEASON, default: the EVAL set")
    run_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    run_parser.add_argument("--model", default=DEFAULT_MODEL, help="default: the served model")
    run_parser.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    run_parser.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    run_parser.add_argument("--statistics-weight", type=float, help="try the model with another statistics weight")
    run_parser.add_argument("--results", type=Path, default=RESULTS, help="where the per-season results go")
    run_parser.add_argument("--weeks", type=int, help="stop each season after this many weeks (a quick look)")
    run_parser.add_argument(
        "--cold", action="store_true", help="warm up every weekly fit cold (as runs before 2026-12-02)"
    )
    run_parser.add_argument(
        "--warm-warmup", type=int, help="a warm fit's warmup iterations (default: the service's WARM_WARMUP)"
    )
    run_parser.add_argument(
        "--warm-draws",
        choices=WARM_DRAWS,
        help="a warm fit's draws: the cold fit's, or those plus the warmup it saves (default: the service's)",
    )
    run_parser.add_argument("--red-card-weight", type=float, help="issue 23's lead: a sending-off match's weight")
    run_parser.add_argument("--total-shots", action="store_true", help="issue 23's lead: total shots as a statistic")
    report_parser = commands.add_parser("report", help="the tables, from the kept forecasts (no refit)")
    report_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    report_parser.add_argument(
        "--against", type=Path, nargs="+", help="instead: these runs' model against another's, paired by match"
    )
    commands.add_parser("track-record", help=f"write the page's track record ({TRACK_RECORD.relative_to(ROOT)})")
    plots_parser = commands.add_parser("plots", help="the reliability diagrams, from the kept forecasts (no refit)")
    reprice_parser = commands.add_parser("reprice", help="re-price the kept weekly posteriors with stretches")
    reprice_parser.add_argument("--stretch", type=float, nargs="+", default=[1.0, 1.05, 1.1, 1.15])
    reprice_parser.add_argument(
        "--side",
        choices=("both", "attack", "defence"),
        default="both",
        help="the strengths the stretches move (the other side stays as fitted)",
    )
    reprice_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    reprice_parser.add_argument(
        "--write", type=Path, help="with one stretch: write the seasons as the stretched model forecasts them here"
    )
    reprice_parser.add_argument("--results", type=Path, default=RESULTS, help="the run whose posteriors are kept")
    average_parser = commands.add_parser(
        "average", help="the kept model averaged with the score-driven rating (backtests the rating if need be)"
    )
    average_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    average_parser.add_argument("--rating", type=Path, help=f"where the rating's forecasts are kept (default {RATING})")
    average_parser.add_argument(
        "--market", action="store_true", help=f"the rating that also learns from past prices (default {RATING}-market)"
    )
    screen_parser = commands.add_parser("screen", help="issue 23's leads in the score-driven rating (cheap)")
    screen_parser.add_argument("--data", type=Path, default=DATA, help="football-data files as DIV/SEASON.csv")
    screen_parser.add_argument("--leads", nargs="+", choices=LEADS, default=list(LEADS))
    screen_parser.add_argument("--screens", type=Path, default=SCREEN, help="where each variant's forecasts are kept")
    for each in (report_parser, plots_parser, average_parser, screen_parser):
        each.add_argument(
            "--results", type=Path, nargs="+", default=[RESULTS], help="the runs to pool (default: the served model's)"
        )
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            if args.statistics_weight is not None:
                args.model = with_statistics_weight(args.model, args.statistics_weight)
            if args.red_card_weight is not None:
                args.model = with_red_card_weight(args.model, args.red_card_weight)
            if args.total_shots:
                args.model = with_total_shots(args.model)
            if args.cold and (args.warm_warmup is not None or args.warm_draws is not None):
                parser.error("--warm-warmup and --warm-draws are for warm fits; --cold has none")
            run(
                args.targets,
                args.data,
                args.model,
                args.warmup,
                args.samples,
                args.results,
                args.weeks,
                not args.cold,
                args.warm_warmup,
                args.warm_draws,
            )
        elif args.command == "reprice":
            if args.write is not None and len(set(args.stretch)) != 1:
                parser.error("--write takes exactly one stretch")
            if args.write is not None and args.write.resolve() == args.results.resolve():
                parser.error("--write needs a directory other than --results (the fitted forecasts stay as they are)")
            if args.write is not None and args.side != "both":
                parser.error("--write re-prices both sides (a one-sided model is not a setting the fit has)")
            print(reprice(args.results, args.data, args.stretch, args.write, args.side))
        elif args.command == "average":
            rating = args.rating or (RATING.with_name(RATING.name + "-market") if args.market else RATING)
            print(average(args.results, args.data, rating, args.market))
        elif args.command == "screen":
            print(screen(args.results, args.data, args.leads, args.screens))
        elif args.command == "track-record":
            TRACK_RECORD.write_text(json.dumps(track_record(), indent=1) + "\n")
            print(TRACK_RECORD)
        elif args.command == "plots":
            for path in plots(args.results):
                print(path)
        elif args.against is not None:
            print(against(args.results, args.against, args.data))
        else:
            print(report(args.results, args.data))
    except ValueError as problem:
        parser.error(str(problem))
    return 0


if __name__ == "__main__":
    sys.exit(main())
