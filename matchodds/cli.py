"""`matchodds`: drive the local stack, the fit, and the tools around them from one command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # each is imported when its subcommand runs, not for --help
    from http.server import ThreadingHTTPServer

    from moto.server import ThreadedMotoServer

    from matchodds.local import EventSourceMapping, LocalDeployment, LocalFitTasks, LocalNames

# Where the demo's local AWS listens: moto server's own default port, where `matchodds upload` finds it.
DEFAULT_MOTO_PORT = 5000
# The leagues whose seasons ship with the project (matchodds.core.keys.DEFAULT_COMPETITIONS).
DEMO_COMPETITIONS = ("E0", "D1", "F1", "I1", "SP1")
DEMO_FIXTURES = [("ARS", "MCI"), ("LIV", "MUN"), ("CHE", "TOT"), ("NEW", "AVL"), ("NFO", "BHA")]


@dataclass
class RunningStack:
    """A started local stack; `close` stops it in reverse order."""

    api_url: str
    moto_url: str
    names: LocalNames
    pollers: list[EventSourceMapping]  # precompute, pricing, fit trigger: each fed by S3 events through SQS
    fit_tasks: LocalFitTasks
    deployment: LocalDeployment
    http_server: ThreadingHTTPServer
    moto_server: ThreadedMotoServer

    def close(self) -> None:
        self.http_server.shutdown()
        for poller in self.pollers:
            poller.stop()
        self.fit_tasks.close()
        self.moto_server.stop()


def start_stack(
    api_port: int,
    moto_port: int,
    uploads: Sequence[tuple[str, Sequence[Path]]],
    fit_args: Sequence[str],
    upload_window: float = 5.0,
) -> RunningStack:
    """Start moto, provision, upload each competition's results (the first first), let S3 events drive the
    fits and precompute, and serve HTTP once the first competition is published; the others follow."""
    from matchodds.core.settings import SINGLE_THREADED_BLAS

    # precompute runs in this process, as in its Lambda: numpy's BLAS on one thread, which BLAS reads when numpy
    # is first imported (nothing imported so far has); an environment that says otherwise is kept
    for name, value in SINGLE_THREADED_BLAS.items():
        os.environ.setdefault(name, value)
    import boto3
    from moto.server import ThreadedMotoServer

    from matchodds import local
    from matchodds.core.refits import FIT_TRIGGER_BATCH_SIZE
    from matchodds.upload import upload_files

    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto_server.start()
    moto_url = f"http://127.0.0.1:{moto_server.get_host_and_port()[1]}"  # port 0 binds any free one
    local.use_local_aws(moto_url)
    names = local.LocalNames()
    os.environ["MATCHODDS_BUCKET"], os.environ["MATCHODDS_TABLE"] = names.bucket, names.table
    queues = local.provision(names)

    from services.fit_trigger.handler import handle as trigger_fits
    from services.fit_trigger.ledger import FitLedger
    from services.precompute.handler import lambda_handler as precompute_handler
    from services.pricing.handler import lambda_handler as pricing_handler
    from services.query.handler import lambda_handler as query_handler
    from services.query.handler import reader as query_reader

    # The competitions served are those whose results the demo uploads, in that order; results for
    # another division later add it (what a config change and a deploy do in AWS).
    deployment = local.LocalDeployment([competition for competition, _ in uploads], redeploy=query_reader.cache_clear)
    fit_tasks = local.LocalFitTasks(names.bucket, names.fit_ledger, fit_args)
    ledger = FitLedger(names.fit_ledger, boto3.client("dynamodb"))
    pollers = [
        local.EventSourceMapping(queues["queue_url"], queues["queue_arn"], precompute_handler),
        local.EventSourceMapping(
            queues["pricing_queue_url"], queues["pricing_queue_arn"], pricing_handler, "matchodds-pricing"
        ),
        local.EventSourceMapping(
            queues["fit_trigger_queue_url"],
            queues["fit_trigger_queue_arn"],
            lambda event, _: trigger_fits(event, ledger, fit_tasks, deployment.serves),
            "matchodds-fit-trigger",
            batch_size=FIT_TRIGGER_BATCH_SIZE,
            batching_window=upload_window,
        ),
    ]
    for poller in pollers:
        poller.start()
    # One write, newline included: print() writes the text and its end apart when stdout is unbuffered, and
    # a poller's log line (stderr, the same pipe under a test) landed between them once, glued to the URL.
    print(f"local AWS (moto) on {moto_url}\n", end="", flush=True)

    def stop() -> None:
        for poller in pollers:
            poller.stop()
        fit_tasks.close()
        moto_server.stop()

    # Named as `matchodds upload` names them (results/<c>/<season>.csv), so an upload of a season replaces it.
    s3 = boto3.client("s3")
    (first, first_paths), *others = uploads
    keys = upload_files(s3, names.bucket, first_paths, first)
    print(f"uploaded {first} results to s3://{names.bucket}/{', '.join(keys)}: its fit starts", flush=True)
    fit_tasks.wait_launched(first)  # the first league's fit goes first; the others queue behind it
    for competition, paths in others:
        keys = upload_files(s3, names.bucket, paths, competition)
        print(f"uploaded {competition} results ({len(keys)} files): its fit follows", flush=True)
    try:
        status = fit_tasks.wait(first)
    except BaseException:
        stop()
        raise
    if status != 0:
        stop()
        raise SystemExit(f"the fit of {first} did not publish (exit {status}); see the messages above")
    version = local.wait_for_version(names.table, first)
    print(f"precompute published {first} version {version}", flush=True)
    upload_sample_round(names.bucket, first)
    http_server = local.serve_http_api(query_handler, api_port)
    # The bound port, not the asked one: --port 0 takes any free port, as the tests do.
    api_url = f"http://127.0.0.1:{http_server.server_port}"
    return RunningStack(api_url, moto_url, names, pollers, fit_tasks, deployment, http_server, moto_server)


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def print_fixtures(api_url: str, competition: str, fixtures: Sequence[tuple[str, str]]) -> None:
    print(f"\n{'fixture':<46} {'home':>6} {'draw':>6} {'away':>6}   fair odds (H/D/A)      xG        likeliest")
    model = None
    for home, away in fixtures:
        status, body = get_json(f"{api_url}/odds/{home}/{away}?competition={competition}")
        if status != 200:
            print(f"{home} v {away}: HTTP {status} {body.get('message')}")
            continue
        p, odds, xg = body["probabilities"], body["fair_odds"], body["expected_goals"]
        name = f"{body['home']['name']} v {body['away']['name']}"
        print(
            f"{name:<46} {p['home']:6.1%} {p['draw']:6.1%} {p['away']:6.1%}   "
            f"{odds['home']:5.2f} {odds['draw']:5.2f} {odds['away']:5.2f}   {xg['home']:.2f}-{xg['away']:.2f}   "
            f"{body['most_likely_score']['score']}"
        )
        model = body["model"]
    if model:
        print(
            f"\nmodel {model['name']}, version {model['version']}, fitted {model['fitted_at']}, "
            f"{model['matches']} matches from {model['data_from']} to {model['data_through']}"
        )
        print("Results data: football-data.co.uk")


def demo_fixtures(api_url: str, competition: str) -> list[tuple[str, str]]:
    """Fixtures to show for a competition: the Premier League's classics, else pairs of its served teams."""
    if competition == "E0":
        return DEMO_FIXTURES
    status, body = get_json(f"{api_url}/teams?competition={competition}")
    codes = [team["code"] for team in body.get("teams", [])] if status == 200 else []
    return list(zip(codes[0:10:2], codes[1:10:2], strict=False))


def upload_sample_round(bucket: str, competition: str) -> None:
    """A round for the page and GET /fixtures, once the league is published: priced and stored by the pricing Lambda."""
    import boto3

    from matchodds import local
    from matchodds.upload import upload_files

    if (round_ := local.sample_round(competition)) is not None:
        keys = upload_files(boto3.client("s3"), bucket, [round_])
        print(f"uploaded {competition}'s sample round to s3://{bucket}/{', '.join(keys)}", flush=True)


def announce(api_url: str, bucket: str, first: str, first_version: str) -> Callable[[str, str, list[str]], None]:
    """What the demo prints when a competition's new version goes live (another league, or a refit).

    A league's first version also uploads its sample round (the first league's went up when it was published).
    The teams counted are the announced version's, as its pointer names them (local.watch_versions): the API's
    /teams, read through its pointer cache, can still answer for the version before.
    """
    rounds_uploaded = {first}

    def on_version(competition: str, version: str, codes: list[str]) -> None:
        if (competition, version) == (first, first_version):
            return
        if competition not in rounds_uploaded:
            rounds_uploaded.add(competition)
            upload_sample_round(bucket, competition)
        example = f"curl '{api_url}/odds/{codes[0]}/{codes[1]}?competition={competition}'" if len(codes) > 1 else ""
        print(f"\n{competition} served: version {version}, {len(codes)} teams. {example}", flush=True)

    return on_version


def demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from matchodds import local
    from matchodds.core.settings import parse_competitions

    fit_args = ["--min-ess", str(args.min_ess), "--max-r-hat", str(args.max_r_hat)]
    fit_args += ["--warmup", str(args.warmup)] if args.warmup is not None else []
    fit_args += ["--samples", str(args.samples)] if args.samples is not None else []
    if args.seed is not None:
        fit_args += ["--seed", str(args.seed)]
    first = args.competition
    if args.results:
        uploads: list[tuple[str, Sequence[Path]]] = [(first, args.results)]
    else:
        try:
            leagues = dict.fromkeys([first, *parse_competitions(args.competitions, "--competitions")])
            uploads = [(competition, local.shipped_results(competition)) for competition in leagues]
        except ValueError as error:
            raise SystemExit(f"matchodds demo: {error}") from error
    stack = start_stack(args.port, args.moto_port, uploads, fit_args, args.upload_window)
    version = local.wait_for_version(stack.names.table, first)
    pending = [competition for competition, _ in uploads[1:]]
    fixtures = demo_fixtures(stack.api_url, first)
    print_fixtures(stack.api_url, first, fixtures)
    api, moto = stack.api_url, stack.moto_url
    home, away = fixtures[0] if fixtures else ("ARS", "LIV")
    bulk = json.dumps([{"home": home, "away": away}, {"home": home, "away": "XYZ"}])
    arriving = f"{', '.join(pending)}: served as their fits end" if pending else "what this demo serves"
    endpoint = "" if args.moto_port == DEFAULT_MOTO_PORT else f" --endpoint-url {moto}"
    print(
        f"""
The query API is up on {api}; the page is {api}/ and the API docs {api}/docs. Try:
  curl '{api}/odds/{home}/{away}?competition={first}'
  curl '{api}/competitions'      # {arriving}
  curl '{api}/teams?competition={first}'
  curl -i '{api}/odds/{home}/XYZ?competition={first}'     # unknown team: 404 naming it
  curl -X POST '{api}/odds?competition={first}' -d '{bulk}'
  curl '{api}/odds?competition={first}&format=csv'
New results in, new odds out (uploads within {args.upload_window:g} s of the first start one fit):
  matchodds upload E0.csv{endpoint}         # a football-data results file: a new version follows
  matchodds upload N1.csv{endpoint}         # any football-data division: that league is fitted and served
  matchodds upload week.csv --competition {first}{endpoint}   # fixtures: priced/{first}/week.csv and .json follow
Local AWS (moto): aws --endpoint-url {moto} s3 ls s3://{stack.names.bucket}/ --recursive
Ctrl-C stops everything.""",
        flush=True,
    )
    if args.exit_after_start:
        stack.close()
        return 0
    stopped = threading.Event()
    on_version = announce(api, stack.names.bucket, first, version)
    local.watch_versions(stack.names.table, lambda: list(stack.deployment.competitions), on_version, stopped)
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, lambda *_: stopped.set())
    # A timed wait: Python runs signal handlers in the main thread only, and when the kernel hands
    # Ctrl-C to another thread (the poller, JAX's pool), an untimed wait never wakes to run it.
    while not stopped.wait(0.5):
        pass
    print("\nshutting down", flush=True)
    stack.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="matchodds", description="Football match odds from a Bayesian model.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo_parser = commands.add_parser("demo", help="run the whole pipeline on the embedded local AWS and serve it")
    demo_parser.add_argument(
        "results", nargs="*", type=Path, help="results files of --competition (default: the shipped seasons)"
    )
    demo_parser.add_argument("--competition", default="E0", help="the league served first (and the files' league)")
    demo_parser.add_argument(
        "--competitions",
        default=",".join(DEMO_COMPETITIONS),
        help="the shipped leagues to fit and serve, one after another (default: %(default)s)",
    )
    demo_parser.add_argument(
        "--upload-window",
        type=float,
        default=5.0,
        help="seconds the fit trigger gathers results uploads into one fit (AWS: 60; default: %(default)s)",
    )
    demo_parser.add_argument("--port", type=int, default=8000, help="port of the HTTP API on 127.0.0.1 (0: any free)")
    demo_parser.add_argument(
        "--moto-port", type=int, default=DEFAULT_MOTO_PORT, help="port of the local AWS (0: any free)"
    )
    demo_parser.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    demo_parser.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    demo_parser.add_argument("--seed", type=int)
    demo_parser.add_argument("--min-ess", type=float, default=400, help="quality gate: least bulk ESS to publish")
    demo_parser.add_argument("--max-r-hat", type=float, default=1.01, help="quality gate: largest r_hat to publish")
    demo_parser.add_argument("--exit-after-start", action="store_true", help="stop once the odds are printed")
    demo_parser.set_defaults(run=demo)

    # The fit's own parser (services.fit.main) reads the rest of the line: importing it starts JAX,
    # which no other command (nor --help) should pay for.
    fit_parser = commands.add_parser(
        "fit", add_help=False, help="fit the model and write a posterior (the container's command; fit --help)"
    )
    fit_parser.set_defaults(run=run_fit)

    price_parser = commands.add_parser(
        "price", help="write a football-data fixtures file back with our odds and each bookmaker's edge"
    )
    price_parser.add_argument("fixtures", type=Path, help="a football-data fixtures file (fixtures.csv)")
    price_parser.add_argument("--out", type=Path, help="where to write the priced file (default: standard output)")
    price_source = price_parser.add_mutually_exclusive_group(required=True)
    price_source.add_argument("--api", help="URL of a running query API, e.g. http://127.0.0.1:8000")
    price_source.add_argument("--posterior", type=Path, help="a posterior .npz file, priced here with numpy")
    price_parser.add_argument("--competition", help="price only this Div's rows (default: each row in its own Div)")
    price_parser.set_defaults(run=run_price)

    project_parser = commands.add_parser(
        "project",
        help="fit on a season's results up to a date and project the rest of it: GET /table's JSON",
        description="Fits the served model on the results up to --through, takes the season's later matches "
        "as its remaining fixtures, simulates the rest of the season and writes the table with its projection "
        "as GET /table serves it (a past season's mid-season projection).",
    )
    project_parser.add_argument("--results", nargs="+", type=Path, required=True, help="football-data results files")
    project_parser.add_argument("--competition", default="E0", help="the files' division (default: %(default)s)")
    project_parser.add_argument(
        "--through", type=_iso_date, help="the last day of results the fit sees, YYYY-MM-DD (default: the last match)"
    )
    project_parser.add_argument("--json", type=Path, required=True, help="where to write the table and projection")
    project_parser.add_argument("--simulations", type=int, default=10_000, help="seasons simulated (%(default)s)")
    project_parser.add_argument("--seed", type=int, default=0, help="the fit's and the simulations' seed")
    project_parser.add_argument("--chains", type=int, default=4)
    project_parser.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    project_parser.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    project_parser.add_argument("--min-ess", type=float, default=400, help="quality gate: least bulk ESS")
    project_parser.add_argument("--max-r-hat", type=float, default=1.01, help="quality gate: largest r_hat")
    project_parser.set_defaults(run=run_project)

    demo_aws = f"http://127.0.0.1:{DEFAULT_MOTO_PORT}"
    upload_parser = commands.add_parser(
        "upload",
        help="check results or fixtures files and put them where the fit or the pricing reads them",
        description="Each file is read as the fit (results) or the pricing (fixtures) reads it; nothing is "
        "uploaded unless all are good. A results file is stored as its season (results/<Div>/2024-25.csv, so "
        "next week's copy replaces it), a fixtures file under its own name (fixtures/<Div>/<name>).",
    )
    upload_parser.add_argument("files", nargs="+", type=Path, help="football-data results or fixtures CSV files")
    upload_parser.add_argument(
        "--competition", help="only this Div's rows (a plain home,away file has no Div: this names its competition)"
    )
    upload_parser.add_argument("--name", help="the stored file name (default: a results file's season: 2024-25.csv)")
    upload_parser.add_argument("--bucket", help="this bucket, through boto3's usual settings (default: the demo's)")
    upload_parser.add_argument("--endpoint-url", help=f"S3 endpoint (default without --bucket: the demo's, {demo_aws})")
    upload_parser.set_defaults(run=run_upload, local_endpoint=demo_aws)

    args, rest = parser.parse_known_args(argv)
    if args.command == "fit":
        return run_fit(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.run(args))


def run_price(args: argparse.Namespace) -> int:
    """`matchodds price`: numpy at most, never JAX."""
    from matchodds.pricing import run as price_main

    return price_main(args)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2025-01-05") from None


def run_project(args: argparse.Namespace) -> int:
    """`matchodds project`: the fit (JAX) and the projection (numpy), loaded only now."""
    from matchodds.project import run as project_main

    return project_main(args)


def run_upload(args: argparse.Namespace) -> int:
    """`matchodds upload`: boto3 is loaded only now."""
    from matchodds.upload import run as upload_main

    return upload_main(args)


def run_fit(argv: list[str]) -> int:
    """`matchodds fit ...`: the fit's entry point, loaded only now (it starts JAX)."""
    from services.fit.main import main as fit_main

    return fit_main(argv)
