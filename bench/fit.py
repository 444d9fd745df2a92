"""Fit benchmark: a fresh process per fit, so compilation and each run's memory peak are its own.

    python -m bench.fit child [--model NAME] [--chains 4 --warmup 1000 --samples 1000] [--seed 0]
                              [--window-seasons N] [--save posterior.npz] RESULTS.csv ...

The child fits as the service does (`fit_posterior`: the model's window, NUTS with compilation,
diagnostics) but with a gate that never refuses, so that one run is one sampling; whether the real
gate would have published is reported beside it. Timed: the fit itself (window, compilation,
sampling, diagnostics) inside the child, and the whole process from the parent (interpreter, JAX
import and reading the CSV files too). `--model prototype` is the prototype's model
(bench/prototype_model.py), which is not served.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.measure import ROOT, ChildRun, load_average, relative, report_result, run_child, summary

SAMPLE_DIR = ROOT / "matchodds" / "data" / "sample"
ONE_SEASON = (SAMPLE_DIR / "E0-2024-25.csv",)
FOUR_SEASONS = tuple(sorted(SAMPLE_DIR.glob("E0-*.csv")))
PROTOTYPE = "prototype"
SUMMARISED = (
    "fit_s",
    "fit_cpu_s",
    "process_s",
    "min_ess",
    "ess_per_s",
    "ess_per_cpu_s",
    "max_r_hat",
    "divergences",
    "peak_rss_mb",
)


@dataclass(frozen=True)
class FitCase:
    """One row of the fit table: a model on some seasons with some sampler settings."""

    key: str
    label: str
    model: str
    files: tuple[Path, ...]
    chains: int
    warmup: int | None  # None: the model's own
    samples: int | None
    window_seasons: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    cpus: str | None = None  # taskset's CPU list: the child pinned to these CPUs
    chain_method: str | None = None  # None: the service's
    warm_from: Path | None = None  # warm start from the adaptation stored in this posterior (last week's)
    fresh_cache: Path | None = None  # a new, empty compilation cache root under this directory for each run

    def arguments(self, seed: int, save: Path | None = None) -> list[str]:
        args = ["child", *(["--model", self.model] if self.model else [])]
        args += ["--warm-from", str(self.warm_from)] if self.warm_from else []
        args += ["--chains", str(self.chains)]
        args += ["--chain-method", self.chain_method] if self.chain_method else []
        args += ["--warmup", str(self.warmup)] if self.warmup is not None else []
        args += ["--samples", str(self.samples)] if self.samples is not None else []
        args += ["--seed", str(seed)]
        if self.window_seasons:
            args += ["--window-seasons", str(self.window_seasons)]
        if save is not None:
            args += ["--save", str(save)]
        return [*args, *map(str, self.files)]


@dataclass(frozen=True)
class FitConfig:
    runs: int = 3
    chains: int = 4
    warmup: int | None = None  # None: each model's own (what its fit budget allows)
    samples: int | None = None
    prototype_warmup: int = 1500
    prototype_samples: int = 50
    four_seasons: bool = True
    warm_cache_row: bool = True
    # The served fit pinned to 1 and 2 CPUs (the Fargate task's size), and the chain methods on 1 CPU.
    cpu_rows: bool = True
    # Warm start from last week's adaptation, with and without the compilation cache (issue 22).
    warm_rows: bool = True


# "Last week" for the warm-start rows: the season without its last round of matches.
LAST_ROUND = 10


def fit_cases(config: FitConfig, cache_dir: Path) -> list[FitCase]:
    """The rows of the fit table, served model first."""
    from_sampler = {"chains": config.chains, "warmup": config.warmup, "samples": config.samples}
    datasets = [("1 season", ONE_SEASON)] + ([("4 seasons", FOUR_SEASONS)] if config.four_seasons else [])
    cases = []
    for data_label, files in datasets:
        tag = "1" if len(files) == 1 else "4"
        cases.append(FitCase(f"served-{tag}", f"{{model}} (served), {data_label}", "", files, **from_sampler))
        cases.append(
            FitCase(
                f"poisson-{tag}",
                f"poisson_static (baseline), {data_label}",
                "poisson_static",
                files,
                **from_sampler,
                window_seasons=len(files) if len(files) > 1 else None,
                note="window widened to 4 seasons (its registry window is 1)" if len(files) > 1 else "",
            )
        )
    cases.append(
        FitCase(
            "prototype",
            "prototype model and settings (not served), 1 season",
            PROTOTYPE,
            ONE_SEASON,
            chains=1,
            warmup=config.prototype_warmup,
            samples=config.prototype_samples,
        )
    )
    if config.warm_cache_row:
        cases.append(
            FitCase(
                "served-1-cached",
                "{model} (served), 1 season, warm JAX compilation cache",
                "",
                ONE_SEASON,
                **from_sampler,
                env=compilation_cache_env(cache_dir),
                note="as the image runs it (services/fit/Dockerfile): JAX's persistent compilation cache in a "
                "directory for this CPU's instruction set, filled by one earlier run",
            )
        )
    if config.warm_cache_row:
        cases.append(
            FitCase(
                "served-1-cache-empty",
                "{model} (served), 1 season, empty compilation cache (a cold container: the cache is written)",
                "",
                ONE_SEASON,
                **from_sampler,
                fresh_cache=cache_dir.parent / "empty-caches",
            )
        )
    if config.warm_rows:
        last_week = cache_dir.parent / "last-week.npz"
        for key, label, env, cpus in (
            ("served-1-warm", "warm start", {}, None),
            ("served-1-warm-cached", "warm start, warm compilation cache", compilation_cache_env(cache_dir), None),
            (
                "served-1-cpu1-warm-cached",
                "warm start, warm compilation cache, pinned to 1 CPU",
                compilation_cache_env(cache_dir),
                "0",
            ),
        ):
            cases.append(
                FitCase(
                    key,
                    f"{{model}} (served), 1 season, {label}",
                    "",
                    ONE_SEASON,
                    **from_sampler,
                    env=env,
                    cpus=cpus,
                    warm_from=last_week,
                    note=f"from the adaptation of a fit without the last {LAST_ROUND} matches",
                )
            )
    if config.cpu_rows:
        for cpus, method in (("0", None), ("0", "sequential"), ("0", "vectorized"), ("0,1", None)):
            count = len(cpus.split(","))
            how = f"4 chains {method}" if method else "4 chains parallel (as served)"
            cases.append(
                FitCase(
                    f"served-1-cpu{count}" + (f"-{method}" if method else ""),
                    f"{{model}} (served), 1 season, pinned to {count} CPU{'s' if count > 1 else ''}, {how}",
                    "",
                    ONE_SEASON,
                    **from_sampler,
                    cpus=cpus,
                    chain_method=method,
                )
            )
    return cases


def compilation_cache_env(cache_dir: Path) -> dict[str, str]:
    """The image's settings (services/fit/Dockerfile): a cache root, a directory per instruction set under it."""
    return {
        "MATCHODDS_JAX_CACHE_ROOT": str(cache_dir),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def measurement(run: ChildRun) -> dict[str, Any]:
    result = dict(run.result)
    result["process_s"] = run.process_s
    result["ess_per_s"] = result["min_ess"] / result["fit_s"]
    result["ess_per_cpu_s"] = result["min_ess"] / result["fit_cpu_s"]
    return result


def run(
    config: FitConfig, workdir: Path, save_posterior: Path | None = None, only: Sequence[str] = ()
) -> dict[str, Any]:
    """Every fit case (or those whose keys are in `only`) `config.runs` times, round-robin so that
    drifting load touches every case alike.

    The served model's widest-data fit of the first round is saved at `save_posterior`, for the
    precompute and query benchmarks.
    """
    cache_dir = workdir / "jax-cache"
    cases = [case for case in fit_cases(config, cache_dir) if not only or case.key in only]
    runs: dict[str, list[dict[str, Any]]] = {case.key: [] for case in cases}
    commands: dict[str, str] = {}
    saved_from = "served-4" if config.four_seasons else "served-1"
    warm_from = {case.warm_from for case in cases if case.warm_from is not None}
    for last_week in warm_from:  # last week's fit, whose adaptation the warm rows start from; not counted
        run_child(
            "bench.fit",
            [*fit_cases(config, cache_dir)[0].arguments(seed=98, save=last_week), "--drop-last", str(LAST_ROUND)],
        )
    filled: set[tuple[Any, ...]] = set()
    for case in cases:
        program = (tuple(sorted(case.env.items())), case.warm_from)  # the compiled programs a fill leaves
        if case.env and program not in filled:  # fill the cache once; this run is not counted
            run_child("bench.fit", case.arguments(seed=99), env=case.env, cpus=case.cpus)
            filled.add(program)
    for round_index in range(config.runs):
        for case in cases:
            save = save_posterior if (round_index == 0 and case.key == saved_from) else None
            load = load_average()[0]
            env = case.env
            if case.fresh_cache is not None:
                env = {**env, **compilation_cache_env(Path(tempfile.mkdtemp(dir=ensure(case.fresh_cache))))}
            child = run_child("bench.fit", case.arguments(seed=round_index, save=save), env=env, cpus=case.cpus)
            runs[case.key].append({**measurement(child), "load_average": [load, load_average()[0]]})
            commands[case.key] = display_with_env(child.command, env)
            print(f"fit {case.key} round {round_index + 1}: {summary_line(runs[case.key][-1])}", file=sys.stderr)
    return {
        "config": asdict(config),
        "cases": [
            {
                "key": case.key,
                "label": case.label.format(model=runs[case.key][0]["model"]),
                "note": case.note,
                "sampler": runs[case.key][0]["sampler"],
                "command": commands[case.key],
                "matches": runs[case.key][0]["matches"],
                "teams": runs[case.key][0]["teams"],
                "gate_ok": [entry["gate_ok"] for entry in runs[case.key]],
                "runs": runs[case.key],
                "summary": {name: summary(entry[name] for entry in runs[case.key]) for name in SUMMARISED},
            }
            for case in cases
        ],
        "posterior": str(save_posterior) if save_posterior is not None else None,
        "posterior_from": saved_from,
    }


def ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def display_with_env(command: str, env: dict[str, str]) -> str:
    if not env:
        return command
    return " ".join(f"{name}={relative(value)}" for name, value in env.items()) + f" {command}"


def summary_line(entry: dict[str, Any]) -> str:
    return (
        f"fit {entry['fit_s']:.1f} s, {entry['fit_cpu_s']:.1f} s CPU (process {entry['process_s']:.1f} s), "
        f"min ESS {entry['min_ess']:.0f}, {entry['ess_per_s']:.0f} ESS/s, max r_hat {entry['max_r_hat']:.3f}, "
        f"{entry['peak_rss_mb']:.0f} MiB, load average {entry['load_average']}"
    )


# --- the child ---------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    from services.fit import configure_jax

    configure_jax()  # four CPU devices for four parallel chains, before JAX computes
    from matchodds.core.adaptation import posterior_adaptation
    from matchodds.core.keys import ContractError
    from matchodds.core.posterior import decode_posterior, encode_posterior
    from matchodds.core.results import read_results
    from services.fit.inference import Diagnostics, QualityGate, chain_method_for, fit_posterior, sampler_for
    from services.fit.model import DEFAULT_MODEL, MODELS

    if args.model == PROTOTYPE:
        from bench.prototype_model import PROTOTYPE_MODEL as model
    else:
        model = MODELS[args.model or DEFAULT_MODEL]
    if args.window_seasons:
        model = replace(model, settings={**model.settings, "seasons": args.window_seasons})
    imported = time.perf_counter()
    matches = [match for match in read_results(args.results) if match.competition == "E0"]
    if args.drop_last:
        matches = sorted(matches, key=lambda match: match.date)[: -args.drop_last]
    previous = posterior_adaptation(decode_posterior(args.warm_from.read_bytes())) if args.warm_from else None
    loaded = time.perf_counter()
    sampler = sampler_for(model, args.chains, args.warmup, args.samples, args.seed, args.chain_method)
    never_refuses = QualityGate(max_r_hat=float("inf"), min_bulk_ess=-float("inf"), max_divergences=sys.maxsize)
    cpu_before = time.process_time()
    posterior = fit_posterior(matches, model, "E0", sampler, never_refuses, previous=previous)
    fitted = time.perf_counter()
    fit_cpu_s = time.process_time() - cpu_before
    diagnostics = Diagnostics(**posterior.meta["diagnostics"])
    saved = False
    if args.save:
        try:
            args.save.write_bytes(encode_posterior(posterior))
            saved = True
        except ContractError as error:  # a tiny smoke-test fit can be too unconverged to publish
            print(f"posterior not saved: {error}", file=sys.stderr)
    report_result(
        {
            "model": model.name,
            "matches": posterior.meta["data_window"]["matches"],
            "seasons": posterior.meta["data_window"]["seasons"],
            "teams": len(posterior.team_codes),
            "import_s": imported - started,
            "load_s": loaded - imported,
            "fit_s": fitted - loaded,
            "fit_cpu_s": fit_cpu_s,
            "process_cpu_s": time.process_time(),
            "cpus": len(os.sched_getaffinity(0)),
            "chain_method": chain_method_for(sampler),
            "sampler": {name: posterior.meta["sampler"][name] for name in ("chains", "warmup", "samples")},
            "min_ess": diagnostics.min_bulk_ess,
            "worst_ess_site": diagnostics.worst_ess_site,
            "max_r_hat": diagnostics.max_r_hat,
            "worst_r_hat_site": diagnostics.worst_r_hat_site,
            "divergences": diagnostics.divergences,
            "gate_ok": not diagnostics.failures(QualityGate()),
            "warm_start": posterior.meta["warm_start"],
            "attempts": posterior.meta["attempts"],
            "saved": saved,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("child", help="one fit in this process; prints a BENCH-RESULT line")
    one.add_argument("results", nargs="+", type=Path)
    one.add_argument("--model", default="", help="a registry name, or 'prototype'; default: the served model")
    one.add_argument("--chains", type=int, default=4)
    one.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    one.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--chain-method", help="parallel, sequential or vectorized (default: the service's)")
    one.add_argument("--window-seasons", type=int, help="fit this many seasons, whatever the model's window")
    one.add_argument("--save", type=Path, help="write the posterior here")
    one.add_argument("--warm-from", type=Path, help="start from the sampler adaptation stored in this posterior")
    one.add_argument("--drop-last", type=int, default=0, help="fit without the last N matches (last week's fit)")
    every = commands.add_parser("run", help="every fit case; prints a summary")
    every.add_argument("--runs", type=int, default=3)
    every.add_argument("--only", nargs="*", default=(), help="these case keys only (default: every case)")
    args = parser.parse_args(argv)
    if args.command == "child":
        child(args)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-fit-") as workdir:
            results = run(FitConfig(runs=args.runs), Path(workdir), only=args.only)
        for case in results["cases"]:
            print(case["label"], {name: round(value["median"], 3) for name, value in case["summary"].items()})
            print("  ", case["command"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
