"""What the API accepts and answers, apart from routing: its bounds, the parsing of codes and bulk
bodies, the documents of one fixture and of one served competition. Shared by the routes (app.py)
and the OpenAPI document (openapi.py), so that neither imports the other."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from matchodds.core.documents import complement, fixture_document, priced
from matchodds.core.keys import TEAM_CODE_RE, competition_name
from matchodds.core.pricing import (
    BOOKMAKER_NAMES,
    GOALS_SIDES,
    GOALS_SUFFIXES,
    OUTCOME_SUFFIXES,
    OUTCOMES,
    PricedFile,
    PricedFixture,
)

STATIC = Path(__file__).with_name("static")
MAX_BULK_FIXTURES = 100
EXAMPLE_FIXTURE = '{"home": "ARS", "away": "MCI"}'
# Bounds checked before routing, so no oversized input reaches a parser or a key expression. The
# longest real path is /odds/XXX/YYY or /openapi.json, the longest real query a competition and a
# format; a full bulk body of 100 fixtures is about 3 KB.
MAX_PATH_LENGTH = 128
MAX_QUERY_LENGTH = 256
MAX_BODY_BYTES = 16 * 1024
# A served competition with nothing published waits for its first weekly fit, and precompute publishes
# within a minute of it: an hour between retries misses little, and keeps a polling client (or a
# monitor that counts every 503 as a fault) from hammering the table meanwhile.
NOT_READY_RETRY_AFTER_SECONDS = 3600
# Far below Python's int() limit (sys.get_int_max_str_digits(), 4300 by default): a longer integer
# in a body would make json.loads raise a plain ValueError.
MAX_JSON_INTEGER_DIGITS = 100
# GET /fixtures without `to`: the next round, taken as the fixtures of the four days from the first one
# uploaded on or after `from` (a Friday-to-Monday weekend round, or a Tuesday-to-Thursday midweek one).
ROUND_DAYS = 4
# GET /fixtures answers a bounded page whatever was uploaded: a range of at most two months (a season's rounds
# are asked for a weekend or a month at a time), and at most MAX_FIXTURES_PAGE fixtures per reply, the rest a
# `next` link away. A page of 100 is one Query and at most one BatchGetItem, some 200 KB of JSON: far below
# Lambda's 6 MB and 10 s whatever the range holds.
MAX_FIXTURE_RANGE_DAYS = 62
MAX_FIXTURES_PAGE = 100
# The days a date parameter may name: the parser refuses fixtures before 1990 or more than two years ahead, so
# nothing is stored outside these; and no arithmetic on a date between them (a round's days) can overflow.
FIRST_QUERY_DATE = date(1990, 1, 1)
LAST_QUERY_DATE = date(2099, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_LIMIT = re.compile(r"[0-9]{1,3}\Z")
# A cursor is the sort key of the last fixture served (YYYY-MM-DD#HOME#AWAY), base64url without padding.
MAX_CURSOR_LENGTH = 96
_SORT_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}#[A-Za-z0-9]{1,16}#[A-Za-z0-9]{1,16}\Z")


class BadRequest(ValueError):
    """The request itself is wrong: a malformed code, competition or body, the same team twice."""


class TooLarge(ValueError):
    """A path, query string or body longer than the API ever needs."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def oversized(path: str, query: str, body_bytes: int) -> TooLarge | None:
    """The refusal of a request whose path, query string or body is longer than the API ever needs, if any."""
    if len(path) > MAX_PATH_LENGTH:
        return TooLarge(414, f"the path has {len(path)} characters; at most {MAX_PATH_LENGTH} are accepted")
    if len(query) > MAX_QUERY_LENGTH:
        return TooLarge(414, f"the query string has {len(query)} characters; at most {MAX_QUERY_LENGTH} are accepted")
    if body_bytes > MAX_BODY_BYTES:
        return TooLarge(413, f"the body has about {body_bytes} bytes; at most {MAX_BODY_BYTES} are accepted")
    return None


def ascii_code(text: str, pattern: re.Pattern[str]) -> str | None:
    """`text` upper-cased when it is an ASCII code that `pattern` matches whole, else None."""
    # ASCII first: str.upper() maps the dotless "ıps" to IPS and "ß" to SS, which no client typed.
    if not text.isascii():
        return None
    code = text.upper()
    return code if pattern.fullmatch(code) else None


def team_code(text: str, where: str = "team") -> str:
    code = ascii_code(text, TEAM_CODE_RE)
    if code is None:
        raise BadRequest(f"{where} {text[:20]!r} is not a three-letter team code such as ARS")
    return code


def team_pair(home: str, away: str, where: str | None = None) -> tuple[str, str]:
    """Two valid, different codes; `where` names the fixture in a bulk body (e.g. fixtures[3])."""
    home_code = team_code(home, f"{where}.home" if where else "team")
    away_code = team_code(away, f"{where}.away" if where else "team")
    if home_code == away_code:
        raise BadRequest(f"{where + ': ' if where else ''}a team cannot play itself: {home_code} v {away_code}")
    return home_code, away_code


def fixture_list(body: str | None) -> list[tuple[str, str]]:
    """The (home, away) codes of a bulk request's body, a JSON list of {"home": ..., "away": ...} objects."""
    if not body:
        raise BadRequest(f"the body must be a JSON list of fixtures such as [{EXAMPLE_FIXTURE}]")
    try:
        fixtures = json.loads(body, parse_int=_json_integer)
    except json.JSONDecodeError as error:
        raise BadRequest(f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise BadRequest("the body nests too deeply to be a list of fixtures") from None
    if not isinstance(fixtures, list):
        raise BadRequest(f"the body must be a JSON list of fixtures, not {_json_kind(fixtures)}")
    if not 1 <= len(fixtures) <= MAX_BULK_FIXTURES:
        raise BadRequest(f"the body must list 1 to {MAX_BULK_FIXTURES} fixtures, not {len(fixtures)}")
    pairs = []
    for position, fixture in enumerate(fixtures):
        where = f"fixtures[{position}]"
        if not isinstance(fixture, dict) or set(fixture) != {"home", "away"}:
            raise BadRequest(f'{where} must be an object with exactly "home" and "away", e.g. {EXAMPLE_FIXTURE}')
        if not all(isinstance(fixture[side], str) for side in ("home", "away")):
            raise BadRequest(f"{where}: home and away must be team codes such as ARS, as strings")
        pairs.append(team_pair(fixture["home"], fixture["away"], where))
    return pairs


def _json_integer(text: str) -> int:
    """An integer of the body; a long one is a BadRequest, well before int() would raise a bare ValueError."""
    # int() refuses more than sys.get_int_max_str_digits() digits with a ValueError that, out of
    # json.loads and uncaught, was a 500. No field of a bulk body is a number, so a long one is wrong.
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_INTEGER_DIGITS:
        raise BadRequest(
            f"the body holds a number of {digits} digits; "
            f"a fixture's home and away are team codes such as ARS, as strings"
        )
    return int(text)


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return kinds.get(type(value), "null")


def json_text(value: Any) -> str:
    """`value` as JSON text, exactly as powertools' resolver serialises a reply's body (compact, ASCII)."""
    return json.dumps(value, separators=(",", ":"))


def fixture_text(odds: dict[str, Any], pointer: dict[str, Any]) -> str:
    """The JSON text of a fixture's served document (fixture_document), in the names of its version's pointer."""
    return json_text(fixture_document(odds, pointer["team_names"]))


def fixture_reply(competition: str, fixture: str, model: dict[str, Any]) -> str:
    """GET /odds/{home}/{away}'s body from a fixture's text: {"competition", the fixture's members, "model"}, the
    text json_text gives of that document."""
    return f'{{"competition":{json_text(competition)},{fixture[1:-1]},"model":{json_text(model)}}}'


def fixtures_reply(competition: str, model: dict[str, Any], fixtures: Iterable[str]) -> str:
    """POST /odds's body from each fixture's text: {"competition", "model", "fixtures": [...]}, the text
    json_text gives of that document."""
    return f'{{"competition":{json_text(competition)},"model":{json_text(model)},"fixtures":[{",".join(fixtures)}]}}'


def competition_document(competition: str, pointer: dict[str, Any] | None) -> dict[str, Any]:
    """What /competitions says of a served competition: its name, and its current version once one is published."""
    document: dict[str, Any] = {"code": competition, "name": competition_name(competition)}
    if pointer is None:
        return {**document, "status": "pending"}
    return {
        **document,
        "status": "published",
        "version": pointer["version"],
        "fitted_at": pointer["fitted_at"],
        "data_through": pointer["data_through"],
        "team_count": len(pointer["teams"]),
    }


def query_date(text: str, name: str) -> date:
    """A query parameter's date as YYYY-MM-DD, FIRST_QUERY_DATE to LAST_QUERY_DATE; else a BadRequest naming it."""
    try:
        day = date.fromisoformat(text) if _ISO_DATE.match(text) else None
    except ValueError:
        day = None
    if day is None:
        raise BadRequest(f"{name} {text[:20]!r} is not a date as YYYY-MM-DD, such as 2025-08-16")
    if not FIRST_QUERY_DATE <= day <= LAST_QUERY_DATE:
        raise BadRequest(
            f"{name} {text} is outside the dates served, "
            f"{FIRST_QUERY_DATE.isoformat()} to {LAST_QUERY_DATE.isoformat()}"
        )
    return day


def date_range(first: date, last: date) -> tuple[date, date]:
    """`first` to `last` when `to` is not before `from` and the span is at most MAX_FIXTURE_RANGE_DAYS."""
    if last < first:
        raise BadRequest(f"to {last.isoformat()} is before from {first.isoformat()}")
    if (last - first).days >= MAX_FIXTURE_RANGE_DAYS:
        raise BadRequest(
            f"from {first.isoformat()} to {last.isoformat()} spans {(last - first).days + 1} days; "
            f"at most {MAX_FIXTURE_RANGE_DAYS} are served at once"
        )
    return first, last


def page_limit(text: str | None) -> int:
    """?limit=: how many fixtures a page holds, 1 to MAX_FIXTURES_PAGE (that many when not given)."""
    if text is None:
        return MAX_FIXTURES_PAGE
    if not (_LIMIT.match(text) and 1 <= int(text) <= MAX_FIXTURES_PAGE):
        raise BadRequest(f"limit {text[:20]!r} is not a whole number from 1 to {MAX_FIXTURES_PAGE}")
    return int(text)


def cursor_text(sort_key: str) -> str:
    """The cursor of the page after the fixture at `sort_key`."""
    return base64.urlsafe_b64encode(sort_key.encode("ascii")).decode("ascii").rstrip("=")


def page_cursor(text: str, first: date, last: date) -> str:
    """The sort key a ?cursor= (cursor_text) names, when it names a fixture from `first` to `last`; else a
    BadRequest: a cursor is only good with the range of the page that gave it."""
    sort_key = None
    if len(text) <= MAX_CURSOR_LENGTH and text.isascii():
        try:
            sort_key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            sort_key = None
    if sort_key is None or not _SORT_KEY.match(sort_key):
        raise BadRequest(f"cursor {text[:20]!r} is not a cursor of GET /fixtures; take the `next` link of a reply")
    if not first.isoformat() <= sort_key[:10] <= last.isoformat():
        raise BadRequest(
            f"cursor {text[:20]!r} is not in {first.isoformat()} to {last.isoformat()}, the range asked for"
        )
    return sort_key


def fixtures_document(
    priced_file: PricedFile, odds: dict[tuple[str, str], dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    """The uploaded fixtures of a date range, priced: the bookmakers found, and one entry per fixture with our
    odds (as GET /odds/{home}/{away} gives them, without the markets) and each bookmaker's prices and edges."""
    books = list(dict.fromkeys([*priced_file.books, *priced_file.goals_books]))
    return {
        "bookmakers": {book: BOOKMAKER_NAMES.get(book, book) for book in books},
        "fixtures": [_round_fixture(row, priced_file, odds, names) for row in priced_file.rows],
    }


def _round_fixture(
    row: PricedFixture, priced_file: PricedFile, odds: dict[tuple[str, str], dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    fixture = row.fixture
    identity: dict[str, Any] = {
        "date": fixture.date.isoformat() if fixture.date else None,
        "kickoff": fixture.kickoff or None,
        "home": {"code": fixture.home, "name": names.get(fixture.home)},
        "away": {"code": fixture.away, "name": names.get(fixture.away)},
    }
    if row.priced.probabilities is None:
        unknown = [code for code in dict.fromkeys((fixture.home, fixture.away)) if code not in names]
        return {**identity, "error": "unknown_team", "message": row.priced.note or "", "teams": unknown}
    ours = fixture_document({**odds[(fixture.home, fixture.away)], "markets": None}, names)
    document = {**identity, **{key: value for key, value in ours.items() if key not in identity}}
    if row.over is not None:
        document["over_2_5"] = priced(row.over)
        document["under_2_5"] = priced(complement(row.over))
    prices: dict[str, dict[str, float | None]] = {}
    for book in priced_file.books:
        prices[book] = {o: fixture.numbers.get(book + s) for o, s in zip(OUTCOMES, OUTCOME_SUFFIXES, strict=True)}
    for book in priced_file.goals_books:
        goals = {side: fixture.numbers.get(book + s) for side, s in zip(GOALS_SIDES, GOALS_SUFFIXES, strict=True)}
        prices.setdefault(book, {}).update(goals)
    document["bookmakers"] = {
        book: {"prices": book_prices, "edges": {key: _rounded(edge) for key, edge in row.edges[book].items()}}
        for book, book_prices in prices.items()
        if any(price is not None for price in book_prices.values())
    }
    return document


def _rounded(edge: float | None) -> float | None:
    """An edge to six places, as stored probabilities are: the rest is the float noise of price x p - 1."""
    return None if edge is None else round(edge, 6)
