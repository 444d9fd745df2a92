"""The HTTP API's routes: validate input, ask the repository, shape the reply. Errors map here, once.

Input is checked by hand rather than by powertools' validation, which would import pydantic on
every cold start; the OpenAPI document (services/query/openapi.py) is built only when asked for.
"""

from __future__ import annotations

import binascii
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from matchodds.core.documents import markets_document, model_provenance, table_csv, table_document, table_row
from matchodds.core.keys import COMPETITION_NAMES, COMPETITION_RE, DEFAULT_COMPETITION, TEAM_CODE_RE
from services.query.repository import OddsNotReady, OddsReader, OddsUnavailable, UnknownTeam

logger = Logger(service="query")
app = APIGatewayHttpResolver()
STATIC = Path(__file__).with_name("static")
MAX_BULK_FIXTURES = 100
TABLE_FORMATS = ("json", "csv")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
EXAMPLE_FIXTURE = '{"home": "ARS", "away": "MCI"}'
# Bounds checked before routing, so no oversized input reaches a parser or a key expression. The
# longest real path is /odds/XXX/YYY or /openapi.json, the longest real query a competition and a
# format; a full bulk body of 100 fixtures is about 3 KB.
MAX_PATH_LENGTH = 128
MAX_QUERY_LENGTH = 256
MAX_BODY_BYTES = 16 * 1024
# Far below Python's int() limit (sys.get_int_max_str_digits(), 4300 by default): a longer integer
# in a body would make json.loads raise a plain ValueError.
MAX_JSON_INTEGER_DIGITS = 100


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


def request_bounds(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Refuse an oversized request before any route (or the 404) sees it."""
    event = app.current_event
    body = event.body or ""
    size = len(body) * 3 // 4 if event.is_base64_encoded else len(body.encode("utf-8", "surrogatepass"))
    refusal = oversized(event.raw_path or "", event.raw_query_string or "", size)
    if refusal is not None:
        raise refusal
    return next_middleware(app)


app.use(middlewares=[request_bounds])


def _repository() -> OddsReader:
    """The request's repository, handed in by the handler with app.append_context(reader=...)."""
    reader = app.context.get("reader")
    if not isinstance(reader, OddsReader):
        raise RuntimeError("the query app was resolved without an OddsReader in its context")
    return reader


def ascii_code(text: str, pattern: re.Pattern[str]) -> str | None:
    """`text` upper-cased when it is an ASCII code that `pattern` matches whole, else None."""
    # ASCII first: str.upper() maps the dotless "ıps" to IPS and "ß" to SS, which no client typed.
    if not text.isascii():
        return None
    code = text.upper()
    return code if pattern.fullmatch(code) else None


def _competition() -> str:
    given = app.current_event.get_query_string_value("competition")
    if given is None:
        return DEFAULT_COMPETITION
    competition = ascii_code(given, COMPETITION_RE)
    if competition is None:
        raise BadRequest(f"competition {given[:20]!r} is not a competition code such as E0 or SP1")
    return competition


def _team_code(text: str, where: str = "team") -> str:
    code = ascii_code(text, TEAM_CODE_RE)
    if code is None:
        raise BadRequest(f"{where} {text[:20]!r} is not a three-letter team code such as ARS")
    return code


def team_pair(home: str, away: str, where: str | None = None) -> tuple[str, str]:
    """Two valid, different codes; `where` names the fixture in a bulk body (e.g. fixtures[3])."""
    home_code = _team_code(home, f"{where}.home" if where else "team")
    away_code = _team_code(away, f"{where}.away" if where else "team")
    if home_code == away_code:
        raise BadRequest(f"{where + ': ' if where else ''}a team cannot play itself: {home_code} v {away_code}")
    return home_code, away_code


def _request_body() -> str | None:
    """The request's body as text; a body that is not UTF-8 is a BadRequest, not a crash."""
    try:
        return app.current_event.decoded_body
    except (UnicodeDecodeError, binascii.Error):
        raise BadRequest("the body is not UTF-8 text") from None


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


def _table_format() -> str:
    """csv or json: ?format= decides, else the Accept header (JSON unless text/csv is preferred)."""
    given = app.current_event.get_query_string_value("format")
    if given is not None:
        if given.lower() not in TABLE_FORMATS:
            raise BadRequest(f"format {given[:20]!r} is not one of {', '.join(TABLE_FORMATS)}")
        return given.lower()
    accept = app.current_event.headers.get("accept") or ""
    return "csv" if prefers_csv(accept) else "json"


def prefers_csv(accept: str) -> bool:
    """True when an Accept header ranks text/csv above JSON (q-values, with wildcards counting for JSON)."""
    quality = {"csv": 0.0, "json": 0.0}
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = {"text/csv": "csv", "text/*": "csv", "application/json": "json", "*/*": "json"}.get(media_type.lower())
        if kind:
            quality[kind] = max(quality[kind], q)
    return quality["csv"] > quality["json"]


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error, "message": message, **extra},
        headers=headers,
    )


@app.exception_handler(BadRequest)
def _bad_request(error: BadRequest) -> Response:
    return _error(400, "bad_request", str(error))


@app.exception_handler(TooLarge)
def _too_large(error: TooLarge) -> Response:
    return _error(error.status, "too_large", str(error))


def allowed_methods(path: str) -> list[str]:
    """The methods that some route of the app answers at `path`, sorted; empty for a path no route has."""
    # powertools keeps its compiled routes in these two lists and offers no public lookup by path.
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def _no_route(_: NotFoundError) -> Response:
    event = app.current_event
    method, path = event.http_method[:20], event.raw_path[:MAX_PATH_LENGTH]
    allowed = allowed_methods(event.path)
    if allowed:
        return _error(
            405,
            "method_not_allowed",
            f"{method} is not allowed on {path}; it answers {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    return _error(404, "not_found", f"no route {method} {path}; see /docs for the API's routes")


@app.exception_handler(UnknownTeam)
def _unknown_team(error: UnknownTeam) -> Response:
    return _error(404, "unknown_team", str(error), teams=error.codes, competition=error.competition)


@app.exception_handler(OddsNotReady)
def _not_ready(error: OddsNotReady) -> Response:
    return _error(503, "not_ready", str(error), competition=error.competition)


@app.exception_handler(OddsUnavailable)
def _unavailable(error: OddsUnavailable) -> Response:
    return _error(503, "unavailable", str(error), competition=error.competition)


def fixture_document(odds: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The served odds of one fixture: 1X2, prices, expected goals, and every market when stored."""
    document = {
        "home": {"code": odds["home"], "name": names[odds["home"]]},
        "away": {"code": odds["away"], "name": names[odds["away"]]},
        "probabilities": {"home": odds["p_home"], "draw": odds["p_draw"], "away": odds["p_away"]},
        "fair_odds": {"home": odds["odds_home"], "draw": odds["odds_draw"], "away": odds["odds_away"]},
        "expected_goals": {"home": odds["xg_home"], "away": odds["xg_away"]},
        "most_likely_score": {"score": odds["likely_score"], "probability": odds["likely_score_p"]},
    }
    if odds["markets"] is not None:
        document.update(markets_document(odds["markets"]))
    return document


@app.get(
    "/odds/<home>/<away>",
    operation_id="getFixtureOdds",
    summary="The odds and markets of one fixture",
    tags=["odds"],
)
def fixture_odds(home: str, away: str) -> dict[str, Any]:
    competition = _competition()
    home_code, away_code = team_pair(home, away)
    odds, pointer = _repository().fixture(competition, home_code, away_code)
    return {
        "competition": competition,
        **fixture_document(odds, pointer["team_names"]),
        "model": model_provenance(pointer),
    }


@app.post("/odds", operation_id="postOdds", summary="The odds of up to 100 fixtures in one request", tags=["odds"])
def bulk_odds() -> dict[str, Any]:
    competition = _competition()
    pairs = fixture_list(_request_body())
    found, pointer = _repository().fixtures(competition, pairs)
    names = pointer["team_names"]
    fixtures = []
    for home, away in pairs:
        if (home, away) in found:
            fixtures.append(fixture_document(found[(home, away)], names))
            continue
        unknown = UnknownTeam(competition, [code for code in (home, away) if code not in names])
        fixtures.append(
            {
                "home": {"code": home, "name": names.get(home)},
                "away": {"code": away, "name": names.get(away)},
                "error": "unknown_team",
                "message": str(unknown),
                "teams": unknown.codes,
            }
        )
    return {"competition": competition, "model": model_provenance(pointer), "fixtures": fixtures}


@app.get("/odds", operation_id="getOddsTable", summary="Every pairing of a competition, as JSON or CSV", tags=["odds"])
def odds_table() -> Response[dict[str, Any]]:
    competition = _competition()
    table_format = _table_format()
    odds, pointer = _repository().table_odds(competition)
    rows = [table_row(competition, pointer["version"], entry, pointer["team_names"]) for entry in odds]
    if table_format == "json":
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=table_document(competition, pointer, rows),
        )
    filename = f"{competition}-{pointer['version']}.csv"
    return Response(
        status_code=200,
        content_type=CSV_CONTENT_TYPE,
        body=table_csv(rows),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@app.get("/teams", operation_id="getTeams", summary="The teams of a competition's current version", tags=["teams"])
def teams() -> dict[str, Any]:
    competition = _competition()
    pointer = _repository().pointer(competition)
    return {"competition": competition, "teams": pointer["teams"], "model": model_provenance(pointer)}


@cache
def page_html() -> str:
    """The page, with the competitions it offers written in."""
    options = json.dumps(COMPETITION_NAMES).replace("</", "<\\/")
    return (STATIC / "index.html").read_text(encoding="utf-8").replace("/*COMPETITIONS*/{}", options)


@app.get("/", include_in_schema=False)
def page() -> Response[str]:
    return Response(status_code=200, content_type=HTML_CONTENT_TYPE, body=page_html())


def _base_path() -> str:
    """Where the API is mounted: / for the $default stage (and the local stack), /<stage>/ otherwise."""
    stage = app.current_event.request_context.stage
    return "/" if stage in (None, "", "$default") else f"/{stage}/"


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    # Imported here, not at the top: the document needs pydantic, which no odds request should load.
    from services.query.openapi import document_json

    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document_json(app, _base_path()))


@app.get("/docs", include_in_schema=False, compress=True)
def swagger_ui() -> Response[str]:
    from services.query.openapi import document_json, swagger_html

    if app.current_event.get_query_string_value("format") == "json":  # Swagger UI's own link to the document
        return openapi_json()
    return Response(
        status_code=200, content_type=HTML_CONTENT_TYPE, body=swagger_html(document_json(app, _base_path()))
    )
