"""Run the benchmarks and write docs/benchmarks.md: `python -m bench [fit precompute query growth load]`.

    .venv/bin/python -m bench                 # all of it (about 13 minutes on 2 cores), then the report
    .venv/bin/python -m bench precompute      # some sections; the others are kept from the last run
    .venv/bin/python -m bench --quick         # tiny sizes (what the smoke test runs), report to build/bench/
    .venv/bin/python -m bench --report-only   # rewrite the report from the last run's results

Results go to build/bench/results.json (the report is made from it), the served model's fitted
posterior to build/bench/, where the precompute and query benchmarks pick it up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fit as fit_bench
from bench import load as load_bench
from bench import precompute as precompute_bench
from bench import query as query_bench
from bench.fit import FitConfig
from bench.load import LoadConfig
from bench.measure import ROOT, busy_processes, load_average, machine
from bench.precompute import GrowthConfig, PrecomputeConfig
from bench.query import QueryConfig
from bench.report import write_report

SECTIONS = ("fit", "precompute", "query", "growth", "load")
BUILD = ROOT / "build" / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class BenchConfig:
    fit: FitConfig = field(default_factory=FitConfig)
    precompute: PrecomputeConfig = field(default_factory=PrecomputeConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    growth: GrowthConfig = field(default_factory=GrowthConfig)
    load: LoadConfig = field(default_factory=LoadConfig)
    quick: bool = False
    busy_seconds: float = 2.0  # how long to watch the other processes' CPU before and after each benchmark


FULL = BenchConfig()
# Tiny sizes: every benchmark runs its real code path, in seconds rather than minutes.
QUICK = BenchConfig(
    fit=FitConfig(
        runs=1,
        chains=2,
        warmup=30,
        samples=30,
        prototype_warmup=30,
        prototype_samples=10,
        four_seasons=False,
        warm_cache_row=False,
        cpu_rows=False,
        warm_rows=False,
    ),
    precompute=PrecomputeConfig(teams=(4, 6), draws=200, repeats=2, pipeline_runs=1, estimator_seeds=3),
    query=QueryConfig(
        requests=40,
        prototype_requests=10,
        clients=2,
        seconds=1.0,
        cold_runs=1,
        build_zip=False,
        bulk_requests=5,
        table_requests=5,
        large_teams=6,
        large_draws=40,
    ),
    growth=GrowthConfig(teams=(4, 6), draws=200, repeats=1),
    load=LoadConfig(clients=4, seconds=2.0),
    quick=True,
    busy_seconds=0.2,
)


def run_benchmarks(config: BenchConfig, sections: Sequence[str], build: Path) -> dict[str, Any]:
    """Run the chosen sections; returns their results, each with what else was loading the machine."""
    build.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "quick": config.quick}
    posterior = build / "posterior-served.npz"
    if "fit" in sections:
        posterior.unlink(missing_ok=True)
    runners = {
        "fit": lambda: fit_bench.run(config.fit, build, save_posterior=posterior),
        "precompute": lambda: precompute_bench.run(config.precompute, fitted()),
        "query": lambda: query_bench.run(config.query, fitted(), config.precompute.teams[0], config.precompute.draws),
        "growth": lambda: precompute_bench.run_growth(config.growth),
        "load": lambda: load_bench.run(config.load),
    }

    def fitted() -> Path | None:
        return posterior if posterior.exists() else None

    for section in SECTIONS:
        if section in sections:
            busy, load = busy_processes(config.busy_seconds), load_average()
            results[section] = runners[section]()
            results[section]["busy"] = {"start": busy, "end": busy_processes(config.busy_seconds)}
            results[section]["load_average"] = [load[0], load_average()[0]]
    results["machine"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def merge(previous: dict[str, Any], fresh: dict[str, Any], sections: Sequence[str]) -> dict[str, Any]:
    """The previous results with the sections just run replaced; each section keeps its own machine."""
    merged = {key: value for key, value in previous.items() if key in SECTIONS and key not in sections}
    for section in sections:
        merged[section] = {**fresh[section], "machine": fresh["machine"]}
    merged["quick"] = fresh["quick"]
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"some of {', '.join(SECTIONS)} (default: all of them)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that everything runs")
    parser.add_argument("--runs", type=int, help="fits per case (default 3)")
    parser.add_argument("--out", type=Path, help="the report (default docs/benchmarks.md; --quick: build/bench/)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the saved results")
    args = parser.parse_args(argv)
    sections = args.sections or list(SECTIONS)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    config = QUICK if args.quick else FULL
    if args.runs:
        config = replace(config, fit=replace(config.fit, runs=args.runs))
    build = BUILD / ("quick" if args.quick else "full")
    saved = build / "results.json"
    out = args.out or (build / "benchmarks.md" if args.quick else REPORT)
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    if args.report_only:
        if not previous:
            parser.error(f"no results at {saved}; run the benchmarks first")
        results = previous
    else:
        results = merge(previous, run_benchmarks(config, sections, build), sections)
        saved.write_text(json.dumps(results, indent=1, default=str) + "\n")
    write_report(results, out)
    print(f"wrote {out} (results in {saved})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
