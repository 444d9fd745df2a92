"""Projection benchmark (issue 21): the rest of a season simulated from a real-sized posterior.

    python -m bench.projection                                   # 10,000 seasons, 20 teams, 4000 draws
    python -m bench.projection --write docs/benchmarks.md        # and record the figures there
    python -m bench.projection --posterior P.npz                 # a fitted posterior instead of a synthetic one

Two cases, each in a fresh process: half a season played (190 of 380 matches left) and the season's
start (all 380 left). Each times `project_season` (sampling every match of every simulated season,
the tables, the ranking with the league's tie-breaks, La Liga's head-to-head included), repeated, and
the document precompute stores; the child also reports its peak RSS. The played half is a random half
of the double round robin with scores drawn from the posterior's mean rates (seeded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.measure import report_result, run_child, summary
from bench.posteriors import posterior_arguments
from bench.report import PROJECTION_SECTION, write_section

DRAWS = 4000
SIMULATIONS = 10_000
CASES = (("half season", 0.5), ("season start", 0.0))


def child(args: argparse.Namespace) -> None:
    import numpy as np

    from bench.posteriors import load_posterior
    from matchodds.core.grid import PredictionDraws
    from matchodds.core.projection import league_rules, project_season
    from matchodds.core.season import PlayedMatch, SeasonRecord

    posterior = load_posterior(args.posterior, args.teams, args.draws)
    codes = posterior.team_codes
    draws = PredictionDraws.from_posterior(posterior)
    rng = np.random.default_rng(args.seed)
    pairs = [(home, away) for home in range(len(codes)) for away in range(len(codes)) if home != away]
    rng.shuffle(pairs)
    played_pairs = np.array(pairs[: round(len(pairs) * args.played)], dtype=np.intp).reshape(-1, 2)
    home_rate, away_rate = (rate.mean(axis=-1) for rate in draws.rates(played_pairs[:, 0], played_pairs[:, 1]))
    home_goals, away_goals = rng.poisson(home_rate), rng.poisson(away_rate)
    played = tuple(
        PlayedMatch(date(2024, 8, 17) + timedelta(days=n // 10), codes[home], codes[away], int(hg), int(ag))
        for n, ((home, away), hg, ag) in enumerate(zip(played_pairs, home_goals, away_goals, strict=True))
    )
    record = SeasonRecord("2024-25", codes, played)
    timings: dict[str, list[float]] = {}
    for competition in ("E0", "SP1"):
        rules = league_rules(competition)
        seconds = []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            projection = project_season(draws, codes, record, rules, args.simulations, repeat)
            seconds.append(time.perf_counter() - start)
        timings[competition] = seconds
    start = time.perf_counter()
    document = projection.document(dict(zip(codes, posterior.team_names, strict=True)))
    document_s = time.perf_counter() - start
    report_result(
        {
            "teams": len(codes),
            "draws": int(draws.intercept.shape[0]),
            "simulations": args.simulations,
            "played": len(played),
            "remaining": projection.remaining_matches,
            "project_s": timings["E0"],
            "project_head_to_head_s": timings["SP1"],
            "document_s": document_s,
            "document_bytes": len(json.dumps(document, separators=(",", ":"))),
        }
    )


def run(posterior: Path | None, teams: int, draws: int, simulations: int, repeats: int) -> dict[str, Any]:
    """One child per case; their figures with the commands that measure them."""
    cases = []
    for name, share in CASES:
        args = [
            "child",
            *posterior_arguments(posterior, teams, draws),
            "--simulations",
            str(simulations),
            "--repeats",
            str(repeats),
            "--played",
            str(share),
        ]
        result = run_child("bench.projection", args)
        figures = {**result.result, "case": name, "command": result.command, "process_s": result.process_s}
        figures["project"] = summary(figures["project_s"])
        figures["project_head_to_head"] = summary(figures["project_head_to_head_s"])
        print(f"projection {name}: {figures['project']} ({figures['peak_rss_mb']:.0f} MiB)", file=sys.stderr)
        cases.append(figures)
    return {"source": "fitted" if posterior else "synthetic", "cases": cases}


def markdown(results: dict[str, Any]) -> str:
    """The benchmarks section for these figures."""
    rows = "\n".join(
        f"| {case['case']} | {case['played']} | {case['remaining']} | "
        f"{spread(case['project'])} | {spread(case['project_head_to_head'])} | "
        f"{case['document_s'] * 1000:.0f} ms | {case['document_bytes'] / 1024:.1f} KiB | "
        f"{case['peak_rss_mb']:.0f} MiB |"
        for case in results["cases"]
    )
    first = results["cases"][0]
    half = first["project"]["median"]
    commands = "\n".join(f"- {case['case']}: `{case['command']}`" for case in results["cases"])
    return f"""{PROJECTION_SECTION}

`.venv/bin/python -m bench.projection --write docs/benchmarks.md`: `project_season`
(matchodds/core/projection.py) simulating {first["simulations"]:,} seasons of a {first["teams"]}-team league from a
{results["source"]} posterior of {first["draws"]:,} draws with Dixon-Coles' rho, each case in a fresh process,
{first["project"]["n"]} repeats, median [min–max]. Premier League rules (points, goal difference, goals, then
head-to-head, which few tables reach) and La Liga's (head-to-head first: a mini-league in most seasons).
Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores shared with other work.
Target: 10,000 seasons of a 20-team league at half season in ≤ 1 s: {verdict(first, half)}.

| case | matches played | left | E0 rules | SP1 rules (head-to-head) | document | stored | peak RSS |
|---|---|---|---|---|---|---|---|
{rows}

{commands}

Most of the time is numpy's Poisson sampler (two goals per match per season); the Dixon-Coles
re-draw of the low scores, the tables (one matrix product per statistic) and the ranking (one lexsort
per season) share the rest. Time and memory grow with the matches left.
"""


def verdict(case: dict[str, Any], seconds: float) -> str:
    if (case["simulations"], case["teams"]) != (SIMULATIONS, 20):
        return f"not this run's sizes ({seconds:.2f} s)"
    return f"**{'met' if seconds <= 1 else 'not met'}** ({seconds:.2f} s)"


def spread(entry: dict[str, float]) -> str:
    text = f"{entry['median']:.2f} s"
    return text + (f" [{entry['min']:.2f}–{entry['max']:.2f}]" if entry["n"] > 1 else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["child"], help=argparse.SUPPRESS)
    parser.add_argument("--posterior", type=Path, help="a posterior file; default: a synthetic one")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--draws", type=int, default=DRAWS)
    parser.add_argument("--simulations", type=int, default=SIMULATIONS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--played", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, help="record the figures in this markdown file (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.command == "child":
        child(args)
        return 0
    results = run(args.posterior, args.teams, args.draws, args.simulations, args.repeats)
    print(json.dumps(results, indent=1))
    if args.write:
        write_section(args.write, PROJECTION_SECTION, markdown(results))
        print(f"wrote {PROJECTION_SECTION!r} into {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
