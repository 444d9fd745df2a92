"""docs/benchmarks.md from the results of `python -m bench`: figures, commands, targets met or not.

Everything above the section "## Load (issue 8)" is generated; that section (owned by bench/load.py)
is kept verbatim, wherever it stood, and placed after the generated part.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

COLD_IMPORT_TARGET_MS = 150  # issue 22: the query handler imports in 150 ms or less

LOAD_SECTION = "## Load (issue 8)"
PROJECTION_SECTION = "## Projection (issue 21)"
# Sections that their own benchmarks write (bench/load.py, bench/projection.py), kept verbatim at the end.
KEPT_SECTIONS = (LOAD_SECTION, PROJECTION_SECTION)
SECTIONS = ("fit", "precompute", "query", "growth", "load")
BENCH_COMMAND = ".venv/bin/python -m bench"


# --- the load section that another benchmark owns -----------------------------------------------------


def kept_section(text: str, heading: str = LOAD_SECTION) -> str:
    """The section under `heading` (to the next "## " heading or the end), verbatim; "" if absent."""
    lines = text.splitlines(keepends=True)
    start = next((n for n, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return ""
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    return "".join(lines[start:end])


def write_report(results: dict[str, Any], path: Path) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = [kept_section(existing, heading) for heading in KEPT_SECTIONS]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, "\n".join(text.rstrip("\n") + "\n" for text in kept if text)), encoding="utf-8")


def write_section(path: Path, heading: str, section: str) -> None:
    """Put `section` into the file under `heading`, replacing only that section (the others stay as they are)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((n for n, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + rest if rest else ""), encoding="utf-8")


# --- formatting -----------------------------------------------------------------------------------------


def num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else "–∞"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def spread(entry: dict[str, float], digits: int = 2, unit: str = "") -> str:
    """median [min–max] of a summary; the bracket only when there were several runs."""
    text = f"{num(entry['median'], digits)}{unit}"
    if entry.get("n", 1) > 1:
        text += f" [{num(entry['min'], digits)}–{num(entry['max'], digits)}]"
    return text


@dataclass(frozen=True)
class Target:
    figure: str
    target: str
    measured: str
    met: bool | None  # None: recorded, no threshold
    gap: str = ""
    closing: str = ""  # what would close the gap, said when the target is missed


def verdict(target: Target) -> str:
    if target.met is None:
        return "recorded"
    return "**met**" if target.met else f"**not met** ({target.gap})"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- sections --------------------------------------------------------------------------------------------


def machine_section(results: dict[str, Any]) -> str:
    present = [section for section in SECTIONS if section in results]
    machines: dict[str, list[str]] = {}
    for section in present:
        machines.setdefault(json.dumps(results[section]["machine"], sort_keys=True), []).append(section)
    rows = []
    for described, sections in machines.items():
        machine = json.loads(described)
        versions = machine["versions"]
        rows.append(
            [
                ", ".join(sections),
                f"{machine['started_at'][:16].replace('T', ' ')} – {machine.get('finished_at', '?')[11:16]} UTC",
                f"{machine['nproc']} x {machine['cpu']}",
                f"{machine['memory_gib']} GiB",
                machine["os"],
                f"Python {machine['python']}, numpy {versions['numpy']}, jax {versions['jax']}, "
                f"numpyro {versions['numpyro']}, boto3 {versions['boto3']}, moto {versions['moto']}",
                f"{machine['commit']}",
            ]
        )
    text = "## Machine\n\n" + table(
        ["benchmarks", "run", "CPU (nproc x model)", "memory", "OS", "software", "commit"], rows
    )
    loads = []
    for section in present:
        busy = results[section].get("busy", {})
        others: dict[str, float] = {}
        for entry in busy.get("start", []) + busy.get("end", []):
            others[entry["command"]] = max(others.get(entry["command"], 0.0), entry["cpu_share"])
        start, end = results[section].get("load_average", ["?", "?"])
        line = f"- {section}: load average {start} at the start, {end} at the end"
        if others:
            line += "; also running: " + "; ".join(
                f"`{command}` ({share:.0%} of a core)" for command, share in others.items()
            )
        loads.append(line)
    quiet = all(
        not results[s].get("busy", {}).get("start") and not results[s].get("busy", {}).get("end") for s in present
    )
    text += "\n" + (
        "Nothing else used more than a fifth of a core at the start or the end of any benchmark."
        if quiet
        else "**The machine was not idle**: other processes used CPU while these benchmarks ran, so wall times "
        "are pessimistic and spreads wider than on a quiet machine. Checked before and after each benchmark "
        "(CPU used by every other process over 2 s):"
    )
    return text + "\n\n" + "\n".join(loads) + "\n"


def fit_case(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((case for case in results["fit"]["cases"] if case["key"] == key), None)


FIT_CLOSING = (
    "see **Gap** under Fit below. Fit times depend on the CPU, which the Machine table names: the unchanged "
    "`poisson_static` baseline (the fit table) is the yardstick to compare machines by."
)
PRECOMPUTE_CLOSING = (
    "what is left is the maths of every market, computed as before so that every served digit stays: the score "
    "grids, one BLAS matrix product per pair on one thread, and the pmfs by recurrence with the per-draw 1X2 of "
    "every goal for the credible intervals (about 0.17 s for 380 pairs on the shared benchmark machine), the sort "
    "of those per-draw 1X2 (about 0.04 s), and sizing the grid from every pairing's rates (about 0.03 s; "
    "matchodds/core/grid.py). Encoding the items is about 0.07 s for 380 items since a batch's market numbers are "
    "rounded at once in numpy (matchodds/core/rounding.py): most of it is the compact JSON's float text and zlib "
    "(level 1 would save about 0.03 s but add about 60 bytes to each item, the largest then within 60 bytes of "
    "DynamoDB's 1 KB write unit). Fewer draws or single-precision products would be faster but change the "
    "served digits."
)
QUERY_CLOSING = (
    "the tail is each fixture's first request at a version on an instance (its text not kept yet): one GetItem, "
    "most of it moto's response serialiser visiting every member of every AttributeValue in Python, then the "
    "document built and serialised (about 0.6 ms); a kept text answers with no read at all. A ProjectionExpression "
    "did not shorten moto's GetItem (moto 5.2.5 parses the expression's names for longer than the two attributes "
    "it leaves out take), so single reads ask for the whole item; in AWS the read is DynamoDB's, a few milliseconds."
)
BULK_CLOSING = (
    "a request whose fixtures' texts are kept answers without a read; one whose texts are not (an instance's first "
    "requests at a version) reads them in one BatchGetItem, which moto serialises in Python (a third less since the "
    "read asks only for the attributes odds_from_item uses), and builds and serialises each fixture's markets "
    "document, about 0.6 ms a fixture on this machine (markets_document and json.dumps, half each)."
)


def fit_targets(results: dict[str, Any]) -> list[Target]:
    served = fit_case(results, "served-1")
    if served is None:
        return []
    summary = served["summary"]
    wall, ess, rate = summary["fit_s"]["median"], summary["min_ess"]["median"], summary["ess_per_s"]["median"]
    memory = max(case["summary"]["peak_rss_mb"]["max"] for case in results["fit"]["cases"])
    return [
        Target(
            "fit, one season, served model: wall time incl. compilation",
            "≤ 10 s",
            f"{spread(summary['fit_s'], 1, ' s')} (whole process {spread(summary['process_s'], 1, ' s')})",
            wall <= 10,
            f"{wall - 10:+.1f} s",
            FIT_CLOSING,
        ),
        Target(
            "fit, one season: min bulk ESS",
            "≥ 1000",
            spread(summary["min_ess"], 0),
            ess >= 1000,
            f"{ess - 1000:+.0f}",
            FIT_CLOSING,
        ),
        Target(
            "fit, one season: min ESS per second, compile included",
            "≥ 300 /s",
            spread(summary["ess_per_s"], 0, " /s"),
            rate >= 300,
            f"{rate - 300:+.0f} /s",
            FIT_CLOSING,
        ),
        *warm_targets(results),
        Target("fit: peak memory (largest peak RSS of every fit)", "written down", f"{memory:.0f} MiB", None),
    ]


def warm_targets(results: dict[str, Any]) -> list[Target]:
    """Issue 22: the one-season target with the weekly fit's warm start and the image's compilation cache."""
    targets = []
    for key, where in (("served-1-warm-cached", "2 CPUs"), ("served-1-cpu1-warm-cached", "1 CPU")):
        case = fit_case(results, key)
        if case is None:
            continue
        rate = case["summary"]["ess_per_s"]["median"]
        targets.append(
            Target(
                f"fit, one season, warm start + compilation cache, {where}: min ESS per second",
                "≥ 300 /s",
                f"{spread(case['summary']['ess_per_s'], 0, ' /s')} ({spread(case['summary']['fit_s'], 1, ' s')}; "
                f"per CPU second {spread(case['summary']['ess_per_cpu_s'], 0, ' /s')})",
                rate >= 300,
                f"{rate - 300:+.0f} /s",
                "the warm start and the cache take the warmup and the compilation out (the fit table's warm, cached "
                "rows against the cold one), and what is left is sampling "
                f"{case['sampler']['chains']} x ({case['sampler']['warmup']} + {case['sampler']['samples']}) "
                f"iterations: a min ESS of {num(case['summary']['min_ess']['median'], 0)} in "
                f"{num(case['summary']['fit_s']['median'], 1)} s "
                "here. 300 /s needs draws that mix better (a non-centred or otherwise reparametrised "
                "`attack_scale`, the worst-mixing site) or fewer seconds per draw (a faster CPU)",
            )
        )
    return targets


def fit_section(results: dict[str, Any]) -> str:
    fit = results["fit"]
    config = fit["config"]
    rows = []
    for case in fit["cases"]:
        s = case["summary"]
        sampler = case["sampler"]
        gates = case["gate_ok"]
        rows.append(
            [
                case["label"] + (f" ({case['note']})" if case["note"] else ""),
                f"{case['matches']}",
                f"{sampler['chains']} x ({sampler['warmup']} + {sampler['samples']})",
                spread(s["fit_s"], 1),
                spread(s["fit_cpu_s"], 1) if "fit_cpu_s" in s else "",
                spread(s["process_s"], 1),
                spread(s["min_ess"], 0),
                spread(s["ess_per_s"], 0),
                spread(s["max_r_hat"], 3),
                spread(s["divergences"], 0),
                spread(s["peak_rss_mb"], 0),
                f"{sum(gates)}/{len(gates)}",
            ]
        )
    commands = "\n".join(f"- {case['label']}: `{case['command']}`" for case in fit["cases"])
    text = f"""## Fit

{plural(config["runs"], "run", "runs")} of each case, each in a fresh process (`{BENCH_COMMAND} fit`), round-robin
so that changing load touches every case alike; median [min–max]. **fit s** is the fit itself as the service
runs it (`fit_posterior`: the model's window of matches, JAX compilation, NUTS, diagnostics), timed
inside the process, and **fit CPU s** the CPU time the process used meanwhile (every thread);
**process s** is the whole process from spawn to exit (interpreter, JAX import,
reading the CSV files, writing nothing). min bulk ESS and max r_hat are over every parameter the
model's gate diagnoses (`services.fit.inference.diagnose`); min ESS/s = min bulk ESS / fit s. Peak
RSS is each process's own (`getrusage`). **gate**: runs the real quality gate (r_hat ≤ 1.01, min ESS
≥ 400, no divergence) would have published at the first attempt. Each run uses seed = its round.

"""
    text += table(
        [
            "case",
            "matches",
            "chains x (warmup + draws)",
            "fit s",
            "fit CPU s",
            "process s",
            "min bulk ESS",
            "min ESS/s",
            "max r_hat",
            "divergences",
            "peak RSS MiB",
            "gate",
        ],
        rows,
    )
    text += f"\nOne measurement each (the runner adds `--seed <round>`):\n\n{commands}\n"
    text += fit_notes(results)
    return text


def fit_notes(results: dict[str, Any]) -> str:
    notes = []
    served, cached = fit_case(results, "served-1"), fit_case(results, "served-1-cached")
    prototype, baseline = fit_case(results, "prototype"), fit_case(results, "poisson-1")
    if prototype and served:
        notes.append(
            f"The prototype's model and settings (1 chain, {prototype['sampler']['warmup']} warmup, "
            f"{prototype['sampler']['samples']} draws, no sum-to-zero) reach a min bulk ESS of "
            f"{num(prototype['summary']['min_ess']['median'], 0)} (max r_hat "
            f"{num(prototype['summary']['max_r_hat']['median'], 2)}); the served fit reaches "
            f"{num(served['summary']['min_ess']['median'], 0)}: without the sum-to-zero constraint the "
            "intercept, attack and defence can drift together along directions that only the priors pin down, "
            f"and {prototype['sampler']['samples']} draws of one chain cannot show whether they have mixed. Its "
            "model is in `bench/prototype_model.py`, not served. (A negative ESS is the estimator giving up on "
            "draws so autocorrelated that they hold about no independent information.)"
        )
    notes.extend(warm_notes(results))
    served_four = fit_case(results, "served-4")
    if served and served_four:
        gates_one, gates_four = served["gate_ok"], served_four["gate_ok"]
        notes.append(
            f"The served model's own window is four seasons (its row above is what the weekly fit runs: "
            f"{num(served_four['summary']['fit_s']['median'], 1)} s, min ESS "
            f"{num(served_four['summary']['min_ess']['median'], 0)}, the gate passed {sum(gates_four)} of "
            f"{len(gates_four)} runs); the one-season row is the issue's target case. On one season the gate "
            f"passed {sum(gates_one)} of {len(gates_one)} runs at the first attempt; the service retries once with "
            "twice the draws when it does not (services/fit/inference.py)."
        )
    if served and cached:
        saved = served["summary"]["fit_s"]["median"] - cached["summary"]["fit_s"]["median"]
        cold_s, warm_s = served["summary"]["fit_s"]["median"], cached["summary"]["fit_s"]["median"]
        notes.append(
            f"Compilation: with JAX's persistent compilation cache warm (last row), the same fit takes "
            f"{num(warm_s, 1)} s instead of {num(cold_s, 1)} s: about {num(saved, 1)} s of every cold fit is "
            "compilation."
        )
    if served and baseline:
        base = baseline["summary"]
        notes.append(
            f"The baseline `poisson_static` (goals only) on the same season: {num(base['fit_s']['median'], 1)} s, "
            f"min ESS {num(base['min_ess']['median'], 0)}, {num(base['ess_per_s']['median'], 0)} ESS/s."
        )
    missed = [target for target in fit_targets(results) if target.met is False]
    if missed and served:
        notes.append(fit_gap_text(results))
    peak = max(case["summary"]["peak_rss_mb"]["max"] for case in results["fit"]["cases"])
    notes.append(
        f"Memory: the largest peak of any fit here is {peak:.0f} MiB; the Fargate task has 2 GB, "
        f"{2048 / peak:.1f}x that (docs/deploy.md, which measured a four-season fit pinned to one core at "
        "890 MiB). The task has 1 vCPU where this machine has 2 cores, so there the four chains share one core "
        "(the rows pinned to 1 CPU)."
    )
    return "\n" + "\n\n".join(notes) + "\n"


def warm_notes(results: dict[str, Any]) -> list[str]:
    """Issue 22's rows side by side: cold or warm start, empty or filled compilation cache."""
    rows = [
        (label, fit_case(results, key))
        for key, label in (
            ("served-1-cache-empty", "cold start, empty cache (a fresh container: compiles and writes the cache)"),
            ("served-1-cached", "cold start, cache filled by an earlier process"),
            ("served-1-warm", "warm start, no cache"),
            ("served-1-warm-cached", "warm start, cache filled (how the image's weekly fit runs)"),
            ("served-1-cpu1-warm-cached", "the same, pinned to 1 CPU (the Fargate task's size)"),
        )
    ]
    present = [(label, case) for label, case in rows if case is not None]
    if not present:
        return []
    lines = [
        f"- {label}: fit {spread(case['summary']['fit_s'], 1, ' s')}, CPU "
        f"{spread(case['summary']['fit_cpu_s'], 1, ' s')}, min ESS {spread(case['summary']['min_ess'], 0)}, "
        f"{spread(case['summary']['ess_per_s'], 0, ' /s')} ({spread(case['summary']['ess_per_cpu_s'], 0, ' /s')} "
        "per CPU second)"
        for label, case in present
    ]
    return [
        "**Warm start and compilation cache (issue 22).** One season, the served settings; the warm rows start "
        "from the adaptation a fit of the season without its last round stored (services/fit/warm.py: 100 "
        "warmup iterations instead of 500, the mass matrix kept, the step size adapted):\n\n" + "\n".join(lines)
    ]


def fit_gap_text(results: dict[str, Any]) -> str:
    served = fit_case(results, "served-1")
    cached = fit_case(results, "served-1-cached")
    assert served is not None
    s = served["summary"]
    ess, wall = s["min_ess"]["median"], s["fit_s"]["median"]
    worst = sorted({run["worst_ess_site"] for run in served["runs"]})
    text = (
        f"**Gap (served model, one season).** Min ESS {num(ess, 0)} in {num(wall, 1)} s "
        f"({num(s['ess_per_s']['median'], 0)}/s). 300 ESS/s at this wall time would need a min ESS of "
        f"{num(max(1000, 300 * wall), 0)}; at this ESS, a fit of {num(max(ess, 0) / 300, 1)} s. The "
        f"worst-mixing parameter{'s' if len(worst) > 1 else ''} across the runs: "
        f"{', '.join(f'`{site}`' for site in worst)}. Where it stands and what would close it: "
    )
    remedies = []
    if cached:
        warm = cached["summary"]
        remedies.append(
            "the compilation cache (JAX's persistent cache, which the fit's image carries: "
            "services/fit/compile_cache.py) and the warm start (the fit table's cached and warm rows) take out "
            f"compilation and most of the warmup: with the cache warm the fit took {num(warm['fit_s']['median'], 1)} s "
            f"for a min ESS of {num(warm['min_ess']['median'], 0)}, {num(warm['ess_per_s']['median'], 0)} ESS/s"
        )
    remedies.append(
        "make the worst-mixing parameters mix better (a hierarchical scale such as `attack_scale` is the usual "
        "slow mixer in NUTS; a tighter prior or another parameterisation of it raises the minimum without more "
        "draws)"
    )
    remedies.append("more draws raise ESS but the wall time with it, so they do not raise ESS per second")
    return text + "; ".join(remedies) + "."


ITEMS_TARGET_S = 0.15  # issue 22 (issue 7 asked for 1 s)


def precompute_targets(results: dict[str, Any]) -> list[Target]:
    rows = results["precompute"]["compute"]
    judged = [row for row in rows if row["pairs"] == 380] or rows[:1]
    targets = []
    for row in judged:
        label = f"{row['pairs']} pairs, {row['source']} posterior"
        one, every = row["one_x_two_s"]["median"], row["items_s"]["median"]
        targets.append(
            Target(
                f"precompute 1X2 alone, {label}",
                "≤ 0.25 s",
                spread(row["one_x_two_s"], 3, " s"),
                one <= 0.25,
                f"{one - 0.25:+.3f} s",
                PRECOMPUTE_CLOSING,
            )
        )
        targets.append(
            Target(
                f"precompute every market, as the stored items, {label}",
                f"≤ {ITEMS_TARGET_S} s",
                spread(row["items_s"], 3, " s"),
                every <= ITEMS_TARGET_S,
                f"{every - ITEMS_TARGET_S:+.3f} s",
                PRECOMPUTE_CLOSING,
            )
        )
    largest = max(rows, key=lambda row: row["pairs"])
    memory = max(row["peak_rss_mb"] for row in rows)
    targets.append(
        Target(
            f"precompute peak memory, whole process (up to {largest['pairs']} pairs)",
            "≤ 512 MB",
            f"{memory:.0f} MiB RSS",
            memory * 2**20 <= 512e6,
            f"{memory * 2**20 / 1e6 - 512:+.0f} MB",
            "the work is done one home team's pairs at a time; smaller batches would lower the peak.",
        )
    )
    return targets


COMPUTE_COLUMNS = ["teams", "pairs (items)", "draws", "grid goals", "1X2 alone s", "every market s", "items s"]


def compute_cells(row: dict[str, Any]) -> list[str]:
    """The columns that the precompute and growth tables share."""
    return [
        f"{row['teams']}",
        f"{row['pairs']:,}",
        f"{row['draws']:,}",
        f"{row['grid_goals']}",
        spread(row["one_x_two_s"], 3),
        spread(row["markets_s"], 3),
        spread(row["items_s"], 3),
    ]


def precompute_section(results: dict[str, Any]) -> str:
    data = results["precompute"]
    rows = [
        [
            row["source"],
            *compute_cells(row),
            spread(row["decode_s"], 3),
            f"{row['rss_mb']:.0f}",
            f"{row['tracemalloc_peak_mb']:.0f}",
            f"{row['item_json_bytes_median'] / 1024:.1f}",
        ]
        for row in data["compute"]
    ]
    text = f"""## Precompute

`{BENCH_COMMAND} precompute`. **Compute** (numpy only, one fresh process per posterior, {data["config"]["repeats"]}
repeats, median [min–max]): decode = `decode_posterior` of the .npz bytes; 1X2 alone =
`all_fixtures(markets=False)` (probabilities, fair odds, expected goals, likeliest score; the grid
of every pair); every market = `all_fixtures(markets=True)` (adds over/under, BTTS, Asian handicap,
correct score, credible intervals); items = `odds_items`, what the Lambda computes before writing
(every market and the contract's item encoding). RSS = the process's peak after all repeats;
tracemalloc = peak of one `odds_items` traced alone. "fitted" is the served model's posterior
written by the fit benchmark (4 seasons, 4 x 1000 draws); "synthetic" posteriors are EPL-like
(bench/posteriors.py) with Dixon-Coles rho, so precompute does the served model's work. Every child
runs with numpy's BLAS on one thread (`OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`, as in the precompute
Lambda's environment and the local stack: matchodds.core.settings.SINGLE_THREADED_BLAS). In issue 22
`matchodds/core/grid.py` makes each pair's score grid with one BLAS matrix product (its home pmfs,
goals x draws, by its away pmfs, draws x goals) instead of einsum's loop; fills the pmfs by recurrence
into arrays allocated once for all batches (a fresh array per batch cost its page faults again) and
sums each draw's 1X2 goal by goal while they are in cache; moves the Dixon-Coles mass once (the four
low scores change by the same amount); takes each pairing's rates as products of per-team factors
(an exp per team and draw, not per pairing); runs the grid-size tail only for the pairings that a
bound on blocks of draws cannot settle; and takes the intervals from one sort. The numbers are the
same to about 1e-15 (every stored item of the fitted and synthetic posteriors identical;
tests/unit/test_grid_reference.py checks every number against a plain-Python computation to 1e-9).
Before and after, alternating, on this shared machine at load 9-13 on 2 cores (CPU s, least of 5):
fitted 380 pairs, 1X2 0.49 → 0.13 s, every market 0.66 → 0.23 s, items 0.88 → 0.47 s.

"""
    text += table(["posterior", *COMPUTE_COLUMNS, "decode s", "RSS MiB", "tracemalloc MiB", "item KiB (JSON)"], rows)
    text += "\n" + "\n".join(f"- {row['source']}, {row['teams']} teams: `{row['command']}`" for row in data["compute"])
    text += "\n\n" + pipeline_text(data) + "\n" + estimator_text(data["estimator"])
    return text


def pipeline_text(data: dict[str, Any]) -> str:
    phases = [
        ("delivery_s", "S3 put → handler invoked (notification, SQS, poll)"),
        ("read_and_compute_s", "get + decode + every market + items"),
        ("write_items_s", "every item written (BatchWriteItem, 25 a call)"),
        ("write_items_in_moto_s", "… of which inside moto"),
        ("flip_s", "pointer flipped (conditional PutItem)"),
        ("event_to_flip_s", "**event → every item written → pointer flipped**"),
        ("after_flip_s", "after the flip: retire the previous version, exports to S3"),
    ]
    header = ["phase"] + [
        f"{row['source']} {row['teams']} teams ({row['runs'][0]['items']} items): first / later"
        for row in data["pipeline"]
    ]
    rows = []
    for key, label in phases:
        rows.append(
            [label]
            + [f"{num(row['first'][key], 2)} s / {spread(row['steady'][key], 2, ' s')}" for row in data["pipeline"]]
        )
    commands = "\n".join(f"- `{row['command']}`" for row in data["pipeline"])
    return (
        "**Event → items → pointer, against moto in server mode** (a thread of the benchmark's child "
        "process, over loopback HTTP, as in `make demo`): the posterior is put in S3, the bucket "
        "notification reaches SQS, the local poller hands it to the precompute Lambda handler, which "
        "writes every item and then flips the pointer. Phases are timed by botocore hooks on the calls. "
        '"first" is the first version of the table; "later" ones (median [min–max] of '
        f"{len(data['pipeline'][0]['runs']) - 1}) also retire the version they replace after the flip.\n\n"
        + table(header, rows)
        + "\n"
        + commands
        + "\n\nmoto is slower than DynamoDB at this: its server parses and serialises every nested market "
        "map in Python, on the same two cores. The writes are sequential batches of 25; in AWS they cost "
        "write units, not this time.\n"
    )


def estimator_text(estimator: dict[str, Any]) -> str:
    worst = estimator["worst_of_first_seed"]
    return (
        f"**The prototype's estimator** (one posterior draw and {estimator['games']} simulated games per "
        f"pair; bench/prototype_odds.py) against the exact probabilities, over all {estimator['pairs']} "
        f"pairs of the {estimator['source']} posterior and all three outcomes, {estimator['seeds']} seeds: "
        f"largest absolute error {spread(estimator['max_error_summary'], 3)} (median [min–max] over seeds), "
        f"mean absolute error {spread(estimator['mean_error_summary'], 3)}. For example (seed 0): "
        f"{worst['fixture']}, P({worst['outcome']}) exact {worst['exact']:.3f}, off by {worst['error']:.3f}. "
        "An error of 0.1 in a probability near 0.4 moves the fair price from 2.5 to 2.0 or 3.3; exact odds "
        "are the same for the same posterior every time.\n\n"
        f"`{estimator['command']}`\n"
    )


def uncached_text(uncached: dict[str, Any] | None) -> str:
    """The same requests with no fixture's text kept, when the run measured them."""
    if not uncached:
        return ""
    return (
        f"; with no text kept (each fixture read, built and serialised): p99 {num(uncached['p99_ms'], 1)} ms "
        f"(p50 {num(uncached['p50_ms'], 1)}), without moto's time p99 {num(uncached['without_moto']['p99_ms'], 1)} ms"
    )


def query_targets(results: dict[str, Any]) -> list[Target]:
    data = results["query"]
    handler, own = data["inprocess"]["handler"], data["inprocess"]["handler_without_moto"]
    cold, load, zipped = data["cold"], data["load"], data.get("zip")
    targets = [
        Target(
            "query in-process over moto (handler + moto's DynamoDB): p99",
            "≤ 5 ms",
            f"{num(handler['p99_ms'], 1)} ms (p50 {num(handler['p50_ms'], 1)}); without moto's time: "
            f"p99 {num(own['p99_ms'], 1)} ms{uncached_text(data['inprocess'].get('uncached'))}",
            handler["p99_ms"] <= 5,
            f"{handler['p99_ms'] - 5:+.1f} ms; our side's p99 is {num(own['p99_ms'], 1)} ms",
            QUERY_CLOSING,
        ),
        Target(
            "query cold import of `services.query.handler`",
            f"≤ {COLD_IMPORT_TARGET_MS} ms",
            in_ms(cold["import_s"]),
            cold["import_s"]["median"] * 1000 <= COLD_IMPORT_TARGET_MS,
            f"{cold['import_s']['median'] * 1000 - COLD_IMPORT_TARGET_MS:+.0f} ms",
            "botocore's own import is most of it: `import botocore.session` alone takes 128-142 ms of CPU of the "
            "handler's 235-270 (urllib3, botocore.docs pulled in by botocore.waiter, the credential and retry "
            "machinery); powertools' event_handler (it imports every resolver, AppSync's asyncio included) and our "
            "modules are most of the rest. The query no longer imports boto3 (its clients are botocore's: 60 modules "
            "and about 2 MiB fewer), but in interleaved runs that did not shorten the import beyond the noise. "
            "Importing botocore on the first request instead would meet this figure by moving its cost into that "
            "request: a cold start pays the import and the first request together, so it was not done. "
            "See `python -X importtime -c 'import services.query.handler'`.",
        ),
    ]
    bulk = data["inprocess"].get("bulk")
    if bulk:
        targets.append(
            Target(
                "query POST /odds, 100 fixtures, in-process over moto: p99",
                "≤ 20 ms",
                f"{num(bulk['p99_ms'], 1)} ms (p50 {num(bulk['p50_ms'], 1)}); without moto's time: "
                f"p99 {num(bulk['without_moto']['p99_ms'], 1)} ms"
                + uncached_text(data["inprocess"].get("bulk_uncached")),
                bulk["p99_ms"] <= 20,
                f"{bulk['p99_ms'] - 20:+.1f} ms",
                BULK_CLOSING,
            )
        )
    for teams, tables in table_cases(data):
        worst = max(entry["p99_ms"] for entry in tables.values())
        first = max(entry["first_ms"] for entry in tables.values())
        statuses = sorted({status for entry in tables.values() for status in entry["statuses"]})
        targets.append(
            Target(
                f"query GET /odds (JSON and CSV), {teams} teams: handler p99, the export in memory",
                "≤ 50 ms",
                f"{num(worst, 1)} ms (statuses {', '.join(map(str, statuses))}); the first request of the "
                f"process {num(first, 0)} ms",
                worst <= 50,
                f"{worst - 50:+.1f} ms",
                "the time is the reply's own (powertools and the handler); the first request of an instance also "
                "makes the S3 client and reads the export once per version and format.",
            )
        )
    for items in data.get("items", []):
        new, old = items["layout_2"], items["layout_1"]
        targets.append(
            Target(
                f"odds item size as DynamoDB counts it, every item of the {items['source']} {items['teams']}-team "
                "posterior",
                "≤ 4 KB (one read unit)",
                f"max {new['max_bytes']:,} B (layout 1: {old['max_bytes']:,} B)",
                new["over_one_read_unit"] == 0,
                f"{new['over_one_read_unit']} items over",
            )
        )
    if zipped and "zipped_mb" in zipped:
        targets.append(
            Target(
                "query zip size",
                "≤ 5 MB",
                f"{zipped['zipped_mb']:.2f} MiB",
                zipped["zipped_mb"] * 2**20 <= 5e6,
                f"{zipped['zipped_mb'] * 2**20 / 1e6 - 5:+.2f} MB",
            )
        )
    else:
        targets.append(Target("query zip size", "≤ 5 MB", "not built in this run", None))
    targets.append(
        Target(
            f"query errors under load ({load['clients']} clients, {num(load['seconds'], 0)} s)",
            "0",
            f"{load['errors']} of {load['requests']:,}",
            load["errors"] == 0,
            f"{load['errors']} errors",
        )
    )
    return targets


def table_cases(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(teams, GET /odds timings by format) of the in-process run and of the large league."""
    cases = []
    if "tables" in data["inprocess"]:
        cases.append((data["inprocess"]["teams"], data["inprocess"]["tables"]))
    if "large_tables" in data:
        cases.append((data["large_tables"]["teams"], data["large_tables"]["tables"]))
    return cases


def items_text(data: dict[str, Any]) -> str:
    """The odds items in both layouts, and GET /odds from the exports."""
    text = ""
    if data.get("items"):
        rows = []
        for items in data["items"]:
            for layout in ("layout_2", "layout_1"):
                entry = items[layout]
                rows.append(
                    [
                        f"{items['source']}, {items['teams']} teams ({items['items']:,} items)",
                        layout.replace("_", " ") + (" (written)" if layout == "layout_2" else " (before)"),
                        f"{entry['max_bytes']:,}",
                        f"{entry['median_bytes']:,.0f}",
                        num(entry["write_us"], 0),
                        num(entry["read_us"], 0),
                    ]
                )
        text += (
            "\n**Odds items** (`.venv/bin/python -m bench.items`, one run each: "
            + ", ".join(f"`{items['command']}`" for items in data["items"])
            + "): the size DynamoDB counts (`matchodds.core.items.item_size`, names and values, the expiry "
            "included) and the median cost to make one (the item and boto3's serialisation) and to read one "
            "(boto3's deserialiser and `odds_from_item`), in microseconds.\n\n"
        )
        text += table(["posterior", "layout", "max bytes", "median bytes", "write µs", "read µs"], rows)
    cases = table_cases(data)
    if cases:
        rows = []
        for teams, tables in cases:
            for table_format, entry in tables.items():
                rows.append(
                    [
                        str(teams),
                        table_format,
                        str(entry["status"]),
                        f"{entry['body_bytes']:,}",
                        num(entry["first_ms"], 1),
                        num(entry["p50_ms"], 2),
                        num(entry["p99_ms"], 2),
                    ]
                )
        large = data.get("large_tables", {})
        text += (
            "\n**GET /odds from the exports** (services/query/exports.py; the in-process run above, and "
            f"`{large.get('command', '')}` for a league whose items are not written): the first request of the "
            "process makes the S3 client and reads the version's export (or, above the Lambda reply's limit, "
            "only its size, and answers 303 to a presigned URL); the others answer from memory. Reply bytes are "
            "the body the handler returns.\n\n"
        )
        text += table(["teams", "format", "status", "reply bytes", "first ms", "p50 ms", "p99 ms"], rows)
    return text


def query_section(results: dict[str, Any]) -> str:
    data = results["query"]
    inprocess, cold, load, zipped = data["inprocess"], data["cold"], data["load"], data.get("zip")
    paths = (
        ("our handler: `GET /odds/{home}/{away}` through `lambda_handler`", "handler"),
        ("the prototype's way: posterior from S3, one draw, 100 games", "prototype"),
    )
    rows = []
    for label, key in paths:
        total, own = inprocess[key], inprocess[f"{key}_without_moto"]
        moto = inprocess["moto_p50_ms"][key]
        cells = [total["p50_ms"], total["p99_ms"], moto, own["p50_ms"], own["p99_ms"]]
        rows.append([label, f"{total['n']:,}", *map(num, cells)])
    ho, po = inprocess["handler_without_moto"], inprocess["prototype_without_moto"]
    text = f"""## Query

`{BENCH_COMMAND} query`. **In-process** (`{inprocess["command"]}`): moto in-process (`mock_aws`,
no sockets), a version of the {inprocess["source"]} posterior ({inprocess["teams"]} teams) published by
precompute, then every ordered pairing in turn through the query Lambda's `lambda_handler` (an API
Gateway HTTP API event each; 50 warm-up requests first; the first request of the process took
{num(inprocess["first_request_ms"], 1)} ms), {inprocess["errors"]} errors. "moto" is the time between
each request sent and its response received (botocore hooks): the emulated service; "without moto" is
the rest, which is what our code, powertools and botocore cost.

"""
    text += table(
        ["path", "requests", "p50 ms", "p99 ms", "moto p50 ms", "p50 ms without moto", "p99 ms without moto"], rows
    )
    text += (
        f"\n**Ratio of p50s, prototype / ours: {num(inprocess['p50_ratio'], 2)} over moto, "
        f"{num(inprocess['p50_ratio_without_moto'], 2)} without moto's time.** Over moto the prototype looks "
        f"{'faster' if inprocess['p50_ratio'] < 1 else 'slower'}: moto's DynamoDB spends "
        f"{num(inprocess['moto_p50_ms']['handler'], 1)} ms per GetItem building the response for our "
        f"item (five attributes, the markets compressed in one), while its S3 hands back the "
        f"{inprocess['posterior_object_bytes'] / 2**20:.2f} MiB posterior object from memory in "
        f"{num(inprocess['moto_p50_ms']['prototype'], 1)} ms. Without the emulator, our side answers in "
        f"{num(ho['p50_ms'], 2)} ms and the prototype's in {num(po['p50_ms'], 2)} ms before it has fetched "
        f"anything; in AWS the prototype also moves {inprocess['posterior_object_bytes'] / 2**20:.2f} MiB "
        "from S3 on every request where ours reads one item, and its answer changes from request to "
        "request (see the estimator above).\n"
    )
    bulk = inprocess.get("bulk")
    if bulk:
        text += (
            f"\n**POST /odds, 100 fixtures** (the same run; {bulk['n']:,} requests, every pairing in turn): "
            f"p50 {num(bulk['p50_ms'], 1)} ms, p99 {num(bulk['p99_ms'], 1)} ms; without moto's time p50 "
            f"{num(bulk['without_moto']['p50_ms'], 1)} ms, p99 {num(bulk['without_moto']['p99_ms'], 1)} ms"
            f"{uncached_text(inprocess.get('bulk_uncached'))}. Each fixture's JSON text is kept per version "
            "(services/query/repository.py), so a fixture answered once at a version is not read or serialised "
            "again on that instance.\n"
        )
    text += items_text(data)
    text += f"""
**Local HTTP endpoint under load** (`{load["command"]}` serves moto and the HTTP bridge of
`make demo` in one child process on loopback; {load["clients"]} keep-alive clients in the benchmark's
process ask for every pairing in turn for {num(load["seconds"], 1)} s): **{num(load["requests_per_s"], 0)}
requests/s**, p50 {num(load["p50_ms"], 1)} ms, p99 {num(load["p99_ms"], 1)} ms, max {num(load["max_ms"], 0)} ms,
**{load["errors"]} errors** in {load["requests"]:,} requests{error_examples(load)}. Both processes share the two
cores, and every request costs moto the same response building as above, so this measures the local
stack, not the Lambda's capacity (in AWS each instance serves one request at a time).

**Cold start** ({plural(len(cold["runs"]), "fresh process", "fresh processes")}, `{cold["command"]}`):
importing `services.query.handler` {in_ms(cold["import_s"])}; the first request (botocore client made,
pointer and item read from moto over HTTP) {in_ms(cold["first_request_s"])}; the whole process from
spawn to exit {in_ms(cold["process_s"])}; peak RSS {spread(cold["peak_rss_mb"], 0, " MiB")}.
bench/cold_start.py imports only `sys` and `time` before the handler.
"""
    if zipped and "zipped_mb" in zipped:
        text += (
            f"\n**Query zip** (`{zipped['command']}`, arm64 wheels): {zipped['zipped_mb']:.2f} MiB zipped, "
            f"{zipped['unzipped_mb']:.1f} MiB unzipped (Lambda's limit for a direct upload: "
            f"{zipped['lambda_limit_mb']:.0f} MiB zipped).\n"
        )
    elif zipped:
        text += f"\n**Query zip**: not built: {zipped['error']}\n"
    return text


def error_examples(load: dict[str, Any]) -> str:
    return f" (e.g. {'; '.join(load['error_examples'])})" if load["errors"] else ""


def in_ms(seconds: dict[str, float]) -> str:
    """A summary in seconds, shown in milliseconds."""
    return spread({key: value * 1000 if key != "n" else value for key, value in seconds.items()}, 0, " ms")


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# The same command on the code before precompute streamed its items and exports (main at ec5af85, with
# this benchmark added: e8a7a8d), peak RSS MiB by teams; its times were taken on a loaded machine, so the
# time comparison is GROWTH_TIME_BEFORE_AFTER's, runs of both alternating.
GROWTH_PEAK_BEFORE_MB = {20: 159, 24: 186, 48: 411, 96: 1185}
GROWTH_TIME_BEFORE_AFTER = (
    "Streaming moves work between the phases (the items and their export rows are now made while the "
    "writes go out) without adding to it. Single runs of `.venv/bin/python -m bench.precompute publish "
    "--teams N --draws 4000 --repeats 1` on the code before (e8a7a8d) and after, alternating, on the same "
    "shared machine (2026-12-02): 24 teams, CPU 5.60, 4.52, 6.05 s before against 4.82, 5.64, 5.29 s after; "
    "96 teams, 82.2 and 81.2 s before against 81.5 and 80.0 s after. "
)


def growth_section(results: dict[str, Any]) -> str:
    from infra.precompute import (  # pulumi: only when the report is written
        MEMORY_HEADROOM,
        PRECOMPUTE_MEMORY_MB,
        PRECOMPUTE_TIMEOUT_SECONDS,
    )

    growth = results["growth"]
    sizes = growth["sizes"]
    rows = []
    for row in sizes:
        phases = row["phase_peak_rss_mb"]
        exported = sum(row["export_bytes"].values()) / 2 / 2**20  # a version's files and their `latest` copies
        before = GROWTH_PEAK_BEFORE_MB.get(row["teams"])
        rows.append(
            [
                f"{row['teams']}",
                f"{row['pairs']:,}",
                *(spread(row[name], 2) for name in ("total_s", "cpu_s", "compute_s", "writes_s", "exports_s")),
                f"{exported:.1f}",
                " / ".join(f"{phases[name]:.0f}" for name in ("compute", "writes", "exports")),
                f"**{row['peak_rss_mb']:.0f}**",
                f"{before}" if before else "–",
            ]
        )
    text = f"""## Growth

`{BENCH_COMMAND} growth`: the whole precompute path as the Lambda runs it, `publish_posterior`
(get the posterior, decode, every market of every pair checked, the items made and written, the
pointer flipped, the CSV and JSON exports and their `latest` copies put), for synthetic EPL-like
posteriors of {growth["config"]["draws"]} draws: 24 teams is a 46-round league such as E1, 96 four
divisions in one competition. One fresh process per size, {growth["config"]["repeats"]} runs, median
[min–max]. AWS is answered inside the process (bench/sink.py): botocore builds and signs every request
as it would send it, and nothing is kept, so the figures are precompute's own (moto would add its own
copy of every item; AWS adds its round trips, about one per 25 items). Phases: **compute** up to the
first BatchWriteItem (read, decode, every score grid and market); **items written** up to the pointer
flip (each item made, serialised and its export row kept as it goes); **exports** the rest. Peak RSS is
each phase's own (Linux's high-water mark, reset at each phase) and the process's; **before** is the
same command on the code before this issue streamed the items and exports. Measured at commit
{growth["machine"]["commit"]}, {growth["machine"]["started_at"][:16].replace("T", " ")} UTC, load average
{growth["load_average"][0]} at the start and {growth["load_average"][1]} at the end on {growth["machine"]["nproc"]}
cores: the machine was shared, so wall times are pessimistic; **CPU s** is the process's own.

"""
    text += table(
        [
            "teams",
            "pairs (items)",
            "whole path s",
            "CPU s",
            "compute s",
            "items written s",
            "exports s",
            "export MiB (CSV + JSON)",
            "peak RSS MiB: compute / items written / exports",
            "peak RSS MiB",
            "peak RSS MiB before",
        ],
        rows,
    )
    text += "\n" + "\n".join(f"- {row['teams']} teams: `{row['command']}`" for row in sizes) + "\n"
    largest = sizes[-1]
    headroom = PRECOMPUTE_MEMORY_MB / (largest["peak_rss_mb"] * 2**20 / 1e6)
    text += (
        f"\nPairs are computed in batches of at most 100,000 pairs x draws (matchodds/core/grid.py), so the "
        "per-draw pmfs no longer grow with the number of teams, and no pairing's goal rates are kept between "
        "the pass that sizes the grid and the one that computes it. Every score grid is still checked before "
        "the first write, so the fixtures are kept until then (numbers, not items); each item is made as "
        "the writer takes it, 25 at a time, and its export row is kept as CSV and JSON text. What still "
        "grows with the number of pairs is those fixtures and that text (the exports are "
        f"{sum(largest['export_bytes'].values()) / 2 / 2**20:.0f} MiB at {largest['teams']} teams). "
        f"At {largest['teams']} teams the process peaks at {largest['peak_rss_mb']:.0f} MiB, against the "
        f"precompute Lambda's {PRECOMPUTE_MEMORY_MB} MB ({headroom:.1f}x; infra/precompute.py sizes it to at "
        f"least {MEMORY_HEADROOM}x the measured peak, and for a full vCPU).\n\n"
        + GROWTH_TIME_BEFORE_AFTER
        + f"Time grows with the pairs: at {largest['teams']} teams the whole path takes "
        f"{largest['cpu_s']['median']:.0f} s of CPU here, and the items-written phase (each nested markets map "
        "made, serialised by boto3's TypeSerializer and botocore's JSON, and its export row) takes longer "
        f"than the compute phase. The precompute Lambda's timeout is {PRECOMPUTE_TIMEOUT_SECONDS} s "
        f"(infra/precompute.py), {PRECOMPUTE_TIMEOUT_SECONDS / largest['cpu_s']['median']:.1f}x that before "
        "AWS's round trips (one per 25 items); the timeout is not changed here.\n"
    )
    return text


MIX_LABELS = {"fixture": "single fixtures (`GET /odds/{home}/{away}`)", "bulk50": "`POST /odds` of 50 fixtures"}


def load_targets(results: dict[str, Any]) -> list[Target]:
    targets = []
    seconds = results["load"]["config"]["seconds"]
    for run in results["load"]["runs"]:
        failures = run["errors"] + run["server_errors"]
        targets.append(
            Target(
                f"load: {run['clients']} clients for {num(seconds, 0)} s, {MIX_LABELS[run['mix']]}: errors and resets",
                "0 and 0",
                f"{failures} and {run['resets']} of {run['answered']:,} requests",
                failures == 0 and run["resets"] == 0,
                f"{failures} errors, {run['resets']} resets",
                "see Load (issue 22) below.",
            )
        )
    return targets


def load_section(results: dict[str, Any]) -> str:
    data = results["load"]
    rows = []
    for run in data["runs"]:
        server = run["server"]
        statuses = ", ".join(f"{status}: {count:,}" for status, count in run["statuses"].items())
        rows.append(
            [
                MIX_LABELS[run["mix"]],
                f"{run['answered']:,} in {num(run['seconds'], 0)} s",
                num(run["requests_per_second"], 1),
                f"{num(run['p50_ms'], 0)} / {num(run['p99_ms'], 0)} / {num(run['max_ms'], 0)}",
                statuses or "–",
                f"{run['errors']} ({run['resets']})",
                f"{run['slow_connects']} of {run['connects']}",
                str(run["listen_overflows"]["ListenOverflows"]),
                num(server["cpu_ms_per_request"], 0),
                str(server["warning_or_error_lines"]),
                f"{run['load_average'][0]} / {run['load_average'][1]}",
            ]
        )
    commands = "\n".join(f"- {MIX_LABELS[run['mix']]}: `{run['command']}`" for run in data["runs"])
    concurrency = data["runs"][0]["server"]["handler_concurrency"] if data["runs"] else None
    invocations = plural(concurrency, "handler invocation", "handler invocations") if concurrency else "? invocations"
    timeout = num(data["runs"][0]["client_timeout_s"], 0) if data["runs"] else "?"
    text = f"""## Load (issue 22)

`{BENCH_COMMAND} load`: the local stack as `make demo` runs it (moto in server mode on loopback as AWS, a
synthetic 20-team posterior published through S3, SQS and precompute, the query handler behind
`entry.local.http_bridge`, logging as the demo logs) in a child process; {data["config"]["clients"]}
keep-alive clients (threads of the benchmark's process) send one kind of request for
{num(data["config"]["seconds"], 0)} s, each stack fresh. A request counts as an error when it gets no HTTP
reply (reset, refused, or none within {timeout} s) or a reply other than 200 with the fixtures asked.
**Slow connects** took 1 s or more (a SYN the listen queue dropped is retried after 1 s); **overflows**
are the kernel's ListenOverflows over the run (the whole machine's); **server CPU** is the child's user +
system time per request answered, the figure least moved by other load; **warnings** are the server's
WARNING/ERROR log lines during the run. The bridge runs {invocations} at once
(`entry.local.http_bridge.QUERY_CONCURRENCY`), as one Lambda instance does; the others wait their turn in
arrival order.

"""
    text += table(
        [
            "requests",
            "answered",
            "requests/s",
            "p50 / p99 / max ms",
            "statuses",
            "errors (resets)",
            "slow connects",
            "overflows",
            "server CPU ms/request",
            "warnings",
            "load average start / end",
        ],
        rows,
    )
    return text + "\n" + commands + "\n"


def summary_section(targets: list[Target]) -> str:
    rows = [[t.figure, t.target, t.measured, verdict(t)] for t in targets]
    text = "## Targets\n\n" + table(["figure", "target", "measured (median [min–max])", "verdict"], rows)
    missed = [t for t in targets if t.met is False]
    if missed:
        text += "\nWhere a target is missed, the gap and what would close it:\n\n"
        text += "\n".join(f"- **{t.figure}** ({t.gap}): {t.closing}" for t in missed) + "\n"
    return text


SECTION_WRITERS: list[tuple[str, Callable[[dict[str, Any]], list[Target]], Callable[[dict[str, Any]], str]]] = [
    ("fit", fit_targets, fit_section),
    ("precompute", precompute_targets, precompute_section),
    ("query", query_targets, query_section),
]
LATE_WRITERS: list[tuple[str, Callable[[dict[str, Any]], list[Target]], Callable[[dict[str, Any]], str]]] = [
    ("load", load_targets, load_section),
]


def duration(results: dict[str, Any]) -> str:
    """How long the runs that measured the sections took, summed: sections measured together share their
    run's record, and a section rerun alone later does not count the hours between."""
    machines = [results[name]["machine"] for name in SECTIONS if name in results]
    if not machines or any("finished_at" not in machine for machine in machines):
        return "several minutes"
    runs = {(machine["started_at"], machine["finished_at"]) for machine in machines}
    seconds = sum((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() for start, end in runs)
    return plural(round(seconds / 60), "minute", "minutes")


def render(results: dict[str, Any], load_section: str = "") -> str:
    present = [name for name in SECTIONS if name in results]
    writers = SECTION_WRITERS + LATE_WRITERS
    targets = [target for name, make, _ in writers if name in results for target in make(results)]
    header = f"""# Benchmarks

Generated by `{BENCH_COMMAND}` (issue 7; {duration(results)} on this machine), which runs every benchmark
below and rewrites this file from its results (kept in build/bench/full/results.json);
`{BENCH_COMMAND} <section>` reruns one of {", ".join(f"`{name}`" for name in SECTIONS)}
and keeps the others. Each figure names the command that measures it alone, run from the repository
root after the README's setup. Figures are medians of several runs with their range [min–max].
Benchmarks are not part of the test command; `tests/bench/test_bench_smoke.py` runs each one at tiny
sizes. The sections "Load (issue 8)" and "Projection (issue 21)" at the end are bench/load.py's and
bench/projection.py's and are kept as they are.
"""
    if results.get("quick"):
        header += "\n**Quick run (`--quick`): tiny sizes, to check that everything runs; not the figures.**\n"
    parts = [header, summary_section(targets), machine_section(results)]
    for name, _, write in SECTION_WRITERS:
        if name in present:
            parts.append(write(results))
    if "growth" in present:
        parts.append(growth_section(results))
    for name, _, write in LATE_WRITERS:
        if name in present:
            parts.append(write(results))
    text = "\n".join(part.rstrip("\n") + "\n" for part in parts)
    if load_section:
        text += "\n" + load_section.rstrip("\n") + "\n"
    return text
