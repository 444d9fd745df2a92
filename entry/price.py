"""`matchodds price`: a football-data fixtures file written back with our odds and each bookmaker's edge.

The columns, the edges and the notes are matchodds.core.pricing's, shared with the pricing Lambda;
this module holds the CLI's two sources of odds: a running API (`--api`, one POST /odds per 100
fixtures) or a posterior file (`--posterior`, precompute's exact 1X2 maths, numpy).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from matchodds.core.posterior import decode_posterior
from matchodds.core.pricing import OddsSource, Pair, Priced, price_fixtures
from matchodds.core.results import ResultsError, read_fixtures_file

logger = logging.getLogger(__name__)
BULK_LIMIT = 100  # the API's most fixtures per POST /odds


class PricingError(RuntimeError):
    """The odds could not be had at all (the API unreachable, a broken posterior)."""


def api_source(api_url: str, timeout: float = 30.0) -> OddsSource:
    """Odds from a running query API, 100 fixtures per request."""

    def fetch(competition: str, pairs: list[Pair]) -> dict[Pair, Priced]:
        priced: dict[Pair, Priced] = {}
        for start in range(0, len(pairs), BULK_LIMIT):
            chunk = pairs[start : start + BULK_LIMIT]
            body = json.dumps([{"home": home, "away": away} for home, away in chunk]).encode()
            request = urllib.request.Request(
                f"{api_url.rstrip('/')}/odds?competition={competition}",
                data=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    reply = json.loads(response.read())
            except urllib.error.HTTPError as error:
                message = json.loads(error.read() or b"{}").get("message", f"HTTP {error.code}")
                if error.code != 503:
                    raise PricingError(f"{api_url}: {message}") from error
                priced.update(dict.fromkeys(chunk, Priced(None, note=message)))  # nothing published there yet
                continue
            except (urllib.error.URLError, TimeoutError) as error:
                raise PricingError(f"cannot reach the API at {api_url}: {error}") from error
            version = reply["model"]["version"]
            for pair, entry in zip(chunk, reply["fixtures"], strict=True):
                if "error" in entry:
                    priced[pair] = Priced(None, note=entry["message"])
                else:
                    p = entry["probabilities"]
                    priced[pair] = Priced((p["home"], p["draw"], p["away"]), version)
        return priced

    return fetch


def posterior_source(path: Path) -> OddsSource:
    """Odds computed from a posterior file with precompute's exact 1X2 maths (numpy)."""
    from matchodds.core.grid import PredictionDraws, all_fixtures

    try:
        posterior = decode_posterior(path.read_bytes())
    except OSError as error:
        raise PricingError(f"cannot read {path}: {error.strerror}") from error
    codes = posterior.team_codes
    table = {
        (codes[fixture.home], codes[fixture.away]): (fixture.p_home, fixture.p_draw, fixture.p_away)
        for fixture in all_fixtures(PredictionDraws.from_posterior(posterior))
    }

    def compute(competition: str, pairs: list[Pair]) -> dict[Pair, Priced]:
        if competition != posterior.competition:
            note = f"{path.name} is a posterior of {posterior.competition}, not {competition}"
            return dict.fromkeys(pairs, Priced(None, note=note))
        priced = {}
        for pair in pairs:
            unknown = [code for code in pair if code not in codes]
            if unknown:
                priced[pair] = Priced(None, note=f"unknown team {', '.join(unknown)} in competition {competition}")
            else:
                priced[pair] = Priced(table[pair], posterior.version)
        return priced

    return compute


def run(args: argparse.Namespace) -> int:
    """The `matchodds price` command: 0 when written, 1 when no odds could be had, 2 for an unreadable file."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        fixtures = read_fixtures_file(args.fixtures)
        source = api_source(args.api) if args.api else posterior_source(args.posterior)
        text = price_fixtures(fixtures, source, args.competition.upper() if args.competition else None)
    except ResultsError as error:
        print(f"matchodds price: {error}", file=sys.stderr)
        return 2
    except PricingError as error:
        print(f"matchodds price: {error}", file=sys.stderr)
        return 1
    if args.out:
        args.out.write_text(text, encoding="utf-8", newline="")
        logger.info("wrote %d fixtures to %s", len(fixtures.fixtures), args.out)
    else:
        sys.stdout.write(text)
    return 0
