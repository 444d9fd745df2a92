"""`matchodds`: drive the local stack, the fit, and the tools around them from one command.

Each subcommand's module is imported when it runs, so `--help` and the light commands never load
JAX nor boto3.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from entry.demo import DEFAULT_MOTO_PORT, DEMO_COMPETITIONS, demo


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run its subcommand; the exit status."""
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
    from entry.price import run as price_main

    return price_main(args)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2025-01-05") from None


def run_project(args: argparse.Namespace) -> int:
    """`matchodds project`: the fit (JAX) and the projection (numpy), loaded only now."""
    from entry.project_season import run as project_main

    return project_main(args)


def run_upload(args: argparse.Namespace) -> int:
    """`matchodds upload`: boto3 is loaded only now."""
    from entry.upload import run as upload_main

    return upload_main(args)


def run_fit(argv: list[str]) -> int:
    """`matchodds fit ...`: the fit's entry point, loaded only now (it starts JAX)."""
    from services.fit import configure_jax

    configure_jax()  # before the fit's modules import JAX
    from services.fit.main import main as fit_main

    return fit_main(argv)
