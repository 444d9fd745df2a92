"""Load on the query API of the local stack: many clients at once, one kind of request or a mix; drops counted.

    .venv/bin/python -m bench.load --mix fixture --seconds 60    # 32 clients, GET /odds/{home}/{away}, 60 s
    .venv/bin/python -m bench.load --mix bulk50 --seconds 60     # 32 clients, POST /odds of 50 fixtures, 60 s
    .venv/bin/python -m bench.load                               # issue 8's mix of routes, 10,000 requests
    .venv/bin/python -m bench.load --write docs/benchmarks.md    # the mix, recorded as "Load (issue 8)"

The server is a child process (`python -m bench.load serve`) that runs the local stack as `make demo`
does: moto in server mode on loopback as AWS, a synthetic posterior of the 20 EPL 2024-25 teams
published through the real S3 -> SQS -> precompute path, the query handler behind entry.local.http_bridge's
HTTP bridge, logging as the demo logs. The clients are threads of this process, each with one
keep-alive `http.client` connection (`--connect each`: a new connection for every request, as a
shell loop of curl makes). Reports requests/s, p50/p99/max latency, the count of each status, and
every request that got no right answer: a drop (no HTTP reply: reset, refused or timed out; resets
counted apart) or, for `fixture` and `bulk50`, a reply that is not 200 with the fixtures asked. Beside
them: the server process's CPU time, its WARNING/ERROR log lines while the load ran, the kernel's
count of connections its listen queues turned away (TcpExt ListenOverflows, the whole machine's),
and connects that took a second or more (a SYN the server's backlog dropped is retried after 1 s).
Exit code 1 if any request failed.

Loopback only: it starts its own stack and never takes a URL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import random
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import boto3
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from bench.measure import announcing_child, load_average, percentile  # noqa: E402
from bench.report import write_section  # noqa: E402
from entry.local.event_sources import EventSourceMapping  # noqa: E402
from entry.local.http_bridge import QUERY_CONCURRENCY, serve_http_api  # noqa: E402
from entry.local.provision import REGION, LocalNames, provision  # noqa: E402
from entry.local.sample_data import SAMPLE_SEASON  # noqa: E402
from entry.local.stack import wait_for_version  # noqa: E402
from matchodds.core.keys import new_version, posterior_key  # noqa: E402
from matchodds.core.posterior import POSTERIOR_FORMAT, Posterior, encode_posterior  # noqa: E402
from matchodds.core.results import read_results_file  # noqa: E402
from matchodds.core.teams import default_table  # noqa: E402

SECTION = "## Load (issue 8)"
COMPETITION = "E0"
MIXES = ("mixed", "fixture", "bulk50")
BULK_FIXTURES = 50
# A request unanswered this long counts as dropped: a patient client (curl waits for ever). The bridge queues
# requests for its few handler slots, so under 32 clients a costly one waits for many others.
CLIENT_TIMEOUT_SECONDS = 300.0
SLOW_CONNECT_SECONDS = 1.0  # Linux retries a SYN its peer's full accept queue dropped after 1 s
READY_PREFIX = "BENCH-LOAD-READY "
# As `make demo` logs (entry/demo.py): the lines a user would see while the load runs.
DEMO_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEMO_QUIET_LOGGERS = ("werkzeug", "botocore", "urllib3")


def synthetic_posterior(seed: int = 8, chains: int = 2, draws: int = 200) -> Posterior:
    """A posterior of the shipped season's 20 teams with made-up strengths: the load is on the query path."""
    matches = read_results_file(SAMPLE_SEASON)
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
    names = LocalNames()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MATCHODDS_BUCKET": names.bucket,
        "MATCHODDS_TABLE": names.table,
    }
    with _environment(env):
        _clear_handler_caches()
        from services.precompute.handler import lambda_handler as precompute_handler
        from services.query.handler import lambda_handler as query_handler

        queues = provision(names)
        poller = EventSourceMapping(queues["queue_url"], queues["queue_arn"], precompute_handler)
        poller.start()
        server = None
        try:
            posterior = synthetic_posterior()
            key = posterior_key(COMPETITION, posterior.version)
            boto3.client("s3").put_object(Bucket=names.bucket, Key=key, Body=encode_posterior(posterior))
            wait_for_version(names.table, COMPETITION, timeout=publish_timeout)
            server = serve_http_api(query_handler, 0)
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
    # For the single-kind mixes, what a right answer is; None: any HTTP reply below 500 is one.
    check: Callable[[int, bytes], bool] | None = None


def _fixture_answered(status: int, body: bytes) -> bool:
    return status == 200 and b'"probabilities"' in body


def _fixtures_answered(count: int) -> Callable[[int, bytes], bool]:
    def answered(status: int, body: bytes) -> bool:
        if status != 200:
            return False
        fixtures = json.loads(body).get("fixtures", [])
        return len(fixtures) == count and all("probabilities" in fixture for fixture in fixtures)

    return answered


def request_mix(codes: tuple[str, ...], rng: random.Random, mix: str = "mixed") -> list[tuple[float, Any]]:
    """(weight, maker of a Call) for each kind of request; in the mix, about 1 in 5 is invalid on purpose."""

    def pair() -> tuple[str, str]:
        home, away = rng.sample(codes, 2)
        return home, away

    def fixture() -> Call:
        home, away = pair()
        return Call("fixture", "GET", f"/odds/{home}/{away.lower()}?competition=E0", check=_fixture_answered)

    def bulk(count: int) -> Call:
        fixtures = [dict(zip(("home", "away"), pair(), strict=True)) for _ in range(count)]
        return Call(
            f"bulk{count}", "POST", "/odds?competition=E0", json.dumps(fixtures).encode(), _fixtures_answered(count)
        )

    if mix == "fixture":
        return [(1.0, fixture)]
    if mix == "bulk50":
        return [(1.0, lambda: bulk(BULK_FIXTURES))]
    if mix != "mixed":
        raise ValueError(f"unknown mix {mix!r}; choose from {', '.join(MIXES)}")

    def unchecked(call: Call, kind: str) -> Call:
        return Call(kind, call.method, call.path, call.body)

    return [
        (0.55, lambda: unchecked(fixture(), "fixture")),
        (0.08, lambda: Call("teams", "GET", "/teams")),
        (0.10, lambda: unchecked(bulk(10), "bulk")),
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


def drop_kind(error: BaseException) -> str:
    """What became of a request that got no HTTP reply."""
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    # http.client.RemoteDisconnected (closed before any reply) is a ConnectionResetError.
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset"
    if isinstance(error, TimeoutError):
        return "timed out"
    return "other"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # the dropped requests by exception
    drops: Counter[str] = field(default_factory=Counter)  # ... and by what became of them
    wrong: Counter[str] = field(default_factory=Counter)  # replies that are not the right answer, by status
    connects: list[float] = field(default_factory=list)
    examples: set[str] = field(default_factory=set)


def client(
    host: str,
    port: int,
    codes: tuple[str, ...],
    seed: int,
    budget: Iterator[int],
    deadline: float,
    tally: Tally,
    mix: str = "mixed",
    fresh_connections: bool = False,
    timeout: float = CLIENT_TIMEOUT_SECONDS,
) -> None:
    """One client: takes request numbers from the shared budget until it is spent or time is up."""
    rng = random.Random(seed)
    makers = request_mix(codes, rng, mix)
    weights = [weight for weight, _ in makers]
    connection: http.client.HTTPConnection | None = None
    for _ in budget:
        if time.monotonic() > deadline:
            break
        (make,) = rng.choices([maker for _, maker in makers], weights)
        call = make()
        headers = {"Content-Type": "application/json"} if call.body is not None else {}
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
                connection.connect()
                tally.connects.append(time.perf_counter() - started)
            connection.request(call.method, call.path, body=call.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            tally.dropped += 1
            tally.errors[type(error).__name__] += 1
            tally.drops[drop_kind(error)] += 1
            tally.examples.add(f"{call.kind}: {type(error).__name__}: {error}"[:160])
            if connection is not None:
                connection.close()
            connection = None
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.by_kind.setdefault(call.kind, []).append(tally.latencies[-1])
        tally.statuses[response.status] += 1
        tally.kinds[call.kind] += 1
        if call.check is not None and not call.check(response.status, body):
            tally.wrong[str(response.status)] += 1
            tally.examples.add(f"{call.kind}: HTTP {response.status} {body[:100]!r}")
        if fresh_connections or response.will_close:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


class Budget:
    """A thread-safe countdown of request numbers shared by every client (None: no limit)."""

    def __init__(self, total: int | None) -> None:
        self._left, self._lock = total, threading.Lock()

    def __iter__(self) -> Iterator[int]:
        number = 0
        while True:
            with self._lock:
                if self._left is not None:
                    if self._left <= 0:
                        return
                    self._left -= 1
                    number = self._left
            yield number


def _ms(seconds: list[float], q: float) -> float | None:
    return round(percentile(seconds, q) * 1000, 1) if seconds else None


def run_load(
    api_url: str,
    codes: tuple[str, ...],
    clients: int,
    requests: int | None,
    max_seconds: float,
    mix: str = "mixed",
    fresh_connections: bool = False,
    timeout: float = CLIENT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Drive the API with `clients` threads until `requests` are answered (None: no limit) or `max_seconds` pass."""
    host, port = api_url.removeprefix("http://").split(":")
    budget = Budget(requests)
    tallies = [Tally() for _ in range(clients)]
    started = time.perf_counter()
    deadline = time.monotonic() + max_seconds
    threads = [
        threading.Thread(
            target=client,
            args=(host, int(port), codes, seed, iter(budget), deadline, tallies[seed], mix, fresh_connections, timeout),
            name=f"load-{seed}",
            daemon=True,
        )
        for seed in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:  # each ends at the deadline, after its request in flight (at most its timeout)
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for tally in tallies for latency in tally.latencies)
    connects = sorted(seconds for tally in tallies for seconds in tally.connects)
    statuses: Counter[int] = sum((tally.statuses for tally in tallies), Counter())
    kinds: Counter[str] = sum((tally.kinds for tally in tallies), Counter())
    errors: Counter[str] = sum((tally.errors for tally in tallies), Counter())
    drops: Counter[str] = sum((tally.drops for tally in tallies), Counter())
    wrong: Counter[str] = sum((tally.wrong for tally in tallies), Counter())
    answered = len(latencies)
    dropped = sum(tally.dropped for tally in tallies)
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    per_kind: dict[str, list[float]] = {}
    for tally in tallies:
        for kind, values in tally.by_kind.items():
            per_kind.setdefault(kind, []).extend(values)
    return {
        "mix": mix,
        "clients": clients,
        "connections": "one per request" if fresh_connections else "keep-alive",
        "client_timeout_s": timeout,
        "requests_asked": requests,
        "answered": answered,
        "seconds": round(elapsed, 2),
        "timed_out": requests is not None and answered + dropped < requests,
        "requests_per_second": round(answered / elapsed, 1) if elapsed else 0.0,
        "p50_ms": _ms(latencies, 50),
        "p99_ms": _ms(latencies, 99),
        "max_ms": round(latencies[-1] * 1000, 1) if answered else None,
        "statuses": dict(sorted(statuses.items())),
        "server_errors": server_errors,
        "dropped": dropped,
        "resets": drops["reset"],
        "drops": dict(drops),
        "drop_errors": dict(errors),
        "wrong_answers": dict(wrong),
        # Every request without its right answer: dropped, a 5xx, or (fixture, bulk50) not the fixtures asked.
        "errors": dropped + sum(wrong.values()) + (server_errors if mix == "mixed" else 0),
        "error_examples": sorted(example for tally in tallies for example in tally.examples)[:5],
        "connects": len(connects),
        "connect_p50_ms": _ms(connects, 50),
        "connect_max_ms": round(connects[-1] * 1000, 1) if connects else None,
        "slow_connects": sum(seconds >= SLOW_CONNECT_SECONDS for seconds in connects),
        "kinds": dict(kinds.most_common()),
        "p50_p99_ms_by_kind": {
            kind: [_ms(per_kind[kind], 50), _ms(per_kind[kind], 99)] for kind, _ in kinds.most_common()
        },
    }


# --- The server child and what it is watched by ------------------------------------------------------


def serve_child() -> None:
    """`python -m bench.load serve`: the stack, logging as the demo does, until stdin closes."""
    logging.basicConfig(level=logging.INFO, format=DEMO_LOG_FORMAT)
    for noisy in DEMO_QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with query_stack() as stack:
        print(READY_PREFIX + json.dumps({"api_url": stack.api_url, "codes": stack.posterior.team_codes}), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


@dataclass
class ServedStack:
    api_url: str
    codes: tuple[str, ...]
    pid: int
    log: IO[str]  # the child's stderr

    def log_lines(self, after: int = 0) -> list[str]:
        self.log.seek(after)
        return self.log.read().splitlines()

    def log_offset(self) -> int:
        self.log.seek(0, os.SEEK_END)
        return int(self.log.tell())


@contextmanager
def served_stack() -> Iterator[ServedStack]:
    """The stack in a child process, as the demo runs it apart from its clients; stopped by closing its stdin."""
    command = [sys.executable, "-m", "bench.load", "serve"]
    with announcing_child(command, READY_PREFIX) as (announced, process, log):
        yield ServedStack(announced["api_url"], tuple(announced["codes"]), process.pid, log)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listen_overflows() -> dict[str, int]:
    """The kernel's counts (whole machine) of connections a full listen queue turned away."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    counters = dict(zip(lines[0][1:], map(int, lines[1][1:]), strict=True))
    return {name: counters.get(name, 0) for name in ("ListenOverflows", "ListenDrops")}


def loaded(
    mix: str,
    clients: int,
    max_seconds: float,
    requests: int | None,
    fresh_connections: bool = False,
    timeout: float = CLIENT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """One load run against a fresh stack in its own process, with what the server and the kernel saw."""
    with served_stack() as stack:
        for kind in {"mixed": ("fixture",), "fixture": ("fixture",), "bulk50": ("bulk50",)}[mix]:  # a warm-up request
            run_load(stack.api_url, stack.codes, 1, 1, 60, kind)
        log_from, overflows_before = stack.log_offset(), listen_overflows()
        load_before, cpu_before = load_average(), cpu_seconds(stack.pid)
        figures = run_load(stack.api_url, stack.codes, clients, requests, max_seconds, mix, fresh_connections, timeout)
        cpu = cpu_seconds(stack.pid) - cpu_before
        overflows_after = listen_overflows()
        lines = stack.log_lines(log_from)
    noisy = [line for line in lines if " WARNING " in line or " ERROR " in line or line.startswith("Traceback")]
    figures["server"] = {
        "handler_concurrency": QUERY_CONCURRENCY,
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_request": round(cpu / figures["answered"] * 1000, 2) if figures["answered"] else None,
        "warning_or_error_lines": len(noisy),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "disconnect_lines": sum(" disconnected during " in line for line in lines),
        "log_examples": sorted({line.split(": ", 1)[-1][:160] for line in noisy})[:5],
    }
    figures["listen_overflows"] = {name: overflows_after[name] - overflows_before[name] for name in overflows_after}
    figures["load_average"] = [load_before[0], load_average()[0]]
    return figures


def failed(figures: dict[str, Any]) -> bool:
    return bool(figures["errors"] or figures["dropped"] or figures["server_errors"] or figures["timed_out"])


# --- `python -m bench load` ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadConfig:
    clients: int = 32
    seconds: float = 60.0
    mixes: tuple[str, ...] = ("fixture", "bulk50")


def command(mix: str, clients: int, seconds: float) -> str:
    return f".venv/bin/python -m bench.load --mix {mix} --clients {clients} --seconds {seconds:g}"


def run(config: LoadConfig) -> dict[str, Any]:
    """Each single-kind mix against its own fresh stack: `python -m bench`'s load section."""
    runs = []
    for mix in config.mixes:
        figures = loaded(mix, config.clients, config.seconds, None, fresh_connections=False)
        figures["command"] = command(mix, config.clients, config.seconds)
        print(
            f"load {mix}: {json.dumps({k: v for k, v in figures.items() if k != 'p50_p99_ms_by_kind'})}",
            file=sys.stderr,
        )
        runs.append(figures)
    return {"config": asdict(config), "runs": runs}


def markdown(figures: dict[str, Any], command: str) -> str:
    """Issue 8's section for these figures (the mix of routes)."""
    statuses = ", ".join(f"{status}: {count:,}" for status, count in figures["statuses"].items())
    kinds = "\n".join(
        f"| {kind} | {count:,} | {figures['p50_p99_ms_by_kind'][kind][0]} | {figures['p50_p99_ms_by_kind'][kind][1]} |"
        for kind, count in figures["kinds"].items()
    )
    asked = f" of {figures['requests_asked']:,}" if figures["requests_asked"] else ""
    return f"""{SECTION}

The query API on the local stack as `make demo` runs it (moto in server mode as AWS and the query
handler behind `entry.local.http_bridge`, in one Python process on loopback), driven from
another process by {figures["clients"]} concurrent keep-alive clients (stdlib threads and `http.client`)
with a mix of routes, about one request in five invalid on purpose. Measured
{datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores shared by server and clients
(load average {figures["load_average"][0]} at the start, {figures["load_average"][1]} at the end), so the
figures are those of one Python process serving every request, not of Lambda's many instances:

```sh
{command}
```

| figure | value |
| --- | --- |
| requests answered | {figures["answered"]:,}{asked} in {figures["seconds"]} s |
| throughput | {figures["requests_per_second"]:,} requests/s |
| latency p50 / p99 / max | {figures["p50_ms"]} / {figures["p99_ms"]} / {figures["max_ms"]} ms |
| 5xx responses | {figures["server_errors"]} |
| dropped connections (of which resets) | {figures["dropped"]} ({figures["resets"]}) |
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
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["serve"]:  # the child
        serve_child()
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=MIXES, default="mixed", help="which requests (default: issue 8's mix)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, help="send for this long (default: until --requests are answered)")
    parser.add_argument("--requests", type=int, default=10_000, help="without --seconds: how many requests")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="without --seconds: stop sending after this")
    parser.add_argument(
        "--connect", choices=("keep-alive", "each"), default="keep-alive", help="each: a new connection per request"
    )
    parser.add_argument(
        "--timeout", type=float, default=CLIENT_TIMEOUT_SECONDS, help="seconds before a request counts as dropped"
    )
    parser.add_argument(
        "--write", type=Path, help="record the mix's figures in this markdown file (docs/benchmarks.md)"
    )
    args = parser.parse_args(arguments)
    if args.write and (args.mix != "mixed" or args.seconds):
        parser.error("--write records issue 8's section: the mix of routes, by --requests")
    requests, seconds = (None, args.seconds) if args.seconds else (args.requests, args.max_seconds)
    figures = loaded(args.mix, args.clients, seconds, requests, args.connect == "each", args.timeout)
    print(json.dumps(figures, indent=2))
    if args.write:
        write_section(
            args.write, SECTION, markdown(figures, (".venv/bin/python -m bench.load " + " ".join(arguments)).strip())
        )
        print(f"wrote {SECTION!r} into {args.write}")
    return 1 if failed(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
