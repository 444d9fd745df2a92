"""Query benchmark: the handler in-process, the local HTTP endpoint under load, cold start, the zip.

    python -m bench.query inprocess (--posterior P.npz | --teams 20) [--requests 2000] [--prototype-requests 300]
    python -m bench.query serve     (--posterior P.npz | --teams 20)   # the local HTTP API until stdin closes
    python -m bench.query tables    (--posterior P.npz | --teams 96 --draws 400) [--table-requests 200]

inprocess: moto in-process (`mock_aws`, no sockets); a version published by precompute; then
`GET /odds/{home}/{away}` events, every ordered pairing in turn, through `lambda_handler`, each one
timed; then POST /odds of 100 fixtures (every pairing in turn); then both again with no fixture's text kept
(services/query/repository.py keeps each fixture's JSON per version: cleared before each request, untimed, so
that each is read, built and serialised); then GET /odds as JSON and as CSV (from the
version's export: the first request reads it, the others answer from memory); then, over the same moto, the
prototype's way of answering (bench/prototype_odds.py: the
posterior object read from S3 on every request, one draw, 100 simulated games).
serve: moto in server mode and the local HTTP API of `make demo` (`entry.local.http_bridge.serve_http_api`),
both in this child, on loopback; the parent drives 32 concurrent keep-alive clients at it.
tables: GET /odds of a league of any size (96 teams: four divisions in one competition) whose items are not
written, only its pointer and the exports precompute makes from them; above the Lambda reply's limit it is a
redirect. Draws do not change an export's size, so fewer draws keep this quick.
Cold start (bench/cold_start.py): a fresh interpreter imports `services.query.handler` and answers
one request against the serve child's moto, timing the import and the first request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.measure import (
    BenchError,
    CallMarks,
    announcing_child,
    child_command,
    display_command,
    latency_summary,
    report_result,
    run_child,
    summary,
)
from bench.posteriors import posterior_arguments

READY_PREFIX = "BENCH-READY "
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
HEADERS = {"accept": "application/json", "host": "127.0.0.1", "user-agent": "bench"}


@dataclass(frozen=True)
class QueryConfig:
    requests: int = 2000
    prototype_requests: int = 300
    clients: int = 32
    seconds: float = 20.0
    cold_runs: int = 7
    build_zip: bool = True
    bulk_requests: int = 300
    table_requests: int = 200
    large_teams: int = 96  # GET /odds and the item sizes of a league this large (synthetic)
    large_draws: int = 400  # enough for the item sizes and the exports' size, which draws do not change


def run(config: QueryConfig, fitted: Path | None, teams: int = 20, draws: int = 4000) -> dict[str, Any]:
    """Every query figure, on the fitted posterior when there is one."""
    source = ["--requests", str(config.requests), "--prototype-requests", str(config.prototype_requests)]
    source += ["--bulk-requests", str(config.bulk_requests), "--table-requests", str(config.table_requests)]
    child = run_child("bench.query", ["inprocess", *posterior_arguments(fitted, teams, draws), *source])
    inprocess = {**child.result, "command": child.command, "source": "fitted" if fitted else "synthetic"}
    print(f"query in-process: {inprocess['handler']} vs prototype {inprocess['prototype']}", file=sys.stderr)
    large = ["--teams", str(config.large_teams), "--draws", str(config.large_draws)]
    child = run_child("bench.query", ["tables", *large, "--table-requests", str(config.table_requests)])
    large_tables = {**child.result, "command": child.command}
    items = []
    for arguments in (posterior_arguments(fitted, teams, draws), large):
        child = run_child("bench.items", arguments)
        items.append(
            {
                **child.result,
                "command": child.command,
                "source": "fitted" if "--posterior" in arguments else "synthetic",
            }
        )
    print(f"query items: {items}", file=sys.stderr)
    with serving(fitted, teams, draws) as (ready, serve_command):
        cold = cold_starts(ready, config.cold_runs)
        load = drive_load(ready, config.clients, config.seconds)
        load["command"] = serve_command
    print(f"query load: {load}", file=sys.stderr)
    return {
        "config": asdict(config),
        "inprocess": inprocess,
        "large_tables": large_tables,
        "items": items,
        "cold": cold,
        "load": load,
        "zip": query_zip() if config.build_zip else None,
    }


@contextmanager
def serving(fitted: Path | None, teams: int, draws: int) -> Iterator[tuple[dict[str, Any], str]]:
    """The serve child, stopped by closing its stdin (or by its own pid); yields its READY document and command."""
    args = ["serve", *posterior_arguments(fitted, teams, draws)]
    with announcing_child(child_command("bench.query", args), READY_PREFIX, stop_seconds=15) as (ready, _, _):
        yield ready, display_command("bench.query", args)


def cold_starts(ready: dict[str, Any], runs: int) -> dict[str, Any]:
    env = {**DUMMY_AWS, "AWS_ENDPOINT_URL": ready["endpoint"], "MATCHODDS_TABLE": ready["table"]}
    env["MATCHODDS_BUCKET"] = ready["bucket"]
    home, away = ready["codes"][:2]
    results = []
    for _ in range(runs):
        child = run_child("bench.cold_start", ["--home", home, "--away", away], env=env)
        if child.result["status"] != 200:
            raise BenchError(f"the cold-start request answered {child.result['status']}")
        results.append({**child.result, "process_s": child.process_s})
    return {
        "command": (
            f"AWS_ENDPOINT_URL=<moto> MATCHODDS_TABLE={ready['table']} MATCHODDS_BUCKET={ready['bucket']} "
            f"{child.command}"
        ),
        "runs": results,
        **{
            name: summary(entry[name] for entry in results)
            for name in ("import_s", "import_cpu_s", "first_request_s", "process_s")
        },
        "peak_rss_mb": summary(entry["peak_rss_mb"] for entry in results),
    }


def drive_load(ready: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` keep-alive connections asking for fixtures in turn for `seconds`; loopback only."""
    host, port = "127.0.0.1", int(ready["port"])
    paths = [f"/odds/{home}/{away}" for home in ready["codes"] for away in ready["codes"] if home != away]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        request = index
        while time.perf_counter() < deadline:
            path = paths[request % len(paths)]
            request += clients
            sent = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Accept": "application/json"})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors[index].append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=30)
                continue
            latencies[index].append(time.perf_counter() - sent)
            if response.status != 200 or b'"probabilities"' not in body:
                errors[index].append(f"HTTP {response.status}")
        connection.close()

    threads = [threading.Thread(target=client, args=(index,), name=f"load-{index}") for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = [value for per_client in latencies for value in per_client]
    failures = [error for per_client in errors for error in per_client]
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(every),
        "requests_per_s": len(every) / elapsed,
        "errors": len(failures),
        "error_examples": sorted(set(failures))[:5],
        **latency_summary(every),
    }


def query_zip() -> dict[str, Any]:
    """Build the query Lambda's zip as `python -m infra.package --only query` does, into a scratch dir."""
    from infra.lambda_platform import MAX_ZIPPED_BYTES, QUERY
    from infra.package import PackagingError, build

    with tempfile.TemporaryDirectory(prefix="bench-zip-") as scratch:
        try:
            built = build(QUERY, out_dir=Path(scratch))
        except PackagingError as error:
            return {"error": str(error), "command": ".venv/bin/python -m infra.package --only query"}
        return {
            "zipped_mb": built.zipped_bytes / 2**20,
            "unzipped_mb": built.unzipped_bytes / 2**20,
            "lambda_limit_mb": MAX_ZIPPED_BYTES / 2**20,
            "command": ".venv/bin/python -m infra.package --only query",
        }


# --- the children --------------------------------------------------------------------------------------


def _publish(bucket: str, table: str, args: argparse.Namespace) -> tuple[Any, str]:
    """A version published by precompute, as the S3 event would have it; returns (posterior, key)."""
    import boto3

    from bench.posteriors import load_posterior
    from bench.stack import put_posterior
    from services.precompute.pipeline import publish_posterior
    from services.precompute.store import OddsWriter

    posterior = load_posterior(args.posterior, args.teams, args.draws)
    s3 = boto3.client("s3")
    key = put_posterior(bucket, posterior, s3)
    publish_posterior(bucket, key, s3, OddsWriter(table, boto3.client("dynamodb")))
    return posterior, key


def in_process_aws() -> Any:
    """The local stack's names, with the environment the query handler reads pointed at moto in this process."""
    from entry.local.provision import LocalNames

    names = LocalNames()
    os.environ.update({**DUMMY_AWS, "MATCHODDS_TABLE": names.table, "MATCHODDS_BUCKET": names.bucket})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    return names


def inprocess_child(args: argparse.Namespace) -> None:
    names = in_process_aws()
    import boto3
    import numpy as np
    from moto import mock_aws

    from bench.prototype_odds import answer
    from entry.local.http_bridge import http_api_event
    from entry.local.lambda_context import LambdaContext
    from entry.local.provision import provision

    calls = CallMarks()
    with mock_aws():
        provision(names)
        posterior, key = _publish(names.bucket, names.table, args)
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]  (the prototype's clients)
        calls.watch(events, "s3", "GetObject")
        from services.query import clients, handler  # its client is made on the first request, after the hooks

        calls.watch(clients.session(), "dynamodb", "*")  # the query's clients are botocore's, on their own session
        calls.watch(clients.session(), "s3", "GetObject")

        codes = posterior.team_codes
        pairs = [(home, away) for home in codes for away in codes if home != away]
        requests = [http_api_event("GET", f"/odds/{h}/{a}", HEADERS, b"", "127.0.0.1") for h, a in pairs]
        context = LambdaContext("matchodds-query")
        first = time.perf_counter()
        handler.lambda_handler(requests[0], context)
        first_s = time.perf_counter() - first
        for request in requests[:50]:  # warm: the pointer cached, botocore's lazy loading done
            handler.lambda_handler(request, context)
        ours, ours_in_moto, errors = [], [], 0
        for index in range(args.requests):
            calls.clear()
            started = time.perf_counter()
            response = handler.lambda_handler(requests[index % len(requests)], context)
            ours.append(time.perf_counter() - started)
            ours_in_moto.append(calls.stand_in_seconds())
            errors += response["statusCode"] != 200
        bulk = timed_requests(handler, context, calls, bulk_events(pairs, BULK_FIXTURES, args.bulk_requests))
        # The same requests with no fixture's text kept (each the first of its fixtures at a version): read, built
        # and serialised every time, as on an instance's first requests after the pointer moves.
        forget = handler.reader().texts.clear
        uncached = timed_requests(handler, context, calls, requests[: args.requests], forget)
        bulk_uncached = timed_requests(
            handler, context, calls, bulk_events(pairs, BULK_FIXTURES, args.bulk_requests), forget
        )
        tables = table_timings(handler, context, calls, args.table_requests)
        s3, rng = boto3.client("s3"), np.random.default_rng(0)
        posterior_object_bytes = s3.head_object(Bucket=names.bucket, Key=key)["ContentLength"]
        answer(s3, names.bucket, key, *pairs[0], rng)
        theirs, theirs_in_moto = [], []
        for index in range(args.prototype_requests):
            calls.clear()
            started = time.perf_counter()
            answer(s3, names.bucket, key, *pairs[index % len(pairs)], rng)
            theirs.append(time.perf_counter() - started)
            theirs_in_moto.append(calls.stand_in_seconds())
    handler_latency, prototype_latency = latency_summary(ours), latency_summary(theirs)
    handler_own = latency_summary([total - emulated for total, emulated in zip(ours, ours_in_moto, strict=True)])
    prototype_own = latency_summary([total - emulated for total, emulated in zip(theirs, theirs_in_moto, strict=True)])
    report_result(
        {
            "teams": len(codes),
            "posterior_object_bytes": posterior_object_bytes,
            "first_request_ms": first_s * 1000,
            "errors": errors,
            "handler": handler_latency,
            "prototype": prototype_latency,
            "p50_ratio": prototype_latency["p50_ms"] / handler_latency["p50_ms"],
            "handler_without_moto": handler_own,
            "prototype_without_moto": prototype_own,
            "p50_ratio_without_moto": prototype_own["p50_ms"] / handler_own["p50_ms"],
            "moto_p50_ms": {
                "handler": latency_summary(ours_in_moto)["p50_ms"],
                "prototype": latency_summary(theirs_in_moto)["p50_ms"],
            },
            "bulk": bulk,
            "uncached": uncached,
            "bulk_uncached": bulk_uncached,
            "tables": tables,
        }
    )


BULK_FIXTURES = 100  # POST /odds's limit


def bulk_events(pairs: Sequence[tuple[str, str]], size: int, count: int) -> list[dict[str, Any]]:
    """`count` POST /odds events of `size` fixtures each, every pairing in turn."""
    from entry.local.http_bridge import http_api_event

    events = []
    for index in range(count):
        chosen = [pairs[(index * size + offset) % len(pairs)] for offset in range(size)]
        body = json.dumps([{"home": home, "away": away} for home, away in chosen]).encode()
        events.append(http_api_event("POST", "/odds?competition=E0", HEADERS, body, "127.0.0.1"))
    return events


def timed_requests(
    handler: Any, context: Any, calls: CallMarks, events: Sequence[dict[str, Any]], before: Any = None
) -> dict[str, Any]:
    """Each event through the handler (the first 10 again first, as warm-up): latencies, moto's share, statuses.
    `before`, when given, is called before each request, untimed."""
    for event in events[:10]:
        handler.lambda_handler(event, context)
    latencies, in_moto, statuses = [], [], set()
    for event in events:
        if before is not None:
            before()
        calls.clear()
        started = time.perf_counter()
        response = handler.lambda_handler(event, context)
        latencies.append(time.perf_counter() - started)
        in_moto.append(calls.stand_in_seconds())
        statuses.add(response["statusCode"])
    own = [total - emulated for total, emulated in zip(latencies, in_moto, strict=True)]
    return {**latency_summary(latencies), "without_moto": latency_summary(own), "statuses": sorted(statuses)}


def table_timings(handler: Any, context: Any, calls: CallMarks, requests: int) -> dict[str, Any]:
    """GET /odds as JSON and as CSV: the first request of the process for each (the first of all also makes the S3
    client, once per Lambda instance; each reads its export) and then `requests` more (from memory), with the
    reply's status and size."""
    from entry.local.http_bridge import http_api_event

    timings = {}
    for table_format in ("json", "csv"):
        event = http_api_event("GET", f"/odds?competition=E0&format={table_format}", HEADERS, b"", "127.0.0.1")
        started = time.perf_counter()
        response = handler.lambda_handler(event, context)
        first_ms = (time.perf_counter() - started) * 1000
        warm = timed_requests(handler, context, calls, [event] * requests)
        timings[table_format] = {
            "first_ms": first_ms,
            "status": response["statusCode"],
            "body_bytes": len(response.get("body") or ""),
            **warm,
        }
    return timings


def tables_child(args: argparse.Namespace) -> None:
    """GET /odds of a league of --teams teams whose items are not written (only its pointer and exports, made by
    precompute's own code from its items), so that a 96-team league is measured without 9,120 writes to moto."""
    names = in_process_aws()
    import boto3
    from moto import mock_aws

    from adapters.posterior_store import PosteriorObject
    from bench.posteriors import load_posterior
    from entry.local.lambda_context import LambdaContext
    from entry.local.provision import provision
    from services.precompute.exports import ExportTable, ExportWriter
    from services.precompute.pipeline import odds_items, pointer_fields
    from services.precompute.store import OddsWriter

    calls = CallMarks()
    with mock_aws():
        provision(names)
        posterior = load_posterior(args.posterior, args.teams, args.draws)
        pointer = pointer_fields(posterior, len(posterior.team_codes) ** 2, PosteriorObject(names.bucket, "bench"))
        export = ExportTable(posterior.competition, posterior.version, pointer)
        for item in odds_items(posterior):
            export.add(item)
        OddsWriter(names.table, boto3.client("dynamodb")).promote(posterior.competition, posterior.version, pointer)
        bodies = export.bodies()
        ExportWriter(names.bucket, boto3.client("s3")).write(posterior.competition, posterior.version, bodies)
        from entry.local.http_bridge import http_api_event
        from services.query import clients, handler

        calls.watch(clients.session(), "dynamodb", "*")  # the query's clients, made after the hooks
        calls.watch(clients.session(), "s3", "*")

        context = LambdaContext("matchodds-query")
        handler.lambda_handler(http_api_event("GET", "/teams", HEADERS, b"", "127.0.0.1"), context)  # DynamoDB's client
        tables = table_timings(handler, context, calls, args.table_requests)
    report_result(
        {
            "teams": len(posterior.team_codes),
            "draws": int(posterior.flat("intercept").size),
            "export_bytes": {name: len(body) for name, body in bodies.items()},
            "tables": tables,
        }
    )


def serve_child(args: argparse.Namespace) -> None:
    from bench.stack import moto_server_stack
    from entry.local.http_bridge import serve_http_api
    from entry.local.provision import free_port

    with moto_server_stack() as stack:
        posterior, _ = _publish(stack.names.bucket, stack.names.table, args)
        from services.query.handler import lambda_handler

        port = free_port()
        server = serve_http_api(lambda_handler, port)
        ready = {
            "port": port,
            "endpoint": stack.endpoint,
            "table": stack.names.table,
            "bucket": stack.names.bucket,
            "codes": posterior.team_codes,
        }
        print(READY_PREFIX + json.dumps(ready), flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        server.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("inprocess", "serve", "tables"):
        sub = commands.add_parser(name)
        sub.add_argument("--posterior", type=Path, help="a posterior file; default: a synthetic one")
        sub.add_argument("--teams", type=int, default=20)
        sub.add_argument("--draws", type=int, default=4000)
        if name == "inprocess":
            sub.add_argument("--requests", type=int, default=2000)
            sub.add_argument("--prototype-requests", type=int, default=300)
            sub.add_argument("--bulk-requests", type=int, default=300, help=f"POST /odds of {BULK_FIXTURES} fixtures")
        if name in ("inprocess", "tables"):
            sub.add_argument("--table-requests", type=int, default=200, help="GET /odds of each format")
    args = parser.parse_args(argv)
    {"inprocess": inprocess_child, "serve": serve_child, "tables": tables_child}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
