"""Precompute benchmark: the odds maths, the event path over moto, the prototype's estimator, growth.

    python -m bench.precompute compute   (--posterior P.npz | --teams 20 --draws 4000) [--repeats 5]
    python -m bench.precompute pipeline  (--posterior P.npz | --teams 20 --draws 4000) [--runs 3]
    python -m bench.precompute estimator (--posterior P.npz | --teams 20 --draws 4000) [--seeds 20]
    python -m bench.precompute publish   (--posterior P.npz | --teams 20 --draws 4000) [--repeats 3]

compute: 1X2 alone (`all_fixtures(markets=False)`), every market (`markets=True`) and the items as
the Lambda writes them (`odds_items`), repeated in one fresh process; then the process's peak RSS
and, in a separate pass, tracemalloc's peak of `odds_items`.
pipeline: moto in server mode (a thread of the child, over loopback HTTP, as in `make demo`); a
posterior put in S3 reaches SQS through the bucket notification, the local poller hands it to the
precompute Lambda handler, which writes every item and flips the pointer. Phases are timed by
botocore hooks on the calls themselves. The first publication has no previous version; every later
one also retires the version it replaces (its items re-written with a TTL) after the flip.
publish: the whole precompute path, `publish_posterior` as the Lambda runs it (get the posterior,
decode, every market checked, items written, pointer flipped, the four export files put), with AWS
answered in-process by bench/sink.py so that only precompute's own time and memory are counted;
each phase's time and peak RSS (compute up to the first write; items made and written up to the
flip; the exports), repeated in one fresh process.
estimator: the prototype's odds (one posterior draw, 100 simulated games per pair) against the exact
probabilities, largest absolute error over every pair and outcome, for several seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.measure import CallMarks, ChildRun, PhasePeaks, peak_rss_mb, report_result, run_child, summary
from bench.posteriors import posterior_arguments
from matchodds.core.settings import SINGLE_THREADED_BLAS

DRAWS = 4000


@dataclass(frozen=True)
class PrecomputeConfig:
    teams: tuple[int, ...] = (20, 24)
    draws: int = DRAWS
    repeats: int = 5
    pipeline_runs: int = 3
    estimator_seeds: int = 20


@dataclass(frozen=True)
class GrowthConfig:
    teams: tuple[int, ...] = (20, 24, 48, 96)  # 24: a 46-round league such as E1; 96: four divisions in one
    draws: int = DRAWS
    repeats: int = 3


PUBLISH_PHASES = ("compute", "writes", "exports")  # up to the first BatchWriteItem, up to the flip, the rest


def precompute_child(args: Sequence[str]) -> ChildRun:
    """A child of this benchmark with numpy's BLAS on one thread, as precompute runs (SINGLE_THREADED_BLAS)."""
    child = run_child("bench.precompute", args, env=SINGLE_THREADED_BLAS)
    shown = " ".join(f"{name}={value}" for name, value in SINGLE_THREADED_BLAS.items())
    return replace(child, command=f"{shown} {child.command}")


def _compute(posterior_path: Path | None, teams: int, draws: int, repeats: int, source: str) -> dict[str, Any]:
    args = ["compute", *posterior_arguments(posterior_path, teams, draws), "--repeats", str(repeats)]
    child = precompute_child(args)
    result = {**child.result, "source": source, "command": child.command, "process_s": child.process_s}
    for name in ("one_x_two_s", "markets_s", "items_s", "decode_s"):
        result[name] = summary(child.result[name])
    print(
        f"precompute {source} {result['teams']} teams: 1X2 {result['one_x_two_s']['median']:.3f} s, "
        f"markets {result['markets_s']['median']:.3f} s, items {result['items_s']['median']:.3f} s, "
        f"{result['peak_rss_mb']:.0f} MiB",
        file=sys.stderr,
    )
    return result


def run(config: PrecomputeConfig, fitted: Path | None) -> dict[str, Any]:
    """Compute times for each size (and the fitted posterior), the event path, the estimator's error."""
    compute = []
    if fitted is not None:
        compute.append(_compute(fitted, 0, 0, config.repeats, "fitted"))
    compute += [_compute(None, teams, config.draws, config.repeats, "synthetic") for teams in config.teams]
    pipeline = []
    sources = [(fitted, config.teams[0], "fitted")] if fitted is not None else []
    sources += [(None, teams, "synthetic") for teams in config.teams if fitted is None or teams != config.teams[0]]
    for path, teams, source in sources:
        args = ["pipeline", *posterior_arguments(path, teams, config.draws), "--runs", str(config.pipeline_runs)]
        child = precompute_child(args)
        steady = child.result["runs"][1:]
        pipeline.append(
            {
                **child.result,
                "source": source,
                "command": child.command,
                "first": child.result["runs"][0],
                "steady": {name: summary(run[name] for run in steady) for name in steady[0] if name.endswith("_s")},
            }
        )
        print(f"pipeline {source} {child.result['teams']} teams: {pipeline[-1]['steady']}", file=sys.stderr)
    estimator_path, estimator_teams = (fitted, 0) if fitted is not None else (None, config.teams[0])
    args = ["estimator", *posterior_arguments(estimator_path, estimator_teams, config.draws)]
    child = precompute_child([*args, "--seeds", str(config.estimator_seeds)])
    estimator = {**child.result, "source": "fitted" if fitted is not None else "synthetic", "command": child.command}
    estimator["max_error_summary"] = summary(child.result["max_error"])
    estimator["mean_error_summary"] = summary(child.result["mean_error"])
    return {"config": asdict(config), "compute": compute, "pipeline": pipeline, "estimator": estimator}


def _publish(teams: int, draws: int, repeats: int) -> dict[str, Any]:
    args = ["publish", *posterior_arguments(None, teams, draws), "--repeats", str(repeats)]
    child = precompute_child(args)
    result = {**child.result, "command": child.command, "process_s": child.process_s}
    for name in ("total_s", "cpu_s", *(f"{phase}_s" for phase in PUBLISH_PHASES)):
        result[name] = summary(run[name] for run in child.result["runs"])
    print(
        f"publish {result['teams']} teams: {result['total_s']['median']:.2f} s, {result['peak_rss_mb']:.0f} MiB "
        f"(phases {result['phase_peak_rss_mb']})",
        file=sys.stderr,
    )
    return result


def run_growth(config: GrowthConfig) -> dict[str, Any]:
    """The whole precompute path's time and memory as the number of teams grows (synthetic posteriors)."""
    return {
        "config": asdict(config),
        "sizes": [_publish(teams, config.draws, config.repeats) for teams in config.teams],
    }


# --- the children --------------------------------------------------------------------------------------


def _posterior(args: argparse.Namespace) -> Any:
    from bench.posteriors import load_posterior

    return load_posterior(args.posterior, args.teams, args.draws)


def compute_child(args: argparse.Namespace) -> None:
    from matchodds.core.grid import PredictionDraws, all_fixtures
    from matchodds.core.posterior import decode_posterior, encode_posterior
    from services.precompute.pipeline import odds_items

    posterior = _posterior(args)
    blob = encode_posterior(posterior)
    timings: dict[str, list[float]] = {"decode_s": [], "one_x_two_s": [], "markets_s": [], "items_s": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        decode_posterior(blob)
        decoded = time.perf_counter()
        fixtures = list(all_fixtures(PredictionDraws.from_posterior(posterior), markets=False))
        one_x_two = time.perf_counter()
        list(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))
        markets = time.perf_counter()
        items = list(odds_items(posterior))
        done = time.perf_counter()
        for name, seconds in zip(
            timings, (decoded - start, one_x_two - decoded, markets - one_x_two, done - markets), strict=True
        ):
            timings[name].append(seconds)
    rss_before_tracing = round(peak_rss_mb(), 1)
    del items
    tracemalloc.start()
    items = list(odds_items(decode_posterior(blob)))
    retained, traced_peak = tracemalloc.get_traced_memory()  # retained: the items, still referenced here
    tracemalloc.stop()
    item_bytes = sorted(len(json.dumps(item, default=str)) for item in items)
    report_result(
        {
            "teams": len(posterior.team_codes),
            "draws": int(posterior.draws["intercept"].size),
            "pairs": len(fixtures),
            "items": len(items),
            "grid_goals": int(fixtures[0].score_grid.shape[0] - 1),
            "posterior_bytes": len(blob),
            "item_json_bytes_median": item_bytes[len(item_bytes) // 2],
            **timings,
            "rss_mb": rss_before_tracing,
            "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
            "tracemalloc_items_mb": round(retained / 2**20, 1),
        }
    )


def pipeline_child(args: argparse.Namespace) -> None:
    import boto3

    from bench.posteriors import as_version
    from bench.stack import moto_server_stack, put_posterior
    from entry.local.event_sources import EventSourceMapping
    from matchodds.core.items import PARTITION_KEY, odds_partition, pointer_key

    base = _posterior(args)
    calls = CallMarks()
    runs = []
    with moto_server_stack() as stack:
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]  (made by provisioning)
        calls.watch(events, "dynamodb", "BatchWriteItem")
        calls.watch(events, "dynamodb", "PutItem")
        from services.precompute.handler import lambda_handler

        handler_started: list[float] = []

        def timed_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            handler_started.append(time.perf_counter())
            response = lambda_handler(event, context)
            if response["batchItemFailures"]:
                raise RuntimeError(f"precompute failed: {response}")
            return response

        poller = EventSourceMapping(stack.queues["queue_url"], stack.queues["queue_arn"], timed_handler)
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        while poller.poll_once(wait_seconds=0):  # the bucket notification's s3:TestEvent
            pass
        for index in range(args.runs + 1):
            posterior = as_version(base, index + 1)
            calls.clear()
            handler_started.clear()
            put = time.perf_counter()
            put_posterior(stack.names.bucket, posterior, s3)
            deadline = put + 600
            while not calls.times("after-call", "PutItem"):
                poller.poll_once(wait_seconds=1)
                if time.perf_counter() > deadline:
                    raise TimeoutError("the posterior's event never reached the precompute handler")
            done = time.perf_counter()
            flipped = calls.first("after-call", "PutItem")
            writes_started = calls.first("before-call", "BatchWriteItem")
            writes_done = calls.last_before("after-call", "BatchWriteItem", flipped)
            written = dynamodb.query(
                TableName=stack.names.table,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
                ExpressionAttributeValues={":pk": {"S": odds_partition(posterior.competition, posterior.version)}},
                Select="COUNT",
            )["Count"]
            pointer = {name: {"S": value} for name, value in pointer_key(posterior.competition).items()}
            current = dynamodb.get_item(TableName=stack.names.table, Key=pointer)["Item"]["version"]["S"]
            if current != posterior.version or written < len(posterior.team_codes) * (len(posterior.team_codes) - 1):
                raise RuntimeError(f"run {index}: pointer at {current}, {written} items written")
            runs.append(
                {
                    "version": posterior.version,
                    "items": written,
                    "event_to_flip_s": flipped - put,
                    "delivery_s": handler_started[0] - put,
                    "read_and_compute_s": writes_started - handler_started[0],
                    "write_items_s": writes_done - writes_started,
                    "write_items_in_moto_s": calls.stand_in_seconds("BatchWriteItem", until=flipped),
                    "flip_s": flipped - writes_done,
                    "after_flip_s": done - flipped,
                    "event_to_done_s": done - put,
                }
            )
            print(f"pipeline run {index}: {runs[-1]}", file=sys.stderr)
    report_result({"teams": len(base.team_codes), "draws": int(base.draws["intercept"].size), "runs": runs})


def publish_child(args: argparse.Namespace) -> None:
    import boto3
    import botocore.session
    from botocore.config import Config

    from bench.sink import SinkAws
    from matchodds.core.keys import posterior_key
    from matchodds.core.posterior import encode_posterior
    from services.precompute.pipeline import publish_posterior
    from services.precompute.store import OddsWriter

    posterior = _posterior(args)
    key = posterior_key(posterior.competition, posterior.version)
    sink = SinkAws({key: encode_posterior(posterior)})
    session = botocore.session.Session()
    session.set_credentials("bench", "bench")  # signed as in AWS; the sink answers before anything is sent
    sink.attach(session.get_component("event_emitter"))
    peaks, marks, cpu, runs = PhasePeaks(), {}, {}, []

    def phase(name: str | None) -> None:
        marks[name or "end"] = time.perf_counter()
        cpu[name or "end"] = time.process_time()
        peaks.start(name)

    def on_write(**_: Any) -> None:
        if peaks.current == "compute":
            phase("writes")

    session.register("before-call.dynamodb.BatchWriteItem", on_write)
    session.register("after-call.dynamodb.PutItem", lambda **_: phase("exports"))
    clients = boto3.Session(botocore_session=session, region_name="eu-west-2")
    s3 = clients.client("s3", config=Config(s3={"addressing_style": "path"}))
    writer = OddsWriter("matchodds-odds", clients.client("dynamodb"))
    for _ in range(args.repeats):
        sink.pointer, sink.items_written, sink.put_bytes = None, 0, {}
        phase("compute")
        published = publish_posterior("matchodds-bench", key, s3, writer)
        phase(None)
        if published is None or published.promotion.outcome != "promoted" or len(published.exports) != 4:
            raise RuntimeError(f"precompute did not publish {key} with its exports: {published}")
        runs.append(
            {
                "total_s": marks["end"] - marks["compute"],
                "cpu_s": cpu["end"] - cpu["compute"],  # this process's CPU: less touched by what else runs
                **{
                    f"{name}_s": marks[after] - marks[name]
                    for name, after in zip(PUBLISH_PHASES, (*PUBLISH_PHASES[1:], "end"), strict=True)
                },
                "phase_peak_rss_mb": dict(peaks.phases),
            }
        )
        print(f"publish run: {runs[-1]}", file=sys.stderr)
    report_result(
        {
            "teams": len(posterior.team_codes),
            "draws": int(posterior.draws["intercept"].size),
            "pairs": published.pairs,
            "items": sink.items_written,
            "export_bytes": sink.put_bytes,
            "runs": runs,
            "phase_peak_rss_mb": {name: max(run["phase_peak_rss_mb"][name] for run in runs) for name in PUBLISH_PHASES},
            "peak_rss_mb": round(peaks.overall, 1),
        }
    )


def estimator_child(args: argparse.Namespace) -> None:
    import numpy as np

    from bench.prototype_odds import PROTOTYPE_GAMES, simulated_outcomes
    from matchodds.core.grid import PredictionDraws, all_fixtures

    posterior = _posterior(args)
    draws = PredictionDraws.from_posterior(posterior)
    fixtures = list(all_fixtures(draws, markets=False))
    exact = np.array([[f.p_home, f.p_draw, f.p_away] for f in fixtures])
    home_team = np.array([f.home for f in fixtures])
    away_team = np.array([f.away for f in fixtures])
    max_errors, mean_errors, worst = [], [], []
    for seed in range(args.seeds):
        errors = np.abs(simulated_outcomes(draws, home_team, away_team, np.random.default_rng(seed)) - exact)
        pair, outcome = np.unravel_index(int(np.argmax(errors)), errors.shape)
        max_errors.append(float(errors.max()))
        mean_errors.append(float(errors.mean()))
        codes = posterior.team_codes
        worst.append(
            {
                "fixture": f"{codes[home_team[pair]]} v {codes[away_team[pair]]}",
                "outcome": ("home", "draw", "away")[outcome],
                "exact": float(exact[pair, outcome]),
                "error": float(errors[pair, outcome]),
            }
        )
    report_result(
        {
            "teams": len(posterior.team_codes),
            "pairs": len(fixtures),
            "games": PROTOTYPE_GAMES,
            "seeds": args.seeds,
            "max_error": max_errors,
            "mean_error": mean_errors,
            "worst_of_first_seed": worst[0],
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.precompute", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, extra, default in (
        ("compute", "--repeats", 5),
        ("pipeline", "--runs", 3),
        ("estimator", "--seeds", 20),
        ("publish", "--repeats", 3),
    ):
        sub = commands.add_parser(name)
        sub.add_argument("--posterior", type=Path, help="a posterior file; default: a synthetic one")
        sub.add_argument("--teams", type=int, default=20)
        sub.add_argument("--draws", type=int, default=DRAWS)
        sub.add_argument(extra, type=int, default=default)
    args = parser.parse_args(argv)
    children = {"compute": compute_child, "pipeline": pipeline_child, "estimator": estimator_child}
    children["publish"] = publish_child
    children[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
