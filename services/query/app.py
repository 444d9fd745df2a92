"""The HTTP API's routes: validate input, ask the repository, shape the reply. Errors map here, once.

Input is checked by hand rather than by powertools' validation, which would import pydantic on
every cold start; the OpenAPI document (services/query/openapi.py) is built only when asked for.
"""

from __future__ import annotations

import binascii
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from matchodds.core.documents import (
    model_provenance,
    season_table_csv,
    season_table_document,
    table_csv,
    table_document,
    table_row,
)
from matchodds.core.items import fixtures_from_items
from matchodds.core.keys import COMPETITION_RE
from matchodds.core.pricing import price_file, priced_csv, stored_source
from services.query.protocol import (
    MAX_PATH_LENGTH,
    NOT_READY_RETRY_AFTER_SECONDS,
    ROUND_DAYS,
    STATIC,
    BadRequest,
    TooLarge,
    ascii_code,
    competition_document,
    cursor_text,
    date_range,
    fixture_list,
    fixture_reply,
    fixture_text,
    fixtures_document,
    fixtures_reply,
    json_text,
    oversized,
    page_cursor,
    page_limit,
    query_date,
    team_pair,
)
from services.query.repository import (
    CompetitionNotServed,
    OddsNotReady,
    OddsReader,
    OddsUnavailable,
    TableNotProjected,
    UnknownTeam,
)

logger = Logger(service="query")
app = APIGatewayHttpResolver()
TABLE_FORMATS = ("json", "csv")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


def request_bounds(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
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


def _competition() -> str:
    """The request's ?competition=, upper-cased; without it, the first competition the deployment serves."""
    given = app.current_event.get_query_string_value("competition")
    if given is None:
        return _repository().competitions[0]
    competition = ascii_code(given, COMPETITION_RE)
    if competition is None:
        raise BadRequest(f"competition {given[:20]!r} is not a competition code such as E0 or SP1")
    return competition


def _request_body() -> str | None:
    """The request's body as text; a body that is not UTF-8 is a BadRequest, not a crash."""
    try:
        return app.current_event.decoded_body
    except (UnicodeDecodeError, binascii.Error):
        raise BadRequest("the body is not UTF-8 text") from None


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


def _error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error, "message": message, **extra},
        headers=headers,
    )


@app.exception_handler(BadRequest)
def _bad_request(error: BadRequest) -> Response[dict[str, Any]]:
    return _error(400, "bad_request", str(error))


@app.exception_handler(TooLarge)
def _too_large(error: TooLarge) -> Response[dict[str, Any]]:
    return _error(error.status, "too_large", str(error))


def allowed_methods(path: str) -> list[str]:
    """The methods that some route of the app answers at `path`, sorted; empty for a path no route has."""
    # powertools keeps its compiled routes in these two lists and offers no public lookup by path.
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def _no_route(_: NotFoundError) -> Response[dict[str, Any]]:
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
def _unknown_team(error: UnknownTeam) -> Response[dict[str, Any]]:
    return _error(404, "unknown_team", str(error), teams=error.codes, competition=error.competition)


@app.exception_handler(CompetitionNotServed)
def _not_served(error: CompetitionNotServed) -> Response[dict[str, Any]]:
    return _error(404, "not_served", str(error), competition=error.competition)


@app.exception_handler(TableNotProjected)
def _no_table(error: TableNotProjected) -> Response[dict[str, Any]]:
    return _error(404, "no_table", str(error), competition=error.competition)


@app.exception_handler(OddsNotReady)
def _not_ready(error: OddsNotReady) -> Response[dict[str, Any]]:
    return _error(
        503,
        "not_ready",
        str(error),
        headers={"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)},
        competition=error.competition,
    )


@app.exception_handler(OddsUnavailable)
def _unavailable(error: OddsUnavailable) -> Response[dict[str, Any]]:
    return _error(503, "unavailable", str(error), competition=error.competition)


@app.get(
    "/odds/<home>/<away>",
    operation_id="getFixtureOdds",
    summary="The odds and markets of one fixture",
    tags=["odds"],
)
def fixture_odds(home: str, away: str) -> Response[str]:
    competition = _competition()
    home_code, away_code = team_pair(home, away)
    text, pointer = _repository().fixture_text(competition, home_code, away_code, fixture_text)
    return _json_reply(fixture_reply(competition, text, model_provenance(pointer)))


@app.post("/odds", operation_id="postOdds", summary="The odds of up to 100 fixtures in one request", tags=["odds"])
def bulk_odds() -> Response[str]:
    """Each fixture's text as kept by the repository (made once per version), joined: nothing serialised twice."""
    competition = _competition()
    pairs = fixture_list(_request_body())
    texts, pointer = _repository().fixture_texts(competition, pairs, fixture_text)
    names = pointer["team_names"]
    fixtures = []
    for home, away in pairs:
        if (home, away) in texts:
            fixtures.append(texts[(home, away)])
            continue
        unknown = UnknownTeam(competition, [code for code in (home, away) if code not in names])
        error = {
            "home": {"code": home, "name": names.get(home)},
            "away": {"code": away, "name": names.get(away)},
            "error": "unknown_team",
            "message": str(unknown),
            "teams": unknown.codes,
        }
        fixtures.append(json_text(error))
    return _json_reply(fixtures_reply(competition, model_provenance(pointer), fixtures))


def _json_reply(body: str) -> Response[str]:
    """A 200 of JSON text made here: powertools passes a text body through as it is."""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/odds", operation_id="getOddsTable", summary="Every pairing of a competition, as JSON or CSV", tags=["odds"])
def odds_table() -> Response[dict[str, Any] | str]:
    """From the version's export (read once per warm Lambda); a redirect to it when too large to answer; from the
    items when it has none."""
    competition = _competition()
    table_format = _table_format()
    repository = _repository()
    version = repository.pointer(competition)["version"]
    etag = _table_etag(competition, version, table_format)
    # `*` matches any current representation (RFC 9110, 13.1.2), and a published version is one.
    if _if_none_match() & {etag, "*"}:
        return Response(status_code=304, body="", headers={"ETag": etag})
    exports = repository.exports
    export = exports.table(competition, version, table_format) if exports is not None else None
    if exports is None or export is None:
        odds, pointer = repository.table_odds(competition)
        rows = [table_row(competition, pointer["version"], entry, pointer["team_names"]) for entry in odds]
        document = table_document(competition, pointer, rows) if table_format == "json" else table_csv(rows)
        return _table_reply(competition, pointer["version"], table_format, document)
    if export.text is None:
        location = exports.url(export, _table_filename(competition, version) if table_format == "csv" else None)
        return Response(status_code=303, body="", headers={"Location": location})
    return _table_reply(competition, version, table_format, export.text)


def _table_etag(competition: str, version: str, table_format: str) -> str:
    return f'"{competition}-{version}-{table_format}"'  # a version's table never changes


def _table_filename(competition: str, version: str) -> str:
    return f"{competition}-{version}.csv"


def _if_none_match() -> set[str]:
    """The entity tags of the request's If-None-Match, weak ones as their strong form."""
    given = app.current_event.headers.get("if-none-match") or ""
    return {tag.strip().removeprefix("W/") for tag in given.split(",") if tag.strip()}


def _table_reply(
    competition: str, version: str, table_format: str, body: dict[str, Any] | str
) -> Response[dict[str, Any] | str]:
    """The odds table of `version` (a JSON document or text, or CSV text), tagged with its version."""
    etag = {"ETag": _table_etag(competition, version, table_format)}
    if table_format == "json":
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body, headers=etag)
    return csv_download(str(body), _table_filename(competition, version), etag)


def csv_download(body: str, filename: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any] | str]:
    """A CSV reply that browsers save as `filename`."""
    return Response(
        status_code=200,
        content_type=CSV_CONTENT_TYPE,
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


@app.get(
    "/table",
    operation_id="getSeasonTable",
    summary="The season's table and its projection to the end, as JSON or CSV",
    tags=["table"],
)
def season_table() -> Response[dict[str, Any] | str]:
    competition = _competition()
    table_format = _table_format()
    stored, pointer = _repository().season_table(competition)
    document = season_table_document(competition, pointer, stored)
    if table_format == "json":
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document)
    return csv_download(season_table_csv(document), f"{competition}-{pointer['version']}-table.csv")


@app.get("/teams", operation_id="getTeams", summary="The teams of a competition's current version", tags=["teams"])
def teams() -> dict[str, Any]:
    competition = _competition()
    pointer = _repository().pointer(competition)
    return {"competition": competition, "teams": pointer["teams"], "model": model_provenance(pointer)}


@app.get(
    "/competitions",
    operation_id="getCompetitions",
    summary="The competitions this deployment serves, published or on their way",
    tags=["competitions"],
)
def competitions() -> dict[str, Any]:
    repository = _repository()
    pointers = repository.pointers()
    return {
        "competitions": [
            competition_document(competition, pointers.get(competition)) for competition in repository.competitions
        ]
    }


def _date(name: str) -> date | None:
    given = app.current_event.get_query_string_value(name)
    return None if given is None else query_date(given, name)


def _fixture_dates(competition: str) -> tuple[date, date, str]:
    """(from, to, selection) of a /fixtures request: the range asked for, else the next round on or after
    `from` (today when not given); with neither given and nothing uploaded from today on, the last round."""
    first, last = _date("from"), _date("to")
    today = datetime.now(UTC).date()
    if last is not None:
        return (*date_range(first or today, last), "range")
    repository = _repository()
    start = repository.fixture_day(competition, first or today)
    if start is not None:
        return start, _shifted(start, ROUND_DAYS - 1), "next_round"
    end = None if first is not None else repository.fixture_day(competition, today, after=False)
    if end is not None:
        return _shifted(end, 1 - ROUND_DAYS), end, "last_round"
    return first or today, _shifted(first or today, ROUND_DAYS - 1), "next_round"


def _shifted(day: date, days: int) -> date:
    """`day` moved by `days`, held at the calendar's ends: a stored day from before the date rules stays a 200."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


@app.get(
    "/fixtures",
    operation_id="getFixtures",
    summary="The uploaded fixtures of a date range with our odds and each bookmaker's edge",
    tags=["fixtures"],
)
def uploaded_fixtures() -> Response[dict[str, Any] | str]:
    """A page of at most `limit` fixtures, with a `next` link (and a Link header) to the page after it."""
    competition = _competition()
    table_format = _table_format()
    limit = page_limit(app.current_event.get_query_string_value("limit"))
    repository = _repository()
    repository.pointer(competition)  # a competition not served, or without odds, is refused before any range
    first, last, selection = _fixture_dates(competition)
    given = app.current_event.get_query_string_value("cursor")
    after = None if given is None else page_cursor(given, first, last)
    items, last_key = repository.fixture_page(competition, first, last, limit, after)
    stored = fixtures_from_items(competition, items)
    odds, pointer = repository.priced_fixtures(competition, items)
    names = pointer["team_names"]
    priced = price_file(stored, stored_source(pointer["version"], names, odds), competition)
    following = None if last_key is None else _next_page(competition, first, last, limit, last_key, table_format)
    headers = {} if following is None else {"Link": f'<{following}>; rel="next"'}
    if table_format == "csv":
        filename = f"{competition}-fixtures-{first.isoformat()}-{last.isoformat()}.csv"
        return csv_download(priced_csv(priced), filename, headers)
    document = {
        "competition": competition,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "selection": selection,
        "model": model_provenance(pointer),
        **fixtures_document(priced, odds, names),
        "next": following,
    }
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document, headers=headers)


def _next_page(competition: str, first: date, last: date, limit: int, last_key: str, table_format: str) -> str:
    """The path and query of the page after the fixture at `last_key`: the same range, as from and to."""
    query = {"competition": competition, "from": first.isoformat(), "to": last.isoformat()}
    query |= {"limit": str(limit), "cursor": cursor_text(last_key)}
    if table_format == "csv":
        query["format"] = "csv"
    return f"{_base_path()}fixtures?{urlencode(query)}"


# Where the page takes the model's track record (static/track-record.json, from research.model_quality).
TRACK_RECORD_SLOT = "/*TRACK_RECORD*/null"


@cache
def page_html() -> str:
    """The page with the track record by league in it; it asks /competitions which competitions it can offer."""
    track_record = (STATIC / "track-record.json").read_text(encoding="utf-8").strip()
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    return page.replace(TRACK_RECORD_SLOT, track_record.replace("</", "<\\/"), 1)


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
