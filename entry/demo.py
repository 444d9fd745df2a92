"""`matchodds demo`: the whole pipeline on the embedded local stack, what it serves printed, and how to try it.

The stack itself is entry.local.stack's; this module is what the command prints and watches.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Where the demo's local AWS listens: moto server's own default port, where `matchodds upload` finds it.
DEFAULT_MOTO_PORT = 5000
# The leagues whose seasons ship with the project (matchodds.core.keys.DEFAULT_COMPETITIONS).
DEMO_COMPETITIONS = ("E0", "D1", "F1", "I1", "SP1")
DEMO_FIXTURES = [("ARS", "MCI"), ("LIV", "MUN"), ("CHE", "TOT"), ("NEW", "AVL"), ("NFO", "BHA")]


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a GET, an HTTP error's included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def print_fixtures(api_url: str, competition: str, fixtures: Sequence[tuple[str, str]]) -> None:
    """The fixtures' odds as the API serves them, one line each, and the model that made them."""
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


def announce(api_url: str, bucket: str, first: str, first_version: str) -> Callable[[str, str, list[str]], None]:
    """What the demo prints when a competition's new version goes live (another league, or a refit).

    A league's first version also uploads its sample round (the first league's went up when it was published).
    The teams counted are the announced version's, as its pointer names them (entry.local.stack.watch_versions):
    the API's /teams, read through its pointer cache, can still answer for the version before.
    """
    from entry.local.stack import upload_sample_round

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
    """`matchodds demo`: start the stack, print what it serves, and announce new versions until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from entry.local.sample_data import shipped_results
    from entry.local.stack import start_stack, wait_for_version, watch_versions
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
            uploads = [(competition, shipped_results(competition)) for competition in leagues]
        except ValueError as error:
            raise SystemExit(f"matchodds demo: {error}") from error
    stack = start_stack(args.port, args.moto_port, uploads, fit_args, args.upload_window)
    version = wait_for_version(stack.names.table, first)
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
    watch_versions(stack.names.table, lambda: list(stack.deployment.competitions), on_version, stopped)
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, lambda *_: stopped.set())
    # A timed wait: Python runs signal handlers in the main thread only, and when the kernel hands
    # Ctrl-C to another thread (the poller, JAX's pool), an untimed wait never wakes to run it.
    while not stopped.wait(0.5):
        pass
    print("\nshutting down", flush=True)
    stack.close()
    return 0
