"""Load test of the query API on the local stack: many keep-alive clients, mixed routes, some invalid.

Starts the local stack in this process (moto in server mode on loopback as AWS, a synthetic posterior
of the 20 EPL 2024-25 teams published through the real S3 -> SQS -> precompute path, the query
handler behind matchodds.local's HTTP bridge), then runs CLIENTS threads, each with one keep-alive
http.client connection, until REQUESTS requests are answered or MAX_SECONDS pass. Reports
requests/s, p50/p99/max latency, the count of each status, 5xx and dropped connections (a request
that got no HTTP answer: refused, reset or timed out). Exit code 1 if any 5xx or drop.

    nice -n 19 .venv/bin/python bench/load.py                        # 32 clients, 10,000 requests
    nice -n 19 .venv/bin/python bench/load.py --write docs/benchmarks.md   # and record the figures

Loopback only: it starts its own stack and never takes a URL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from bench.report import write_section  # noqa: E402
from matchodds import local  # noqa: E402
from matchodds.core.keys import new_version, posterior_key  # noqa: E402
from matchodds.core.posterior import POSTERIOR_FORMAT, Posterior, encode_posterior  # noqa: E402
from matchodds.core.results import read_results_file  # noqa: E402
from matchodds.core.teams import default_table  # noqa: E402

SECTION = "## Load (issue 8)"
COMPETITION = "E0"


def synthetic_posterior(seed: int = 8, chains: int = 2, draws: int = 200) -> Posterior:
    """A posterior of the shipped season's 20 teams with made-up strengths: the load is on the query path."""
    matches = read_results_file(local.SAMPLE_SEASON)
    codes = tuple(sorted({match.home for match in matches}))
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    strengths = rng.normal(0.0, 0.25, size=(2, len(codes)))
    created = datetime.now(UTC).replace(microsecond=0)
    draws_by_name = {
        "intercept": 0.3 + 0.03 * rng.standard_normal(shape),
        "home": 0.25 + 0.05 * rng.standard_normal(shape),
        "attack": strengths[0] + 0.08 * rng.standard_normal((*shape, len(codes))),
        "defence": strengths[1] + 0.08 * rng.standard_normal((*shape, len(codes))),
    }
    meta = {
        "format": POSTERIOR_FORMAT,
        "competition": COMPETITION,
        "version": new_version(created),
        "created_at": created.isoformat(),
        "model": {"name": "synthetic", "settings": {"seed": seed}},
        "data_window": {
            "first_match": matches[0].date.isoformat(),
            "last_match": matches[-1].date.isoformat(),
            "matches": len(matches),
            "seasons": [matches[0].season],
        },
        "seed": seed,
        "sampler": {"chains": chains, "samples": draws},
        "diagnostics": {"max_r_hat": 1.0, "min_bulk_ess": float(chains * draws), "divergences": 0},
    }
    table = default_table()
    names = tuple(table.name(code) for code in codes)
    return Posterior({name: value.astype(np.float32) for name, value in draws_by_name.items()}, codes, names, meta)


@dataclass
class QueryStack:
    """A running local stack: `api_url` serves the query API; `close` stops it and restores the environment."""

    api_url: str
    posterior: Posterior
    _stops: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self._stops):
            stop()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _clear_handler_caches() -> None:
    from services.precompute import handler as precompute
    from services.query import handler as query

    precompute._dependencies.cache_clear()
    query.reader.cache_clear()


@contextmanager
def query_stack(publish_timeout: float = 120.0) -> Iterator[QueryStack]:
    """The local stack with one published version of synthetic odds, served on a free loopback port."""
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # any free port, bound at once
    moto.start()
    moto_port = moto.get_host_and_port()[1]
    # moto's backends live in the process: a server started earlier in it (a test) left its state.
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{moto_port}/moto-api/reset", method="POST"))
    names = local.LocalNames()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": local.REGION,
        "MATCHODDS_BUCKET": names.bucket,
        "MATCHODDS_TABLE": names.table,
    }
    with _environment(env):
        _clear_handler_caches()
        from services.precompute.handler import lambda_handler as precompute_handler
        from services.query.handler import lambda_handler as query_handler

        queues = local.provision(names)
        poller = local.EventSourceMapping(queues["queue_url"], queues["queue_arn"], precompute_handler)
        poller.start()
        server = None
        try:
            posterior = synthetic_posterior()
            key = posterior_key(COMPETITION, posterior.version)
            boto3.client("s3").put_object(Bucket=names.bucket, Key=key, Body=encode_posterior(posterior))
            local.wait_for_version(names.table, COMPETITION, timeout=publish_timeout)
            server = local.serve_http_api(query_handler, 0)
            yield QueryStack(f"http://127.0.0.1:{server.server_port}", posterior)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            poller.stop()
            moto.stop()
            _clear_handler_caches()


# --- The load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    body: bytes | None = None


def request_mix(codes: tuple[str, ...], rng: random.Random) -> list[tuple[float, Any]]:
    """(weight, maker of a Call) for each kind of request; about 1 in 5 is invalid on purpose."""

    def pair() -> tuple[str, str]:
        home, away = rng.sample(codes, 2)
        return home, away

    def fixture() -> Call:
        home, away = pair()
        return Call("fixture", "GET", f"/odds/{home}/{away.lower()}?competition=E0")

    def bulk() -> Call:
        fixtures = [dict(zip(("home", "away"), pair(), strict=True)) for _ in range(10)]
        return Call("bulk", "POST", "/odds?competition=E0", json.dumps(fixtures).encode())

    return [
        (0.55, fixture),
        (0.08, lambda: Call("teams", "GET", "/teams")),
        (0.10, bulk),
        # The whole table (380 items, 1.1 MB read from moto and formatted) takes seconds on this stack.
        (0.001, lambda: Call("table", "GET", "/odds?format=csv")),
        (0.05, lambda: Call("unknown team 404", "GET", f"/odds/{pair()[0]}/XYZ")),
        (0.05, lambda: Call("same team 400", "GET", "/odds/ARS/ars")),
        (0.04, lambda: Call("bad code 400", "GET", "/odds/ARSENAL/MCI")),
        (0.03, lambda: Call("bad competition 400", "GET", "/odds/ARS/MCI?competition=E0%3BDROP")),
        (0.03, lambda: Call("bad body 400", "POST", "/odds", b'[{"home": "ARS"')),
        (0.03, lambda: Call("no route 404", "GET", "/admin/../etc/passwd")),
        (0.03, lambda: Call("path too long 414", "GET", "/odds/ARS/" + "M" * 300)),
    ]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def client(
    host: str, port: int, codes: tuple[str, ...], seed: int, budget: Iterator[int], deadline: float, tally: Tally
) -> None:
    """One keep-alive client: takes request numbers from the shared budget until it is spent or time is up."""
    rng = random.Random(seed)
    mix = request_mix(codes, rng)
    weights = [weight for weight, _ in mix]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    for _ in budget:
        if time.monotonic() > deadline:
            break
        (make,) = rng.choices([maker for _, maker in mix], weights)
        call = make()
        headers = {"Content-Type": "application/json"} if call.body is not None else {}
        started = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=call.body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            tally.dropped += 1
            tally.errors[type(error).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.by_kind.setdefault(call.kind, []).append(tally.latencies[-1])
        tally.statuses[response.status] += 1
        tally.kinds[call.kind] += 1
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.close()


class Budget:
    """A thread-safe countdown of request numbers shared by every client."""

    def __init__(self, total: int) -> None:
        self._left, self._lock = total, threading.Lock()

    def __iter__(self) -> Iterator[int]:
        while True:
            with self._lock:
                if self._left <= 0:
                    return
                self._left -= 1
                number = self._left
            yield number


def run_load(api_url: str, codes: tuple[str, ...], clients: int, requests: int, max_seconds: float) -> dict[str, Any]:
    """Drive the API; returns the figures."""
    host, port = api_url.removeprefix("http://").split(":")
    budget = Budget(requests)
    tallies = [Tally() for _ in range(clients)]
    started = time.perf_counter()
    deadline = time.monotonic() + max_seconds
    threads = [
        threading.Thread(
            target=client, args=(host, int(port), codes, seed, iter(budget), deadline, tallies[seed]), daemon=True
        )
        for seed in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + 60)
    elapsed = time.perf_counter() - started
    latencies = np.array(sorted(latency for tally in tallies for latency in tally.latencies)) * 1000
    statuses: Counter[int] = sum((tally.statuses for tally in tallies), Counter())
    kinds: Counter[str] = sum((tally.kinds for tally in tallies), Counter())
    errors: Counter[str] = sum((tally.errors for tally in tallies), Counter())
    answered = len(latencies)
    per_kind: dict[str, list[float]] = {}
    for tally in tallies:
        for kind, values in tally.by_kind.items():
            per_kind.setdefault(kind, []).extend(values)
    return {
        "clients": clients,
        "requests_asked": requests,
        "answered": answered,
        "seconds": round(elapsed, 2),
        "timed_out": answered + sum(tally.dropped for tally in tallies) < requests,
        "requests_per_second": round(answered / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if answered else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if answered else None,
        "max_ms": round(float(latencies[-1]), 1) if answered else None,
        "statuses": dict(sorted(statuses.items())),
        "server_errors": sum(count for status, count in statuses.items() if status >= 500),
        "dropped": sum(tally.dropped for tally in tallies),
        "drop_errors": dict(errors),
        "kinds": dict(kinds.most_common()),
        "p50_p99_ms_by_kind": {
            kind: [round(float(np.percentile(per_kind[kind], q)) * 1000, 1) for q in (50, 99)]
            for kind, _ in kinds.most_common()
        },
    }


def markdown(figures: dict[str, Any], command: str) -> str:
    """The benchmarks section for these figures."""
    statuses = ", ".join(f"{status}: {count:,}" for status, count in figures["statuses"].items())
    kinds = "\n".join(
        f"| {kind} | {count:,} | {figures['p50_p99_ms_by_kind'][kind][0]} | {figures['p50_p99_ms_by_kind'][kind][1]} |"
        for kind, count in figures["kinds"].items()
    )
    return f"""{SECTION}

The query API on the local stack (moto in server mode as AWS, the query handler behind
`matchodds.local`'s HTTP bridge, all in one Python process on loopback), driven by {figures["clients"]}
concurrent keep-alive clients (stdlib threads and `http.client`) with a mix of routes, about one
request in five invalid on purpose. Measured {datetime.now(UTC):%Y-%m-%d} on the development machine
({platform.machine()}, {os.cpu_count()} cores, shared with a long model backtest, the load run at
`nice -n 19`), so the figures are a floor for one process, not a Lambda's:

```sh
{command}
```

| figure | value |
| --- | --- |
| requests answered | {figures["answered"]:,} of {figures["requests_asked"]:,} in {figures["seconds"]} s |
| throughput | {figures["requests_per_second"]:,} requests/s |
| latency p50 / p99 / max | {figures["p50_ms"]} / {figures["p99_ms"]} / {figures["max_ms"]} ms |
| 5xx responses | {figures["server_errors"]} |
| dropped connections | {figures["dropped"]} |
| statuses | {statuses} |

| kind of request | count | p50 ms | p99 ms |
| --- | --- | --- | --- |
{kinds}

Latency is per request as a client sees it (send to last byte); each
request is a full API Gateway event through powertools' resolver and one or two DynamoDB calls to
moto over HTTP. In AWS each Lambda instance serves one request at a time and API Gateway throttles
per stage (docs/deploy.md), so these numbers measure the code path under contention, not capacity.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--write", type=Path, help="record the figures in this markdown file (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    for quiet in ("werkzeug", "matchodds.local", "services"):
        logging.getLogger(quiet).setLevel(logging.ERROR)
    with query_stack() as stack:
        figures = run_load(stack.api_url, stack.posterior.team_codes, args.clients, args.requests, args.max_seconds)
    print(json.dumps(figures, indent=2))
    if args.write:
        command = "nice -n 19 .venv/bin/python bench/load.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_section(args.write, SECTION, markdown(figures, command.strip()))
        print(f"wrote {SECTION!r} into {args.write}")
    failed = figures["server_errors"] or figures["dropped"] or figures["timed_out"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
