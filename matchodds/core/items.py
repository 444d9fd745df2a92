"""The DynamoDB items: one pointer per competition, one odds item per ordered pairing per version, and one
season table item per version whose posterior records its season, and one item per uploaded fixture with
its bookmakers' prices."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from matchodds.core.keys import ContractError
from matchodds.core.markets import MARKET_KEYS, MARKETS_FIELD, STORED_DIGITS
from matchodds.core.results import Fixture, FixturesFile


class ServedNumbers(Protocol):
    """What odds_fields reads of a computed pairing (matchodds.core.grid.FixtureOdds, which is numpy's: the query
    reads this module without numpy)."""

    @property
    def p_home(self) -> float: ...
    @property
    def p_draw(self) -> float: ...
    @property
    def p_away(self) -> float: ...
    @property
    def xg_home(self) -> float: ...
    @property
    def xg_away(self) -> float: ...
    @property
    def likely_score(self) -> tuple[int, int]: ...
    @property
    def likely_score_p(self) -> float: ...
    @property
    def fair_odds(self) -> tuple[float, float, float]: ...


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
ODDS_PLACES = 6  # decimal places of the stored ODDS_FIELDS
# How an odds item is stored. Layout 1 (no ODDS_SCHEMA_ATTRIBUTE; written until 2026-12): each of ODDS_FIELDS
# an attribute, MARKETS_FIELD a nested map of some 200 numbers, about 1.5 KB as DynamoDB counts it and a few
# milliseconds of parsing in every layer that reads it (botocore, boto3's deserializer, moto). Layout 2: the
# served fields, markets included, as one compact JSON document compressed with zlib in ODDS_ATTRIBUTE
# (binary), about 0.85 KB, decoded by one zlib.decompress and one json.loads. The numbers are the very values
# a reader of layout 1 gets back (ODDS_PLACES decimal places; markets to STORED_DIGITS significant digits), so
# what is served does not depend on the layout. The pairing is the sort key (HOME#AWAY). Readers take both
# layouts (odds_from_item), so a version written before the change stays readable; the writer writes layout 2.
ODDS_SCHEMA_ATTRIBUTE = "schema"
ODDS_SCHEMA = 2
ODDS_ATTRIBUTE = "odds"
# zlib's default: level 9 makes these items no smaller (measured, bench/items.py); level 1 compresses in half
# the time (about 0.03 s for 380 items) but adds about 60 bytes to each, the largest then about 970 of the 1 KB
# that one DynamoDB write unit covers.
ODDS_COMPRESSION_LEVEL = 6
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
# Which upload wrote a fixture (upload_order): a fixture is replaced, or moved to another day, only by an upload
# at least as new, so the latest upload wins whatever order pricing handles them in.
UPLOADED_ATTRIBUTE = "uploaded"
# Our odds of the fixture as pricing priced it: the version, and the served fields (fixture_odds) as JSON. GET
# /fixtures serves these while the version is current, and reads the odds again only for an older one.
PRICED_VERSION_ATTRIBUTE = "version"
PRICED_ODDS_ATTRIBUTE = "odds"
# The goals line of the priced over/under (matchodds.core.pricing.GOALS_LINE), all of the markets a priced
# fixture keeps: the whole map is some 200 numbers that GET /fixtures never serves.
_PRICED_GOALS_LABEL = "2.5"
# Above every character of a team code: `<day>#~` closes a sort-key range on that whole day.
_DAY_END = "#~"


def pointer_key(competition: str) -> dict[str, str]:
    return {PARTITION_KEY: f"COMP#{competition}", SORT_KEY: POINTER_SORT_KEY}


def odds_partition(competition: str, version: str) -> str:
    return f"ODDS#{competition}#{version}"


def odds_key(competition: str, version: str, home: str, away: str) -> dict[str, str]:
    return {PARTITION_KEY: odds_partition(competition, version), SORT_KEY: f"{home}#{away}"}


def odds_item(
    competition: str, version: str, home: str, away: str, odds: dict[str, Any], *, markets_stored: bool = False
) -> dict[str, Any]:
    """The stored item of one ordered pairing (layout ODDS_SCHEMA); `odds` holds ODDS_FIELDS (and MARKETS_FIELD)
    as plain numbers; markets_stored: its markets' numbers are stored already (matchodds.core.rounding), not
    rounded again."""
    missing = [name for name in ODDS_FIELDS if name not in odds]
    markets = odds.get(MARKETS_FIELD)
    if markets is not None:
        missing += [f"{MARKETS_FIELD}.{key}" for key in MARKET_KEYS if key not in markets]
    if missing:
        raise ContractError(f"odds for {home} v {away} lack {missing}")
    served: dict[str, Any] = {
        name: value if isinstance(value, str) else round(float(value), ODDS_PLACES)
        for name, value in ((name, odds[name]) for name in ODDS_FIELDS)
    }
    if markets is not None:
        ordered = {key: markets[key] for key in MARKET_KEYS}
        served[MARKETS_FIELD] = ordered if markets_stored else _stored_tree(ordered)
    try:
        text = json.dumps(served, separators=(",", ":"), allow_nan=False)
    except ValueError as error:
        raise ContractError(f"odds for {home} v {away} hold a number that is not finite: {error}") from None
    return {
        **odds_key(competition, version, home, away),
        ODDS_SCHEMA_ATTRIBUTE: ODDS_SCHEMA,
        ODDS_ATTRIBUTE: zlib.compress(text.encode("ascii"), ODDS_COMPRESSION_LEVEL),
    }


def _stored_tree(value: Any) -> Any:
    """Maps, lists and numbers as a reader of layout 1 gets them back: each number kept to STORED_DIGITS
    significant digits, then an int when those digits are a whole number (0, 1), else a float."""
    if isinstance(value, dict):
        return {str(key): _stored_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_stored_tree(item) for item in value]
    if isinstance(value, str):
        return value
    return stored_number(value)


def stored_number(value: float) -> int | float:
    """One market number as a reader of layout 1 gets it back (see _stored_tree; many at once:
    matchodds.core.rounding)."""
    text = f"{float(value):.{STORED_DIGITS}g}"
    return int(text) if text.lstrip("-").isdigit() else float(text)  # as from_dynamo reads Decimal(text)


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


# Every attribute odds_from_item reads, of either layout: a reader may ask for these alone (a ProjectionExpression)
# and leave out the partition key and the expiry. An attribute that a layout adds must be named here too.
ODDS_READ_ATTRIBUTES = (SORT_KEY, ODDS_SCHEMA_ATTRIBUTE, ODDS_ATTRIBUTE, "home", "away", *ODDS_FIELDS, MARKETS_FIELD)


def odds_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The served fields of a stored odds item of either layout, numbers as floats (an int where a market's
    stored digits are whole); `markets` is None on an item written before markets existed."""
    schema = item.get(ODDS_SCHEMA_ATTRIBUTE, 1)
    if schema == ODDS_SCHEMA:
        home, _, away = item[SORT_KEY].partition("#")
        odds: dict[str, Any] = {"home": home, "away": away, **json.loads(zlib.decompress(bytes(item[ODDS_ATTRIBUTE])))}
        odds.setdefault(MARKETS_FIELD, None)
        return odds
    if schema != 1:
        raise ContractError(
            f"odds item {item.get(PARTITION_KEY)} {item.get(SORT_KEY)} has layout {schema}; this reader knows 1 and "
            f"{ODDS_SCHEMA} (deploy the readers before the writer)"
        )
    odds = {name: from_dynamo(item[name]) for name in ("home", "away", *ODDS_FIELDS)}
    odds[MARKETS_FIELD] = from_dynamo(item[MARKETS_FIELD]) if MARKETS_FIELD in item else None
    return odds


def item_size(item: dict[str, Any]) -> int:
    """The size DynamoDB counts for an item of plain values (str, bytes, numbers, maps, lists), in bytes: what
    its read and write units are charged by (one read unit per 4 KB)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(Decimal(str(value)).normalize().as_tuple().digits)
        return (digits + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(len(str(key).encode("utf-8")) + _value_size(entry) + 1 for key, entry in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(_value_size(entry) + 1 for entry in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def to_dynamo_number(value: float, places: int = 6) -> Decimal:
    """Round a float for storage; DynamoDB numbers are decimals, never binary floats."""
    return Decimal(str(round(float(value), places)))


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


def fixture_season(day: date) -> tuple[date, date]:
    """The first and last day (1 July, 30 June) of the season `day` belongs to, cut to the calendar's ends: no
    date, however far out, makes it overflow."""
    start = day.year if day.month >= 7 else day.year - 1
    first = date(start, 7, 1) if start >= date.min.year else date.min
    last = date(start + 1, 6, 30) if start + 1 <= date.max.year else date.max
    return first, last


def fixture_expiry(day: date) -> int:
    """When TTL removes a fixture item (epoch seconds): FIXTURE_TTL_DAYS after its day, the calendar's last day at
    the latest (a date that near it was refused at parse time; the item must still not overflow)."""
    last = date.max - timedelta(days=FIXTURE_TTL_DAYS)
    expires = day + timedelta(days=FIXTURE_TTL_DAYS) if day <= last else date.max
    return int(datetime.combine(expires, time(), UTC).timestamp())


def upload_order(uploaded: datetime, key: str, sequencer: str = "") -> str:
    """The order of an upload as a string that sorts by it: its time (to the microsecond, UTC), then S3's
    sequencer (which orders the events of one key), then the key, so two uploads never tie."""
    moment = uploaded.astimezone(UTC) if uploaded.tzinfo else uploaded.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S.%f}Z#{sequencer:0>32}#{key}"


def fixture_order_partition(competition: str) -> str:
    """The partition of a competition's order items: under fixtures_partition's prefix, so that the one IAM
    condition on FIXTURES#* that keeps pricing off odds and pointers covers both."""
    return f"{fixtures_partition(competition)}#ORDER"


def fixture_order_key(competition: str, day: date, home: str, away: str) -> dict[str, str]:
    """The key of the item that says which upload last placed a fixture of a season (and on which day): a match
    is one pairing of a season, whichever day it moves to."""
    first, _ = fixture_season(day)
    return {PARTITION_KEY: fixture_order_partition(competition), SORT_KEY: f"{first.isoformat()}#{home}#{away}"}


def fixture_order_item(competition: str, item: dict[str, Any]) -> dict[str, Any]:
    """The order item of a stored fixture item (fixture_item): its upload, its day, and its expiry."""
    day = date.fromisoformat(item["date"])
    return {
        **fixture_order_key(competition, day, item["home"], item["away"]),
        "date": item["date"],
        UPLOADED_ATTRIBUTE: item[UPLOADED_ATTRIBUTE],
        EXPIRES_ATTRIBUTE: item[EXPIRES_ATTRIBUTE],
    }


def fixture_odds(odds: dict[str, Any]) -> dict[str, Any]:
    """What a priced fixture keeps of a pairing's odds (as odds_from_item gives them): ODDS_FIELDS, and of the
    markets the over/under 2.5 and both-teams-to-score that pricing reads; None markets stay None."""
    kept: dict[str, Any] = {name: odds[name] for name in ODDS_FIELDS}
    markets = odds.get(MARKETS_FIELD)
    kept[MARKETS_FIELD] = (
        None
        if markets is None
        else {"over": {_PRICED_GOALS_LABEL: markets["over"][_PRICED_GOALS_LABEL]}, "btts": markets["btts"]}
    )
    return kept


def fixture_item(
    competition: str,
    fixture: Fixture,
    price_columns: Sequence[str],
    source: str,
    *,
    uploaded: str = "",
    version: str | None = None,
    odds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored item of one dated fixture: its teams, kick-off if the file gives one, and the prices it has
    in `price_columns` (football-data's, e.g. B365H); `uploaded` orders it (upload_order), and `odds` (of
    `version`) are our odds of it as priced; it expires FIXTURE_TTL_DAYS after its day."""
    if fixture.date is None:
        raise ContractError(f"{fixture.home} v {fixture.away} has no date: only dated fixtures are stored")
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
        UPLOADED_ATTRIBUTE: uploaded,
        EXPIRES_ATTRIBUTE: fixture_expiry(fixture.date),
    }
    if fixture.kickoff:
        item["kickoff"] = fixture.kickoff
    if version is not None and odds is not None:
        item[PRICED_VERSION_ATTRIBUTE] = version
        item[PRICED_ODDS_ATTRIBUTE] = json.dumps(fixture_odds(odds), separators=(",", ":"), allow_nan=False)
    return item


def priced_odds(item: dict[str, Any], version: str) -> dict[str, Any] | None:
    """Our odds of a stored fixture item as pricing priced them (the fields odds_from_item gives, markets kept by
    fixture_odds), when priced under `version`; None for another version or a fixture priced without odds."""
    if item.get(PRICED_VERSION_ATTRIBUTE) != version or PRICED_ODDS_ATTRIBUTE not in item:
        return None
    odds: dict[str, Any] = {"home": item["home"], "away": item["away"], **json.loads(item[PRICED_ODDS_ATTRIBUTE])}
    return odds


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


def odds_fields(fixture: ServedNumbers) -> dict[str, Any]:
    """The served 1X2 numbers of one pairing (ODDS_FIELDS), in the contract's field names."""
    odds_home, odds_draw, odds_away = fixture.fair_odds
    return {
        "p_home": fixture.p_home,
        "p_draw": fixture.p_draw,
        "p_away": fixture.p_away,
        "odds_home": odds_home,
        "odds_draw": odds_draw,
        "odds_away": odds_away,
        "xg_home": fixture.xg_home,
        "xg_away": fixture.xg_away,
        "likely_score": f"{fixture.likely_score[0]}-{fixture.likely_score[1]}",
        "likely_score_p": fixture.likely_score_p,
    }
