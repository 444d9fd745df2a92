"""The HTTP API's routes: validate input, ask the repository, shape the reply. Errors map here, once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from matchodds.contract import COMPETITION_RE, DEFAULT_COMPETITION, TEAM_CODE_RE
from services.query.repository import OddsNotReady, OddsReader, UnknownTeam

logger = Logger(service="query")
app = APIGatewayHttpResolver()


class BadRequest(ValueError):
    """The request itself is wrong: a malformed code or competition, the same team twice."""


def _repository() -> OddsReader:
    """The request's repository, handed in by the handler with app.append_context(reader=...)."""
    reader = app.context.get("reader")
    if not isinstance(reader, OddsReader):
        raise RuntimeError("the query app was resolved without an OddsReader in its context")
    return reader


def _competition() -> str:
    given = app.current_event.get_query_string_value("competition")
    competition = DEFAULT_COMPETITION if given is None else given.upper()
    if not COMPETITION_RE.match(competition):
        raise BadRequest(f"competition {competition[:20]!r} is not a competition code such as E0 or SP1")
    return competition


def _team_code(text: str) -> str:
    code = text.upper()
    if not TEAM_CODE_RE.match(code):
        raise BadRequest(f"team {text[:20]!r} is not a three-letter team code such as ARS")
    return code


def _error(status: int, error: str, message: str, **extra: Any) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error, "message": message, **extra},
    )


@app.exception_handler(BadRequest)
def _bad_request(error: BadRequest) -> Response:
    return _error(400, "bad_request", str(error))


@app.exception_handler(UnknownTeam)
def _unknown_team(error: UnknownTeam) -> Response:
    return _error(404, "unknown_team", str(error), teams=error.codes, competition=error.competition)


@app.exception_handler(OddsNotReady)
def _not_ready(error: OddsNotReady) -> Response:
    return _error(503, "not_ready", str(error), competition=error.competition)


@app.get("/odds/<home>/<away>")
def fixture_odds(home: str, away: str) -> dict[str, Any]:
    competition = _competition()
    home_code, away_code = _team_code(home), _team_code(away)
    if home_code == away_code:
        raise BadRequest(f"a team cannot play itself: {home_code} v {away_code}")
    odds, pointer = _repository().fixture(competition, home_code, away_code)
    names = pointer["team_names"]
    return {
        "competition": competition,
        "home": {"code": home_code, "name": names[home_code]},
        "away": {"code": away_code, "name": names[away_code]},
        "probabilities": {"home": odds["p_home"], "draw": odds["p_draw"], "away": odds["p_away"]},
        "fair_odds": {"home": odds["odds_home"], "draw": odds["odds_draw"], "away": odds["odds_away"]},
        "expected_goals": {"home": odds["xg_home"], "away": odds["xg_away"]},
        "most_likely_score": {"score": odds["likely_score"], "probability": odds["likely_score_p"]},
        "model": _provenance(pointer),
    }


@app.get("/teams")
def teams() -> dict[str, Any]:
    competition = _competition()
    pointer = _repository().pointer(competition)
    return {"competition": competition, "teams": pointer["teams"], "model": _provenance(pointer)}


def _provenance(pointer: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": pointer["version"],
        "name": pointer["model"],
        "fitted_at": pointer["fitted_at"],
        "data_from": pointer["data_from"],
        "data_through": pointer["data_through"],
        "matches": pointer["matches"],
    }
