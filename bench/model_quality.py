"""Walk-forward backtests of the served model against the market, season by season, and the report.

    python bench/model_quality.py run E0:2019-20 E0:2020-21 ...   # one backtest per season (slow: NUTS weekly)
    python bench/model_quality.py report                          # pooled table -> docs/model-quality.md

Each test season is predicted week by week from the three seasons before it plus the season so far,
exactly as `matchodds backtest` does; per-match forecasts are kept in bench/results/ so that the
report can pool seasons and bootstrap the paired differences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "football-data"
RESULTS = ROOT / "bench" / "results"
PLOTS = ROOT / "docs" / "img"
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
    start = int(season[:4])
    return [f"{year}-{(year + 1) % 100:02d}" for year in range(start - count, start)]


def run(targets: list[str], data: Path, model: str, warmup: int, samples: int) -> None:
    import services.fit  # noqa: F401
    from matchodds.results import read_results
    from services.fit.backtest import plot_reliability, print_table, run_backtest
    from services.fit.inference import SamplerSettings

    RESULTS.mkdir(parents=True, exist_ok=True)
    PLOTS.mkdir(parents=True, exist_ok=True)
    for target in targets:
        division, season = target.split(":")
        history_files = [data / division / f"{s}.csv" for s in previous_seasons(season)]
        test_file = data / division / f"{season}.csv"
        history, test = read_results(history_files), read_results([test_file])
        sampler = SamplerSettings(chains=4, warmup=warmup, samples=samples, seed=0)
        result, summary = run_backtest(history, test, model, sampler, show_progress=sys.stderr.isatty())
        summary["settings"]["command"] = (
            f"matchodds backtest --history {' '.join(f'{division}/{s}.csv' for s in previous_seasons(season))} "
            f"--test {division}/{season}.csv --json {division}-{season}.json --model {model} "
            f"--warmup {warmup} --samples {samples}"
        )
        name = f"{division}-{season}"
        print(f"\n{name}")
        print_table(summary)
        (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
        np.savez_compressed(
            RESULTS / f"{name}.npz", outcomes=result.outcomes, **{key: value for key, value in result.forecasts.items()}
        )
        plot_reliability(result, PLOTS / f"reliability-{name}.png")


def report() -> str:
    from matchodds.evaluation import paired_bootstrap, rps, scores

    rows, pooled_forecasts, pooled_outcomes = [], {name: [] for name in FORECASTERS}, []
    for path in sorted(RESULTS.glob("*.npz")):
        stored = np.load(path)
        usable = np.logical_and.reduce([~np.isnan(stored[name]).any(axis=1) for name in FORECASTERS])
        outcomes = stored["outcomes"][usable]
        pooled_outcomes.append(outcomes)
        season_scores = {}
        for name in FORECASTERS:
            forecast = stored[name][usable]
            pooled_forecasts[name].append(forecast)
            season_scores[name] = scores(forecast, outcomes)
        settings = json.loads(path.with_suffix(".json").read_text())["settings"]
        rows.append((path.stem, season_scores, settings))
    outcomes = np.concatenate(pooled_outcomes)
    pooled = {name: np.concatenate(parts) for name, parts in pooled_forecasts.items()}
    lines = [
        "| season | n | model | Pinnacle closing | Bet365 | Dixon-Coles MLE | base rate | model / Pinnacle |"
        " DC / Pinnacle | fit s (median) | weeks the gate refused (last week kept) |",
        "|---" * 11 + "|",
    ]
    for name, season_scores, settings in rows:
        r = {k: v["rps"] for k, v in season_scores.items()}
        lines.append(
            f"| {name} | {season_scores['model']['n']} | {r['model']:.4f} | {r['pinnacle_closing']:.4f} | "
            f"{r['bet365']:.4f} | {r['dixon_coles_mle']:.4f} | {r['base_rate']:.4f} | "
            f"{r['model'] / r['pinnacle_closing']:.3f} | {r['dixon_coles_mle'] / r['pinnacle_closing']:.3f} | "
            f"{settings['fit_seconds_median']:.1f} | {settings['weeks_failing_served_gate']}/{settings['weeks']} |"
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
        f"{ratio[2]:.4f})\n\n" + "\n".join(lines) + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("targets", nargs="*", default=EVAL, help="DIVISION:SEASON, default: the EVAL set")
    run_parser.add_argument("--data", type=Path, default=DATA)
    run_parser.add_argument("--model", default="dixon_coles_stats")
    run_parser.add_argument("--warmup", type=int, default=1000)
    run_parser.add_argument("--samples", type=int, default=1000)
    commands.add_parser("report")
    args = parser.parse_args()
    if args.command == "run":
        run(args.targets, args.data, args.model, args.warmup, args.samples)
    else:
        print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
