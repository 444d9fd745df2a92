"""Two weekly fits in one process, as a walk-forward backtest runs them: the second reuses the first's compiled sampler.

    python -m bench.refit [--model NAME] [--chains 4] [--warmup W --samples S] [--matches-later 10] RESULTS.csv ...

The first fit is on every match but the last `--matches-later` (last week), the second on them all
(this week): other data, the same padded shapes. For each it reports the wall time of the sampler
(`services.fit.inference.sample`: NUTS and its draws, no diagnostics) and the seconds XLA spent
compiling, from JAX's compile events, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def refit_times(
    model_name: str | None,
    files: Sequence[Path],
    chains: int,
    later: int,
    warmup: int | None = None,
    samples: int | None = None,
) -> dict[str, Any]:
    import jax

    from services.fit import configure_jax

    configure_jax()  # splits the CPU into devices before JAX computes
    from matchodds.core.results import read_results
    from services.fit.inference import pad_matches, sample, sampler_for
    from services.fit.model import DEFAULT_MODEL, MODELS

    model = MODELS[model_name or DEFAULT_MODEL]
    matches = sorted(read_results(files), key=lambda match: match.date)
    weeks = {"last_week": matches[:-later], "this_week": matches}
    compiling: list[float] = []

    def listen(event: str, seconds: float, **_: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiling.append(seconds)

    result: dict[str, Any] = {"model": model.name}
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        for seed, (name, week) in enumerate(weeks.items()):
            data = model.prepare(week).data
            compiling.clear()
            start = time.perf_counter()
            sample(model, data, sampler_for(model, chains, warmup, samples, seed))
            result[name] = {
                "matches": len(model.window(week)),
                "padded_to": len(pad_matches(data).get("weight", data["home_team"])),
                "fit_s": round(time.perf_counter() - start, 2),
                "compile_s": round(sum(compiling), 2),
            }
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.refit", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model of services.fit.model.MODELS (default: the served one)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    parser.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    parser.add_argument("--matches-later", type=int, default=10, help="matches in this week and not in last week")
    parser.add_argument("files", nargs="+", type=Path, help="football-data results files")
    args = parser.parse_args(argv)
    print(json.dumps(refit_times(args.model, args.files, args.chains, args.matches_later, args.warmup, args.samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
