"""Fixtures in, priced fixtures out: our odds beside each row and each bookmaker's edge, as CSV or JSON.

The one pricing code for `matchodds price` (odds from the API or a posterior file) and the pricing
Lambda (odds from the stored items). It takes an OddsSource, so it needs neither numpy nor an AWS
SDK. For every fixture it adds our P(home), P(draw), P(away), their fair prices, over/under 2.5 and
both-teams-to-score from the stored markets map, and for each bookmaker whose price columns the file
has (B365H/B365D/B365A, ..., and B365>2.5/B365<2.5, ...) the edge of each price against our
probability: price x probability - 1 (positive: the bookmaker's price is longer than ours). A row
that cannot be priced keeps its place with the reason in the note column: nothing is dropped.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from matchodds.core.documents import complement, fair_price
from matchodds.core.markets import MARKETS_FIELD, goals_label
from matchodds.core.results import Fixture, FixturesFile

logger = logging.getLogger(__name__)
OUTCOME_SUFFIXES = ("H", "D", "A")
OUTCOMES = ("home", "draw", "away")
OUR_COLUMNS = ("mo_version", "mo_p_home", "mo_p_draw", "mo_p_away", "mo_fair_home", "mo_fair_draw", "mo_fair_away")
# The goals line football-data's files quote (B365>2.5, B365<2.5); the stored markets have others too.
GOALS_LINE = 2.5
MARKET_COLUMNS = (
    "mo_p_over_2_5",
    "mo_fair_over_2_5",
    "mo_fair_under_2_5",
    "mo_p_btts",
    "mo_fair_btts_yes",
    "mo_fair_btts_no",
)
GOALS_SUFFIXES = (f">{GOALS_LINE}", f"<{GOALS_LINE}")
GOALS_SIDES = ("over_2_5", "under_2_5")
NOTE_COLUMN = "mo_note"
# football-data's column prefixes (its notes.txt): the bookmaker, or the market's best and average price.
# Pinnacle's 1X2 columns are PSH/PSD/PSA, its over/under ones P>2.5/P<2.5.
BOOKMAKER_NAMES = {
    "B365": "Bet365",
    "BF": "Betfair",
    "BFE": "Betfair Exchange",
    "BS": "Blue Square",
    "BW": "Bet&Win",
    "GB": "Gamebookers",
    "IW": "Interwetten",
    "LB": "Ladbrokes",
    "P": "Pinnacle",
    "PS": "Pinnacle",
    "SB": "Sportingbet",
    "SJ": "Stan James",
    "SO": "Sporting Odds",
    "SY": "Stanleybet",
    "VC": "VC Bet",
    "WH": "William Hill",
    "1XB": "1xBet",
    "Max": "market maximum",
    "Avg": "market average",
}

Pair = tuple[str, str]


@dataclass(frozen=True)
class Priced:
    """Our odds of one fixture (1X2 and, when stored, the markets map), or why there are none."""

    probabilities: tuple[float, float, float] | None
    version: str | None = None
    note: str | None = None
    markets: Mapping[str, Any] | None = None


# competition and pairs in, a Priced per pair out
OddsSource = Callable[[str, list[Pair]], dict[Pair, Priced]]


@dataclass(frozen=True)
class PricedFixture:
    """One row of a fixtures file with our odds, the goals markets and each bookmaker's edges."""

    fixture: Fixture
    priced: Priced
    over: float | None  # P(total goals > GOALS_LINE)
    btts: float | None
    edges: dict[str, dict[str, float | None]]  # bookmaker -> outcome or goals side -> edge


@dataclass(frozen=True)
class PricedFile:
    """A fixtures file priced: its header, the bookmakers found in it, and one PricedFixture per row."""

    fixtures: FixturesFile
    books: list[str]
    goals_books: list[str]
    rows: list[PricedFixture]

    @property
    def unpriced(self) -> int:
        return sum(row.priced.probabilities is None for row in self.rows)


def bookmakers(header: Iterable[str]) -> list[str]:
    """The prefixes with a full set of 1X2 price columns (B365 for B365H, B365D, B365A), in file order."""
    return _prefixes(header, OUTCOME_SUFFIXES)


def goals_bookmakers(header: Iterable[str]) -> list[str]:
    """The prefixes with both over/under 2.5 price columns (B365 for B365>2.5, B365<2.5), in file order."""
    return _prefixes(header, GOALS_SUFFIXES)


def price_columns(header: Iterable[str]) -> list[str]:
    """The price columns the pricing reads from a file with this header: each bookmaker's 1X2, then over/under 2.5."""
    columns = list(header)
    outcomes = [book + suffix for book in bookmakers(columns) for suffix in OUTCOME_SUFFIXES]
    return outcomes + [book + suffix for book in goals_bookmakers(columns) for suffix in GOALS_SUFFIXES]


def _prefixes(header: Iterable[str], suffixes: tuple[str, ...]) -> list[str]:
    columns = list(header)
    present = set(columns)
    found = []
    for column in columns:
        prefix = column[: -len(suffixes[0])]
        if column.endswith(suffixes[0]) and prefix and all(prefix + suffix in present for suffix in suffixes):
            found.append(prefix)
    return found


def edge(price: float, probability: float) -> float:
    """A bookmaker's edge against us: price x our probability - 1 (positive: their price is longer than ours)."""
    return price * probability - 1


def not_published_source(message: str) -> OddsSource:
    """A source for a competition with no odds yet: every fixture says so in its note."""
    return lambda competition, pairs: dict.fromkeys(pairs, Priced(None, note=message))


def stored_source(version: str, teams: Iterable[str], odds: Mapping[Pair, Mapping[str, Any]]) -> OddsSource:
    """A source from stored odds items (as odds_from_item returns them) of one version and its team codes."""
    known = set(teams)

    def lookup(competition: str, pairs: list[Pair]) -> dict[Pair, Priced]:
        priced: dict[Pair, Priced] = {}
        for pair in pairs:
            unknown = [code for code in dict.fromkeys(pair) if code not in known]
            entry = odds.get(pair)
            if unknown:
                names = ", ".join(unknown)
                note = f"unknown team{'s' if len(unknown) > 1 else ''} {names} in competition {competition}"
                priced[pair] = Priced(None, note=note)
            elif entry is None:
                priced[pair] = Priced(None, note=f"no odds stored for {pair[0]} v {pair[1]} in version {version}")
            else:
                probabilities = (float(entry["p_home"]), float(entry["p_draw"]), float(entry["p_away"]))
                priced[pair] = Priced(probabilities, version, markets=entry.get(MARKETS_FIELD))
        return priced

    return lookup


def price_file(fixtures: FixturesFile, source: OddsSource, competition: str | None = None) -> PricedFile:
    """Every row of a fixtures file with our odds; with `competition`, rows of other divisions stay unpriced."""
    by_competition: dict[str, list[Pair]] = {}
    for fixture in fixtures.fixtures:
        if competition is None or fixture.competition == competition:
            by_competition.setdefault(fixture.competition, []).append((fixture.home, fixture.away))
    answers: dict[tuple[str, Pair], Priced] = {}
    for division, pairs in by_competition.items():
        for pair, answer in source(division, list(dict.fromkeys(pairs))).items():
            answers[(division, pair)] = answer
    books, goals_books = bookmakers(fixtures.header), goals_bookmakers(fixtures.header)
    rows = []
    for fixture in fixtures.fixtures:
        entry = answers.get((fixture.competition, (fixture.home, fixture.away)))
        if entry is None:
            entry = Priced(None, note=f"not priced: only {competition} was asked for")
        rows.append(_priced_fixture(fixture, entry, books, goals_books))
    priced = PricedFile(fixtures, books, goals_books, rows)
    if priced.unpriced:
        logger.warning(
            "%d of %d fixtures could not be priced; see the %s column", priced.unpriced, len(rows), NOTE_COLUMN
        )
    return priced


def _priced_fixture(fixture: Fixture, entry: Priced, books: list[str], goals_books: list[str]) -> PricedFixture:
    if entry.probabilities is None:
        return PricedFixture(fixture, entry, None, None, {})
    markets = entry.markets
    over = float(markets["over"][goals_label(GOALS_LINE)]) if markets else None
    btts = float(markets["btts"]) if markets else None
    edges: dict[str, dict[str, float | None]] = {}
    for book in books:
        prices = fixture.prices(*(book + suffix for suffix in OUTCOME_SUFFIXES))
        edges[book] = (
            dict.fromkeys(OUTCOMES)
            if prices is None
            else {
                outcome: edge(price, p) for outcome, price, p in zip(OUTCOMES, prices, entry.probabilities, strict=True)
            }
        )
    for book in goals_books:
        goals_prices = [fixture.numbers.get(book + suffix) for suffix in GOALS_SUFFIXES]
        sides = (over, None if over is None else complement(over))
        edges.setdefault(book, {}).update(
            {
                side: edge(price, p) if price is not None and price > 1.0 and p is not None else None
                for side, price, p in zip(GOALS_SIDES, goals_prices, sides, strict=True)
            }
        )
    return PricedFixture(fixture, entry, over, btts, edges)


def _number(value: float | None, places: int, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.{places}f}" if signed else f"{value:.{places}f}"


def edge_columns(priced: PricedFile) -> list[str]:
    """The edge columns of a priced file: 1X2 per bookmaker, then over/under 2.5 per bookmaker."""
    columns = [f"mo_edge_{book}{suffix}" for book in priced.books for suffix in OUTCOME_SUFFIXES]
    return columns + [f"mo_edge_{book}_{side}" for book in priced.goals_books for side in GOALS_SIDES]


def priced_csv(priced: PricedFile) -> str:
    """The fixtures file as CSV text: its own columns unchanged, then ours, the edges and the note."""
    header = priced.fixtures.header
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*header, *OUR_COLUMNS, *MARKET_COLUMNS, *edge_columns(priced), NOTE_COLUMN])
    for row in priced.rows:
        cells = list(row.fixture.cells) + [""] * (len(header) - len(row.fixture.cells))
        writer.writerow([*cells[: len(header)], *_our_cells(row, priced)])
    return buffer.getvalue()


def _our_cells(row: PricedFixture, priced: PricedFile) -> list[str]:
    entry = row.priced
    if entry.probabilities is None:
        return [""] * (len(OUR_COLUMNS) + len(MARKET_COLUMNS) + len(edge_columns(priced))) + [entry.note or ""]
    cells = [entry.version or "", *(_number(p, 4) for p in entry.probabilities)]
    cells += [_number(fair_price(p), 2) for p in entry.probabilities]
    under = None if row.over is None else complement(row.over)
    no_btts = None if row.btts is None else complement(row.btts)
    cells += [_number(row.over, 4), _fair(row.over), _fair(under)]
    cells += [_number(row.btts, 4), _fair(row.btts), _fair(no_btts)]
    for book in priced.books:
        cells += [_number(row.edges[book][outcome], 4, signed=True) for outcome in OUTCOMES]
    for book in priced.goals_books:
        cells += [_number(row.edges[book][side], 4, signed=True) for side in GOALS_SIDES]
    return [*cells, entry.note or ""]


def _fair(probability: float | None) -> str:
    return "" if probability is None else _number(fair_price(probability), 2)


def price_fixtures(fixtures: FixturesFile, source: OddsSource, competition: str | None = None) -> str:
    """The fixtures file as CSV text with our columns and each bookmaker's edges appended."""
    return priced_csv(price_file(fixtures, source, competition))


def priced_document(priced: PricedFile) -> dict[str, Any]:
    """The priced file as a JSON document: one entry per row, in file order, with the note when unpriced."""
    return {"source": priced.fixtures.source, "fixtures": [_fixture_document(row) for row in priced.rows]}


def _fixture_document(row: PricedFixture) -> dict[str, Any]:
    fixture, entry = row.fixture, row.priced
    document: dict[str, Any] = {
        "competition": fixture.competition,
        "date": fixture.date.isoformat() if fixture.date else None,
        "home": fixture.home,
        "away": fixture.away,
    }
    if entry.probabilities is None:
        return {**document, "version": None, "note": entry.note}
    document["version"] = entry.version
    document["probabilities"] = dict(zip(OUTCOMES, entry.probabilities, strict=True))
    document["fair_odds"] = {outcome: fair_price(p) for outcome, p in zip(OUTCOMES, entry.probabilities, strict=True)}
    if row.over is not None and row.btts is not None:
        document["markets"] = {
            "over_2_5": _priced(row.over),
            "under_2_5": _priced(complement(row.over)),
            "btts_yes": _priced(row.btts),
            "btts_no": _priced(complement(row.btts)),
        }
    else:
        document["markets"] = None  # an item stored before markets existed
    document["edges"] = row.edges
    document["note"] = entry.note
    return document


def _priced(probability: float) -> dict[str, float | None]:
    return {"probability": probability, "fair_odds": fair_price(probability)}
