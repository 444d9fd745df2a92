"""The query API described: the OpenAPI document and the Swagger UI page, built on the first request for them.

powertools generates the document from the resolver's routes (paths, methods, path parameters,
operation ids, summaries). The routes read their query parameters and bodies by hand, so those, the
replies' schemas and the error replies are declared here as plain OpenAPI, by operation id, and merged
in. Every example is a real reply: the app's own functions applied to two precomputed fixtures of the
shipped season (static/example.json) and a past season's table projected by `matchodds project`
(static/table-example.json), so the examples cannot drift from what the API serves.

This module imports pydantic (through powertools' OpenAPI models); only the docs routes import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import aws_lambda_powertools
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from matchodds.core.documents import (
    TABLE_COLUMNS,
    fixture_document,
    model_provenance,
    season_table_csv,
    table_csv,
    table_document,
    table_row,
)
from matchodds.core.items import fixture_item, fixtures_from_items
from matchodds.core.pricing import PricedFile, price_columns, price_file, priced_csv, stored_source
from matchodds.core.results import parse_fixtures
from services.query.exports import INLINE_REPLY_BYTES, PRESIGNED_URL_SECONDS
from services.query.protocol import (
    FIRST_QUERY_DATE,
    LAST_QUERY_DATE,
    MAX_BODY_BYTES,
    MAX_BULK_FIXTURES,
    MAX_FIXTURE_RANGE_DAYS,
    MAX_FIXTURES_PAGE,
    MAX_PATH_LENGTH,
    MAX_QUERY_LENGTH,
    NOT_READY_RETRY_AFTER_SECONDS,
    ROUND_DAYS,
    STATIC,
    BadRequest,
    competition_document,
    date_range,
    fixture_list,
    fixtures_document,
    oversized,
    page_cursor,
    page_limit,
    query_date,
    team_pair,
)
from services.query.repository import CompetitionNotServed, OddsNotReady, TableNotProjected, UnknownTeam

TITLE = "matchodds"
API_VERSION = "1"
DESCRIPTION = f"""Win/Draw/Lose odds and markets for football fixtures, from a Bayesian model of team strength.

Every number is exact for the model: the average over all posterior draws. Probabilities come with
fair decimal prices (1 / probability; for Asian handicap lines with half results and pushes, the price
at which the expected payout equals the stake). The Asian handicap `line` is the HOME team's
handicap; the away side of the same line has the opposite handicap. Data: football-data.co.uk.

Errors are JSON `{{"error", "message"}}`. Before any route, a path over {MAX_PATH_LENGTH} characters or
a query string over {MAX_QUERY_LENGTH} is refused with 414, a body over {MAX_BODY_BYTES} bytes with 413. A
method that no route at a known path answers is a 405 with an Allow header; any other path is a 404."""
SWAGGER_ASSETS = Path(aws_lambda_powertools.__file__).parent / "event_handler" / "openapi" / "swagger_ui"

# Schemas are JSON documents: dict[str, Any], so that a part of one can be reused in another.
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "bad_request",
                "too_large",
                "not_found",
                "method_not_allowed",
                "unknown_team",
                "not_served",
                "not_ready",
                "unavailable",
                "no_table",
            ],
        },
        "message": {"type": "string", "description": "What was wrong, naming the value"},
        "teams": {"type": "array", "items": {"type": "string"}, "description": "unknown_team: the unknown codes"},
        "competition": {"type": "string", "description": "not_served, not_ready: the competition asked for"},
    },
}
NUMBER = {"type": "number"}
PRICE = {"type": ["number", "null"], "description": "fair decimal price; null when the probability is 0"}
PRICED = {"type": "object", "properties": {"probability": NUMBER, "fair_odds": PRICE}}
HANDICAP_SIDE = {
    "type": "object",
    "properties": {
        **dict.fromkeys(("win", "half_win", "push", "half_loss", "loss"), NUMBER),
        "fair_odds": PRICE,
    },
}
TEAM = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]}}}
MODEL = {
    "type": "object",
    "description": "The model version behind the numbers and the data it was fitted on",
    "properties": {
        "version": {"type": "string", "example": "20261125T142549Z"},
        "name": {"type": "string"},
        "fitted_at": {"type": "string", "format": "date-time"},
        "data_from": {"type": "string", "format": "date"},
        "data_through": {"type": "string", "format": "date"},
        "matches": {"type": "integer"},
    },
}
FIXTURE: dict[str, Any] = {
    "type": "object",
    "description": "A priced fixture; every market when the version stores them",
    # Required members and no others: an error entry of a bulk reply (FIXTURE_ERROR) can never match.
    "required": ["home", "away", "probabilities", "fair_odds", "expected_goals", "most_likely_score"],
    "additionalProperties": False,
    "properties": {
        "home": TEAM,
        "away": TEAM,
        "probabilities": {"type": "object", "properties": dict.fromkeys(("home", "draw", "away"), NUMBER)},
        "fair_odds": {"type": "object", "properties": dict.fromkeys(("home", "draw", "away"), NUMBER)},
        "expected_goals": {"type": "object", "properties": dict.fromkeys(("home", "away"), NUMBER)},
        "most_likely_score": {"type": "object", "properties": {"score": {"type": "string"}, "probability": NUMBER}},
        "credible_intervals": {
            "type": "object",
            "description": "Central interval holding `mass` of the posterior of P(home), P(draw), P(away)",
            "properties": {
                "mass": NUMBER,
                **dict.fromkeys(
                    ("home", "draw", "away"), {"type": "object", "properties": {"low": NUMBER, "high": NUMBER}}
                ),
            },
        },
        "markets": {
            "type": "object",
            "properties": {
                "over_under": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"line": NUMBER, "over": PRICED, "under": PRICED}},
                },
                "both_teams_to_score": {"type": "object", "properties": {"yes": PRICED, "no": PRICED}},
                "double_chance": {
                    "type": "object",
                    "properties": dict.fromkeys(("home_draw", "home_away", "draw_away"), PRICED),
                },
                "draw_no_bet": {
                    "type": "object",
                    "description": "probability: of winning given no draw (a draw returns the stake)",
                    "properties": {"home": PRICED, "away": PRICED},
                },
                "asian_handicap": {
                    "type": "array",
                    "description": "Lines -2.5 to +2.5 in quarter goals; a quarter line splits the stake in two",
                    "items": {
                        "type": "object",
                        "properties": {"line": NUMBER, "home": HANDICAP_SIDE, "away": HANDICAP_SIDE},
                    },
                },
            },
        },
        "correct_score": {
            "type": "object",
            "properties": {
                "max_goals": {"type": "integer"},
                "probabilities": {
                    "type": "array",
                    "description": "rows: home goals 0..max_goals; columns: away goals",
                    "items": {"type": "array", "items": NUMBER},
                },
                "fair_odds": {"type": "array", "items": {"type": "array", "items": PRICE}},
                "other": {"description": "P(either side scores more than max_goals)", **NUMBER},
                "likeliest": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"score": {"type": "string"}, "probability": NUMBER, "fair_odds": PRICE},
                    },
                },
            },
        },
    },
}
COMPETITION_ENTRY = {
    "type": "object",
    "description": "A served competition; the version's fields only once it is published",
    "required": ["code", "name", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "example": "E0"},
        "name": {"type": "string", "description": "the league's name; its code when football-data's list lacks it"},
        "status": {"type": "string", "enum": ["published", "pending"]},
        "version": {"type": "string", "example": "20261125T142549Z"},
        "fitted_at": {"type": "string", "format": "date-time"},
        "data_through": {"type": "string", "format": "date", "description": "the last match the version knows"},
        "team_count": {"type": "integer", "description": "teams the current version prices"},
    },
}
FIXTURE_ERROR = {
    "type": "object",
    "description": "A fixture of a bulk request that could not be priced",
    # Requires `error`, which a priced fixture never has, and allows no market: the oneOf is exclusive.
    "required": ["home", "away", "error", "message", "teams"],
    "additionalProperties": False,
    "properties": {
        "home": TEAM,
        "away": TEAM,
        "error": {"type": "string", "enum": ["unknown_team"]},
        "message": ERROR["properties"]["message"],
        "teams": ERROR["properties"]["teams"],
    },
}
PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
ZONE_PROBABILITY = {**PROBABILITY, "type": ["number", "null"]}
SEASON_TABLE: dict[str, Any] = {
    "type": "object",
    "description": "The season's table now and its projection: the rest of the season simulated from every "
    "posterior draw (docs/projections.md). Teams in their current positions.",
    "required": ["competition", "model", "season", "through", "simulations", "remaining_matches", "zones", "teams"],
    "properties": {
        "competition": {"type": "string"},
        "model": MODEL,
        "season": {"type": "string", "example": "2024-25"},
        "through": {"type": ["string", "null"], "format": "date", "description": "the last match played"},
        "simulations": {"type": "integer", "description": "seasons simulated"},
        "seed": {"type": "integer", "description": "the simulations' seed: the same version gives the same table"},
        "remaining_matches": {"type": "integer"},
        "remaining_from": {
            "type": "string",
            "enum": ["fixtures", "double round robin"],
            "description": "a whole schedule of named fixtures, else the double round robin less what is played",
        },
        "zones": {
            "type": "object",
            "description": "places from the top (title, europe: Champions League places) and from the bottom "
            "(relegation: relegated directly; playoff: the relegation play-off places above them)",
            "properties": dict.fromkeys(("title", "europe", "relegation", "playoff"), {"type": "integer"}),
        },
        "tie_breaks": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the criteria ranking the table, first to last; what they leave level is a random draw",
        },
        "interval_mass": {**NUMBER, "description": "the probability within each points_interval"},
        "teams": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    **dict.fromkeys(
                        ("position", "played", "won", "drawn", "lost", "goals_for", "goals_against"),
                        {"type": "integer"},
                    ),
                    "goal_difference": {"type": "integer"},
                    "points": {"type": "integer"},
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "projection": {
                        "type": "object",
                        "properties": {
                            "expected_points": NUMBER,
                            "points_interval": {
                                "type": "object",
                                "properties": {"low": {"type": "integer"}, "high": {"type": "integer"}},
                            },
                            "expected_position": NUMBER,
                            "p_title": PROBABILITY,
                            **dict.fromkeys(("p_europe", "p_playoff", "p_relegation"), ZONE_PROBABILITY),
                            "positions": {
                                "type": "array",
                                "items": PROBABILITY,
                                "description": "P(finishing 1st, 2nd, ...): each team's and each position's sum to 1",
                            },
                        },
                    },
                },
            },
        },
    },
}
BOOK_NUMBERS = {
    "type": "object",
    "description": "by outcome (home, draw, away) and, where the file quotes them, over_2_5 and under_2_5",
    "additionalProperties": {"type": ["number", "null"]},
}
ROUND_FIXTURE: dict[str, Any] = {
    "type": "object",
    "description": "An uploaded fixture with our odds and each bookmaker's prices and edges",
    "required": ["date", "kickoff", "home", "away", "probabilities", "fair_odds", "bookmakers"],
    "additionalProperties": False,
    "properties": {
        "date": {"type": "string", "format": "date"},
        "kickoff": {"type": ["string", "null"], "description": "the file's Time, as written (football-data: UK time)"},
        **{name: FIXTURE["properties"][name] for name in ("home", "away", "probabilities", "fair_odds")},
        **{name: FIXTURE["properties"][name] for name in ("expected_goals", "most_likely_score")},
        "over_2_5": PRICED,
        "under_2_5": PRICED,
        "bookmakers": {
            "type": "object",
            "description": "by football-data's column prefix (B365, PS, Max, Avg, ...): the file's prices, and each "
            "price's edge against our probability, price x probability - 1 (positive: longer than our fair price); "
            "null where the file has no price",
            "additionalProperties": {
                "type": "object",
                "required": ["prices", "edges"],
                "properties": {"prices": BOOK_NUMBERS, "edges": BOOK_NUMBERS},
            },
        },
    },
}
ROUND_FIXTURE_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "An uploaded fixture with a team the current version does not know",
    "required": ["date", "kickoff", "home", "away", "error", "message", "teams"],
    "additionalProperties": False,
    "properties": {
        **{name: ROUND_FIXTURE["properties"][name] for name in ("date", "kickoff", "home", "away")},
        "error": {"type": "string", "enum": ["unknown_team"]},
        **{name: ERROR["properties"][name] for name in ("message", "teams")},
    },
}
FIXTURES_REPLY = {
    "type": "object",
    "required": ["competition", "from", "to", "selection", "model", "bookmakers", "fixtures", "next"],
    "properties": {
        "competition": {"type": "string"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "selection": {
            "type": "string",
            "enum": ["range", "next_round", "last_round"],
            "description": "range: from and to as asked; next_round, last_round: the round chosen without `to`",
        },
        "model": MODEL,
        "bookmakers": {
            "type": "object",
            "description": "the name of each column prefix the fixtures' prices have",
            "additionalProperties": {"type": "string"},
        },
        "fixtures": {
            "type": "array",
            "maxItems": MAX_FIXTURES_PAGE,
            "items": {"oneOf": [ROUND_FIXTURE, ROUND_FIXTURE_ERROR]},
        },
        "next": {
            "type": ["string", "null"],
            "description": "the path and query of the next page of the same range (also the reply's Link header, "
            'rel="next"), null on the last page',
        },
    },
}
SAME_TEAM = (
    "home and away must be different teams: the same code twice (in any case) is a 400. JSON Schema cannot "
    "compare two values, so this rule is stated here and checked by the API."
)


def _parameter(name: str, where: str, description: str, schema: dict[str, Any], example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
        "example": example,
    }


COMPETITION = _parameter(
    "competition",
    "query",
    "football-data division code, case-insensitive: one that the deployment serves (GET /competitions); "
    "without it, the first one it serves (E0 unless configured otherwise)",
    {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]{0,7}$", "default": "E0"},
    "E0",
)
TEAM_CODE = {"type": "string", "pattern": "^[A-Za-z]{3}$"}
HOME = _parameter("home", "path", "home team's three-letter code, case-insensitive", TEAM_CODE, "ARS")
AWAY = _parameter(
    "away", "path", "away team's three-letter code, case-insensitive; not the home team's", TEAM_CODE, "MCI"
)
# A day from FIRST_QUERY_DATE to LAST_QUERY_DATE: JSON Schema has no bounds for a date, so the pattern holds the
# years (1990 to 2099) and the description the days; anything else is a 400 naming the parameter.
DATE = {
    "type": "string",
    "format": "date",
    "pattern": "^(199[0-9]|20[0-9]{2})-[0-9]{2}-[0-9]{2}$",
    "description": f"a day from {FIRST_QUERY_DATE.isoformat()} to {LAST_QUERY_DATE.isoformat()}",
}
FROM = _parameter(
    "from",
    "query",
    f"first day, YYYY-MM-DD, {FIRST_QUERY_DATE.isoformat()} to {LAST_QUERY_DATE.isoformat()}; default today (UTC). "
    f"Without `to`: the next round, the fixtures of the {ROUND_DAYS} days from the first one uploaded on or after "
    "this day",
    DATE,
    "2025-01-25",
)
TO = _parameter(
    "to",
    "query",
    f"last day, YYYY-MM-DD, included, {FIRST_QUERY_DATE.isoformat()} to {LAST_QUERY_DATE.isoformat()}; "
    f"fewer than {MAX_FIXTURE_RANGE_DAYS} days after `from` (a range of at most {MAX_FIXTURE_RANGE_DAYS} days)",
    DATE,
    "2025-02-02",
)
LIMIT = _parameter(
    "limit",
    "query",
    f"at most this many fixtures in the reply, 1 to {MAX_FIXTURES_PAGE} (default {MAX_FIXTURES_PAGE}); the rest "
    "of the range is a `next` link away",
    {"type": "integer", "minimum": 1, "maximum": MAX_FIXTURES_PAGE, "default": MAX_FIXTURES_PAGE},
    "50",
)
CURSOR = _parameter(
    "cursor",
    "query",
    "where the page starts: only as the `next` link of a reply gives it, with that reply's `from` and `to`",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,96}$"},
    "MjAyNS0wMS0yNSNBUlMjTUNJ",
)
FORMAT = _parameter(
    "format",
    "query",
    "csv or json; without it, Accept: text/csv asks for CSV",
    {"type": "string", "enum": ["json", "csv"]},
    "json",
)


def _json(schema: dict[str, Any], example: Any, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema, "example": example}}}


def _json_or_csv(schema: dict[str, Any], example: Any, csv_example: str) -> dict[str, Any]:
    """A 200 that is JSON, or CSV when asked for (format=csv or Accept: text/csv)."""
    reply = _json(schema, example)
    reply["content"]["text/csv"] = {"schema": {"type": "string"}, "example": csv_example}
    return reply


def _refusal(call: Callable[[], object]) -> str:
    """The message of the BadRequest that `call` raises, so that an error example is the app's own reply."""
    try:
        call()
    except BadRequest as error:
        return str(error)
    raise ValueError("the input of an error example was accepted")


def _too_large(path: str = "/", query: str = "", body_bytes: int = 0) -> str:
    refused = oversized(path, query, body_bytes)
    if refused is None:
        raise ValueError("the size of a too_large example was accepted")
    return str(refused)


def _errors(
    *statuses: int, bad_request: dict[str, str] | None = None, teams: bool = False, table: bool = False
) -> dict[str, Any]:
    """Error replies by status; `bad_request` names this operation's 400 examples (summary -> message),
    `teams` says whether an unknown team is its 404 too, `table` whether a version without a table is."""
    described = {
        400: "A malformed code, competition, date, format or body, or the same team twice; the message says",
        404: "A competition this deployment does not serve (GET /competitions lists those it does)"
        + (", or a team the current version does not know" if teams else "")
        + (", or a current version without a season table (its fit recorded no season)" if table else ""),
        413: f"A body over {MAX_BODY_BYTES} bytes",
        414: f"A path over {MAX_PATH_LENGTH} characters or a query string over {MAX_QUERY_LENGTH}",
        503: "Nothing published yet for a competition this deployment serves (with Retry-After), or the table is busy",
    }
    examples: dict[int, dict[str, tuple[str, str]]] = {
        400: {
            summary: ("bad_request", message)
            for summary, message in (
                bad_request or {"a malformed code": _refusal(lambda: team_pair("ARSENAL", "MCI"))}
            ).items()
        },
        404: {
            "a competition not served": ("not_served", str(CompetitionNotServed("X9"))),
            **({"an unknown team": ("unknown_team", str(UnknownTeam("E0", ["XYZ"])))} if teams else {}),
            **({"no season table": ("no_table", str(TableNotProjected("E0", "20250526T060000Z")))} if table else {}),
        },
        413: {"a body too large": ("too_large", _too_large(body_bytes=MAX_BODY_BYTES + 1))},
        414: {
            "a path too long": ("too_large", _too_large(path="/odds/ARS/" + "M" * MAX_PATH_LENGTH)),
            "a query string too long": ("too_large", _too_large(query="competition=" + "E" * MAX_QUERY_LENGTH)),
        },
        503: {"nothing published": ("not_ready", str(OddsNotReady("D1")))},
    }
    replies: dict[str, Any] = {}
    for status in statuses:
        replies[str(status)] = {
            "description": described[status],
            "content": {
                "application/json": {
                    "schema": ERROR,
                    "examples": {
                        summary.lower().replace(" ", "_"): {
                            "summary": summary,
                            "value": {"error": error, "message": message},
                        }
                        for summary, (error, message) in examples[status].items()
                    },
                }
            },
        }
    if "503" in replies:
        replies["503"]["headers"] = {
            "Retry-After": {
                "description": f"not_ready: seconds to wait before asking again ({NOT_READY_RETRY_AFTER_SECONDS})",
                "schema": {"type": "integer"},
            }
        }
    return replies


@cache
def operations() -> dict[str, dict[str, Any]]:
    """What each operation reads and answers, by operation id, with real replies as examples."""
    example = json.loads((STATIC / "example.json").read_text(encoding="utf-8"))
    pointer, odds = example["pointer"], example["odds"]
    names = {team["code"]: team["name"] for team in pointer["teams"]}
    competition, model = pointer["competition"], model_provenance(pointer)
    documents = [fixture_document(entry, names) for entry in odds]
    rows = [table_row(competition, pointer["version"], entry, names) for entry in odds]
    unknown = {
        "home": {"code": "ARS", "name": names["ARS"]},
        "away": {"code": "XYZ", "name": None},
        "error": "unknown_team",
        "message": "unknown team XYZ in competition E0",
        "teams": ["XYZ"],
    }
    fixture_reply = {
        **FIXTURE,
        "required": ["competition", *FIXTURE["required"], "model"],
        "properties": {"competition": {"type": "string"}, **FIXTURE["properties"], "model": MODEL},
    }
    season_table = json.loads((STATIC / "table-example.json").read_text(encoding="utf-8"))["reply"]
    odds_by_pair = {(entry["home"], entry["away"]): entry for entry in odds}
    fixtures_example = _fixtures_example(example, pointer, names, odds_by_pair)
    same_team_path = _refusal(lambda: team_pair("ARS", "ars"))
    same_team_body = _refusal(lambda: fixture_list('[{"home": "ARS", "away": "ars"}]'))
    return {
        "getFixtureOdds": {
            "description": "1X2 with credible intervals, fair prices, expected goals, every market and the score grid.",
            "parameters": [HOME, AWAY, COMPETITION],
            "responses": {
                "200": _json(fixture_reply, {"competition": competition, **documents[0], "model": model}),
                **_errors(
                    400,
                    404,
                    414,
                    503,
                    teams=True,
                    bad_request={
                        "a malformed code": _refusal(lambda: team_pair("ARSENAL", "MCI")),
                        "the same team twice": same_team_path,
                    },
                ),
            },
        },
        "postOdds": {
            "description": f"Up to {MAX_BULK_FIXTURES} fixtures in one batch read, answered in the order asked. "
            "A fixture with a team the model does not know gets an error entry; the others are priced. "
            "A fixture whose home and away are the same team makes the whole request a 400.",
            "parameters": [COMPETITION],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_BULK_FIXTURES,
                            "items": {
                                "type": "object",
                                "description": SAME_TEAM,
                                "required": ["home", "away"],
                                "additionalProperties": False,
                                "properties": {"home": TEAM_CODE, "away": TEAM_CODE},
                            },
                        },
                        "example": [
                            {"home": "ARS", "away": "MCI"},
                            {"home": "LIV", "away": "IPS"},
                            {"home": "ARS", "away": "XYZ"},
                        ],
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["competition", "model", "fixtures"],
                        "properties": {
                            "competition": {"type": "string"},
                            "model": MODEL,
                            "fixtures": {"type": "array", "items": {"oneOf": [FIXTURE, FIXTURE_ERROR]}},
                        },
                    },
                    {"competition": competition, "model": model, "fixtures": [*documents, unknown]},
                ),
                **_errors(
                    400,
                    404,
                    413,
                    414,
                    503,
                    bad_request={
                        "a malformed code": _refusal(lambda: fixture_list('[{"home": "ARSENAL", "away": "MCI"}]')),
                        "the same team twice": same_team_body,
                        "not JSON": _refusal(lambda: fixture_list('[{"home": "ARS"')),
                    },
                ),
            },
        },
        "getOddsTable": {
            "description": "Every ordered pairing of the current version, one flat row each: the version's S3 "
            "export (exports/<competition>/<version>.json or .csv), read once and kept by the function. The ah "
            "columns are the home team's handicap. A table too large for one reply (over "
            f"{INLINE_REPLY_BYTES:,} bytes as the reply carries it: about 40 teams and more) is a 303 to a "
            f"presigned URL of the export, valid {PRESIGNED_URL_SECONDS} s. The ETag names the version and "
            "format; If-None-Match with it is a 304 until a new version is published.",
            "parameters": [
                COMPETITION,
                FORMAT,
                _parameter(
                    "If-None-Match",
                    "header",
                    "the ETag of a table already held: 304 while the version is current",
                    {"type": "string"},
                    '"E0-20261202T082836Z-json"',
                ),
            ],
            "responses": {
                "303": {
                    "description": "See Other: the table is too large for a reply; GET it from S3 at Location",
                    "headers": {"Location": {"description": "a presigned S3 URL", "schema": {"type": "string"}}},
                },
                "304": {"description": "Not Modified: the version named by If-None-Match is still current"},
                "200": _json_or_csv(
                    {
                        "type": "object",
                        "properties": {
                            "competition": {"type": "string"},
                            "model": MODEL,
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "fixtures": {
                                "type": "array",
                                "items": {"type": "object", "properties": dict.fromkeys(TABLE_COLUMNS, {})},
                            },
                        },
                    },
                    table_document(competition, pointer, rows),
                    table_csv(rows),
                ),
                **_errors(400, 404, 414, 503),
            },
        },
        "getSeasonTable": {
            "description": "The current table of the season in play (played, won, drawn, lost, goals, points) "
            "and, for each team, the projection to the season's end from the current version: expected points "
            f"with a {int(season_table['interval_mass'] * 100)} % interval, expected position, P(title), "
            "P(Champions League places), P(relegation play-off), P(relegation) and the probability of every final "
            "position. The same table as the S3 export exports/<competition>/latest-table.json. A finished "
            "season is its final table, every probability 0 or 1.",
            "parameters": [COMPETITION, FORMAT],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": SEASON_TABLE, "example": season_table},
                        "text/csv": {"schema": {"type": "string"}, "example": season_table_csv(season_table)},
                    },
                },
                **_errors(400, 404, 414, 503, table=True),
            },
        },
        "getTeams": {
            "description": "The codes and names of the teams the current version prices.",
            "parameters": [COMPETITION],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "competition": {"type": "string"},
                            "teams": {"type": "array", "items": TEAM},
                            "model": MODEL,
                        },
                    },
                    {"competition": competition, "teams": pointer["teams"][:3], "model": model},
                ),
                **_errors(400, 404, 414, 503),
            },
        },
        "getFixtures": {
            "description": "The fixtures uploaded for the competition (matchodds upload fixtures.csv, or a file put "
            "under fixtures/<competition>/: football-data's fixtures files, whose rows have dates and prices) from "
            "`from` to `to`, by date then teams, each with our odds and, where the file has them, each bookmaker's "
            f"prices and edges. Without `to`, the next round: the {ROUND_DAYS} days from the first fixture on or "
            "after `from` (today by default); with neither, and nothing uploaded from today on, the last round "
            "uploaded (`selection` says which). A fixture with a team the current version does not know gets an "
            "error entry; the others are priced. A later upload of the same fixture replaces it, on its new day "
            "if it moved. CSV (`format=csv`): the priced file's columns (teams as codes, dates as YYYY-MM-DD). "
            f"A reply holds at most `limit` fixtures ({MAX_FIXTURES_PAGE} at most) of a range of at most "
            f"{MAX_FIXTURE_RANGE_DAYS} days; `next` (and the Link header, for CSV too) leads to the page after it, "
            "null on the last one. Our odds are those stored when the file was priced, while their version is "
            "the current one, else the current version's.",
            "parameters": [COMPETITION, FROM, TO, LIMIT, CURSOR, FORMAT],
            "responses": {
                "200": _json_or_csv(
                    FIXTURES_REPLY,
                    {
                        "competition": competition,
                        "from": "2025-01-25",
                        "to": "2025-02-02",
                        "selection": "range",
                        "model": model,
                        **fixtures_document(fixtures_example, odds_by_pair, names),
                        "next": None,
                    },
                    priced_csv(fixtures_example),
                ),
                **_errors(
                    400,
                    404,
                    414,
                    503,
                    bad_request={
                        "a malformed date": _refusal(lambda: query_date("16/08/2025", "from")),
                        "to before from": _refusal(
                            lambda: date_range(query_date("2025-08-17", "from"), query_date("2025-08-16", "to"))
                        ),
                        "a date outside the days served": _refusal(lambda: query_date("9999-12-29", "from")),
                        "a range too long": _refusal(
                            lambda: date_range(query_date("2025-01-01", "from"), query_date("2025-06-30", "to"))
                        ),
                        "a limit out of bounds": _refusal(lambda: page_limit("1000")),
                        "a cursor from another range": _refusal(
                            lambda: page_cursor("MjAyNS0wMS0yNSNBUlMjTUNJ", date(2025, 2, 1), date(2025, 2, 2))
                        ),
                    },
                ),
            },
        },
        "getCompetitions": {
            "description": "Every competition this deployment serves, in its configured order: the code and name, "
            "and once odds are published the current version, when it was fitted, the last match it knows and "
            "how many teams it prices. A competition still waiting for its first fit is `pending`: its routes "
            "answer 503 with Retry-After until then.",
            "parameters": [],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["competitions"],
                        "properties": {"competitions": {"type": "array", "items": COMPETITION_ENTRY}},
                    },
                    {"competitions": [competition_document(competition, pointer), competition_document("D1", None)]},
                ),
                **_errors(414),
            },
        },
    }


def _fixtures_example(
    example: dict[str, Any],
    pointer: dict[str, Any],
    names: dict[str, str],
    odds: dict[tuple[str, str], dict[str, Any]],
) -> PricedFile:
    """The example fixtures file as GET /fixtures serves it: stored as the pricing Lambda stores it, read back,
    and priced from the example's odds."""
    competition = pointer["competition"]
    uploaded = parse_fixtures(example["fixtures_file"]["text"], "example")
    columns = price_columns(uploaded.header)
    items = [fixture_item(competition, fixture, columns, "example.csv") for fixture in uploaded.fixtures]
    stored = fixtures_from_items(competition, items)
    return price_file(stored, stored_source(pointer["version"], names, odds), competition)


def _merge_parameters(generated: list[dict[str, Any]], declared: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Declared parameters, with any generated one (a path parameter) they do not describe kept after them."""
    described = {(parameter["in"], parameter["name"]) for parameter in declared}
    return [*declared, *(p for p in generated if (p["in"], p["name"]) not in described)]


def document(app: APIGatewayHttpResolver, base_path: str = "/") -> dict[str, Any]:
    """The OpenAPI document of `app`: powertools' generation from the routes, with each operation completed."""
    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=API_VERSION, description=DESCRIPTION, servers=[])
    )
    declared = operations()
    for methods in schema["paths"].values():
        for operation in methods.values():
            extra = declared[operation["operationId"]]
            operation["parameters"] = _merge_parameters(operation.get("parameters", []), extra["parameters"])
            operation["description"] = extra["description"]
            operation["responses"] = extra["responses"]
            if "requestBody" in extra:
                operation["requestBody"] = extra["requestBody"]
    schema["servers"] = [{"url": base_path}]
    # The generated validation-error schemas describe powertools' 422 replies, which this API never sends.
    schema.pop("components", None)
    return schema


@cache
def document_json(app: APIGatewayHttpResolver, base_path: str = "/") -> str:
    return json.dumps(document(app, base_path), indent=1)


@cache
def swagger_html(spec_json: str) -> str:
    """Swagger UI with its script and styles inline (powertools ships them), so /docs works offline."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    return generate_swagger_html(
        spec=spec_json.replace("</", "<\\/"),
        swagger_js=(SWAGGER_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(SWAGGER_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
