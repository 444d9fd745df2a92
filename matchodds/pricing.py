"""`matchodds price`: a football-data fixtures file written back with our odds and each bookmaker's edge.

For every fixture it adds our P(home), P(draw), P(away), their fair prices, and for each bookmaker
whose 1X2 columns the file has (B365H/B365D/B365A, PSH/..., AvgH/..., MaxH/...), the edge of each
price against our probability: price x probability - 1 (positive: the bookmaker's price is longer
than ours). The odds come from a running API (`--api`, one POST /odds per 100 fixtures) or straight
from a posterior file (`--posterior`, the same exact maths as precompute).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from matchodds.core.documents import fair_price
from matchodds.core.posterior import decode_posterior
from matchodds.core.results import Fixture, FixturesFile, ResultsError, read_fixtures_file

logger = logging.getLogger(__name__)
OUTCOME_SUFFIXES = ("H", "D", "A")
OUR_COLUMNS = ("mo_version", "mo_p_home", "mo_p_draw", "mo_p_away", "mo_fair_home", "mo_fair_draw", "mo_fair_away")
NOTE_COLUMN = "mo_note"
BULK_LIMIT = 100  # the API's most fixtures per POST /odds


class PricingError(RuntimeError):
    """The odds could not be had at all (the API unreachable, a broken posterior)."""


@dataclass(frozen=True)
class Priced:
    """Our 1X2 probabilities of one fixture, or why there are none."""

    probabilities: tuple[float, float, float] | None
    version: str | None = None
    note: str | None = None


Pair = tuple[str, str]
# competition and pairs in, a Priced per pair out
OddsSource = Callable[[str, list[Pair]], dict[Pair, Priced]]


def bookmakers(header: Iterable[str]) -> list[str]:
    """The prefixes with a full set of 1X2 price columns (B365 for B365H, B365D, B365A), in file order."""
    columns = list(header)
    present = set(columns)
    found = []
    for column in columns:
        prefix = column[:-1]
        if column.endswith("H") and prefix and all(prefix + suffix in present for suffix in OUTCOME_SUFFIXES):
            found.append(prefix)
    return found


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


def price_fixtures(fixtures: FixturesFile, source: OddsSource, competition: str | None = None) -> str:
    """The fixtures file as CSV text with our columns and each bookmaker's edges appended.

    Each row is priced in its own Div; with `competition`, rows of other divisions are copied unpriced.
    """
    books = bookmakers(fixtures.header)
    edge_columns = [f"mo_edge_{book}{suffix}" for book in books for suffix in OUTCOME_SUFFIXES]
    by_competition: dict[str, list[Pair]] = {}
    for fixture in fixtures.fixtures:
        if competition is None or fixture.competition == competition:
            by_competition.setdefault(fixture.competition, []).append((fixture.home, fixture.away))
    priced: dict[tuple[str, Pair], Priced] = {}
    for division, pairs in by_competition.items():
        for pair, answer in source(division, list(dict.fromkeys(pairs))).items():
            priced[(division, pair)] = answer
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*fixtures.header, *OUR_COLUMNS, *edge_columns, NOTE_COLUMN])
    unpriced = 0
    for fixture in fixtures.fixtures:
        cells = list(fixture.cells) + [""] * (len(fixtures.header) - len(fixture.cells))
        entry = priced.get((fixture.competition, (fixture.home, fixture.away)))
        if entry is None:
            entry = Priced(None, note=f"not priced: only {competition} was asked for")
        writer.writerow([*cells[: len(fixtures.header)], *_our_cells(fixture, entry, books)])
        unpriced += entry.probabilities is None
    if unpriced:
        logger.warning(
            "%d of %d fixtures could not be priced; see the %s column", unpriced, len(fixtures.fixtures), NOTE_COLUMN
        )
    return buffer.getvalue()


def _our_cells(fixture: Fixture, entry: Priced, books: list[str]) -> list[str]:
    if entry.probabilities is None:
        return [""] * (len(OUR_COLUMNS) + 3 * len(books)) + [entry.note or ""]
    fair = [fair_price(p) for p in entry.probabilities]
    cells = [entry.version or "", *(f"{p:.4f}" for p in entry.probabilities), *(f"{d:.2f}" if d else "" for d in fair)]
    for book in books:
        prices = fixture.prices(*(book + suffix for suffix in OUTCOME_SUFFIXES))
        if prices is None:
            cells += [""] * 3
        else:
            cells += [f"{price * p - 1:+.4f}" for price, p in zip(prices, entry.probabilities, strict=True)]
    return [*cells, ""]


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
