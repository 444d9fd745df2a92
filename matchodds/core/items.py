"""The DynamoDB items: one pointer per competition, one odds item per ordered pairing per version, and one
season table item per version whose posterior records its season, and one item per uploaded fixture with
its bookmakers' prices."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from matchodds.core.keys import ContractError
from matchodds.core.markets import MARKET_KEYS, MARKETS_FIELD, STORED_DIGITS
from matchodds.core.results import Fixture, FixturesFile

# --- DynamoDB items --------------------------------------------------------------------------------
# One table, keys pk/sk. A pointer item per competition names the current version and carries the
# team list; one odds item per ordered pairing per version. Old versions expire through TTL on
# EXPIRES_ATTRIBUTE once a newer version is current.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
EXPIRES_ATTRIBUTE = "expires_at"
POINTER_SORT_KEY = "CURRENT"
PRECOMPUTE_MAX_RECEIVES = 3  # deliveries of one S3 event before SQS moves it to the dead-letter queue
RETIRED_VERSION_GRACE_SECONDS = 24 * 3600  # readers may hold a cached pointer a little while
UNPUBLISHED_VERSION_TTL_SECONDS = 400 * 24 * 3600  # backstop for a version that never went live
ODDS_FIELDS = (
    "p_home",
    "p_draw",
    "p_away",
    "odds_home",
    "odds_draw",
    "odds_away",
    "xg_home",
    "xg_away",
    "likely_score",
    "likely_score_p",
)
# The season table with its projection (matchodds.core.projection), one item in the version's partition
# beside its odds (so it expires with them), its sort key never a pairing's HOME#AWAY. The document is one
# JSON string: about 11 KB for 20 teams (DynamoDB allows 400 KB), numbers exact (the seed has 14 digits),
# and read with one json.loads rather than a map of some 500 numbers. The pointer's TABLE_FIELD says whether
# the version has one.
TABLE_SORT_KEY = "TABLE"
TABLE_ATTRIBUTE = "table"
TABLE_FIELD = "table"
# Uploaded fixtures stay queryable for a season after their date, then TTL removes them: a partition
# per competition never grows past a year or so of rounds.
FIXTURE_TTL_DAYS = 200
# Above every character of a team code: `<day>#~` closes a sort-key range on that whole day.
_DAY_END = "#~"


def pointer_key(competition: str) -> dict[str, str]:
    return {PARTITION_KEY: f"COMP#{competition}", SORT_KEY: POINTER_SORT_KEY}


def odds_partition(competition: str, version: str) -> str:
    return f"ODDS#{competition}#{version}"


def odds_key(competition: str, version: str, home: str, away: str) -> dict[str, str]:
    return {PARTITION_KEY: odds_partition(competition, version), SORT_KEY: f"{home}#{away}"}


def odds_item(competition: str, version: str, home: str, away: str, odds: dict[str, Any]) -> dict[str, Any]:
    """The stored item of one ordered pairing; `odds` holds ODDS_FIELDS (and MARKETS_FIELD) as plain numbers."""
    missing = [name for name in ODDS_FIELDS if name not in odds]
    markets = odds.get(MARKETS_FIELD)
    if markets is not None:
        missing += [f"{MARKETS_FIELD}.{key}" for key in MARKET_KEYS if key not in markets]
    if missing:
        raise ContractError(f"odds for {home} v {away} lack {missing}")
    item: dict[str, Any] = {**odds_key(competition, version, home, away), "home": home, "away": away}
    for name in ODDS_FIELDS:
        value = odds[name]
        item[name] = value if isinstance(value, str) else to_dynamo_number(value)
    if markets is not None:
        item[MARKETS_FIELD] = _to_dynamo_tree({key: markets[key] for key in MARKET_KEYS})
    return item


def table_key(competition: str, version: str) -> dict[str, str]:
    return {PARTITION_KEY: odds_partition(competition, version), SORT_KEY: TABLE_SORT_KEY}


def table_item(competition: str, version: str, document: dict[str, Any]) -> dict[str, Any]:
    """The stored item of a version's season table: the served document (less competition and model) as JSON."""
    return {**table_key(competition, version), TABLE_ATTRIBUTE: json.dumps(document, separators=(",", ":"))}


def table_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The season table document of a stored table item."""
    document: dict[str, Any] = json.loads(item[TABLE_ATTRIBUTE])
    return document


def is_odds_item(item: dict[str, Any]) -> bool:
    """Whether an item of a version's partition is a pairing's odds (not its season table)."""
    return bool(item[SORT_KEY] != TABLE_SORT_KEY)


def odds_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The served fields of a stored odds item, numbers as floats; `markets` is None on an older item."""
    odds = {name: from_dynamo(item[name]) for name in ("home", "away", *ODDS_FIELDS)}
    odds[MARKETS_FIELD] = from_dynamo(item[MARKETS_FIELD]) if MARKETS_FIELD in item else None
    return odds


def to_dynamo_number(value: float, places: int = 6) -> Decimal:
    """Round a float for storage; DynamoDB numbers are decimals, never binary floats."""
    return Decimal(str(round(float(value), places)))


def _to_dynamo_tree(value: Any) -> Any:
    """Maps, lists and numbers for DynamoDB, numbers to STORED_DIGITS significant digits."""
    if isinstance(value, dict):
        return {str(key): _to_dynamo_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo_tree(item) for item in value]
    if isinstance(value, str):
        return value
    return Decimal(f"{float(value):.{STORED_DIGITS}g}")


def from_dynamo(value: Any) -> Any:
    """Turn boto3's Decimals back into ints and floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, dict):
        return {key: from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_dynamo(item) for item in value]
    return value


# --- Fixtures ----------------------------------------------------------------------------------------
# One partition per competition, sorted by date then teams, so a date range is one Query and the same
# fixture uploaded again (same day, same teams) overwrites its item.
def fixtures_partition(competition: str) -> str:
    return f"FIXTURES#{competition}"


def fixture_sort_key(day: date, home: str, away: str) -> str:
    return f"{day.isoformat()}#{home}#{away}"


def fixture_key(competition: str, day: date, home: str, away: str) -> dict[str, str]:
    return {PARTITION_KEY: fixtures_partition(competition), SORT_KEY: fixture_sort_key(day, home, away)}


def fixture_range(first: date, last: date) -> tuple[str, str]:
    """The sort keys that bound the fixtures from `first` to `last`, both days included (for BETWEEN)."""
    return first.isoformat(), last.isoformat() + _DAY_END


def fixture_item(competition: str, fixture: Fixture, price_columns: Sequence[str], source: str) -> dict[str, Any]:
    """The stored item of one dated fixture: its teams, kick-off if the file gives one, and the prices it has
    in `price_columns` (football-data's, e.g. B365H); it expires FIXTURE_TTL_DAYS after its day."""
    if fixture.date is None:
        raise ContractError(f"{fixture.home} v {fixture.away} has no date: only dated fixtures are stored")
    expires = datetime.combine(fixture.date + timedelta(days=FIXTURE_TTL_DAYS), time(), UTC)
    item: dict[str, Any] = {
        **fixture_key(competition, fixture.date, fixture.home, fixture.away),
        "home": fixture.home,
        "away": fixture.away,
        "date": fixture.date.isoformat(),
        "source": source,
        "prices": {
            column: to_dynamo_number(fixture.numbers[column], 4)
            for column in price_columns
            if column in fixture.numbers
        },
        EXPIRES_ATTRIBUTE: int(expires.timestamp()),
    }
    if fixture.kickoff:
        item["kickoff"] = fixture.kickoff
    return item


def fixtures_from_items(competition: str, items: Iterable[dict[str, Any]]) -> FixturesFile:
    """Stored fixture items (as read, in sort-key order) as a fixtures file, so the one pricing code prices
    them: football-data's identity columns (dates as YYYY-MM-DD, teams as codes), then every price column
    any item holds, in the order first seen."""
    stored = [from_dynamo(item) for item in items]
    columns = list(dict.fromkeys(column for item in stored for column in item["prices"]))
    fixtures = []
    for item in stored:
        prices = {column: float(value) for column, value in item["prices"].items()}
        identity = (competition, item["date"], item.get("kickoff", ""), item["home"], item["away"])
        cells = (*identity, *(_cell(prices.get(column)) for column in columns))
        day = date.fromisoformat(item["date"])
        fixtures.append(Fixture(competition, day, item["home"], item["away"], prices, cells, item.get("kickoff", "")))
    return FixturesFile(
        fixtures_partition(competition), ("Div", "Date", "Time", "HomeTeam", "AwayTeam", *columns), fixtures
    )


def _cell(price: float | None) -> str:
    return "" if price is None else f"{price:g}"
