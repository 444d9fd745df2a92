"""What is served: fair prices, the markets document, the flat odds table and its CSV, the model's provenance."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from matchodds.core.items import ODDS_FIELDS
from matchodds.core.markets import (
    ASIAN_HANDICAP_QUARTERS,
    CORRECT_SCORE_MAX_GOALS,
    CREDIBLE_MASS,
    DOUBLE_CHANCE,
    HANDICAP_OUTCOMES,
    MARKETS_FIELD,
    OUTCOMES,
    OVER_UNDER_LINES,
    PRICE_PLACES,
    goals_label,
    handicap_label,
)

# --- What is served: fair prices, the markets document, the flat odds table -------------------------
# One definition for the query API (per fixture and in bulk), the S3 exports and `matchodds price`.


def fair_price(probability: float) -> float | None:
    """The decimal price at which a bet on an outcome of this probability breaks even; None if impossible."""
    return round(1 / probability, PRICE_PLACES) if probability > 0 else None


def handicap_price(win: float, half_win: float, push: float, half_loss: float, loss: float) -> float | None:
    """The fair decimal price d of a bet that can be half won, void or half lost: E[payout] = stake.

    (d - 1) * (win + half_win / 2) = loss + half_loss / 2; a push returns the stake and drops out.
    """
    backed = win + half_win / 2
    return round(1 + (loss + half_loss / 2) / backed, PRICE_PLACES) if backed > 0 else None


def priced(probability: float) -> dict[str, float | None]:
    return {"probability": probability, "fair_odds": fair_price(probability)}


def complement(probability: float) -> float:
    """1 - p without the binary noise of the subtraction (stored numbers have 6 significant digits)."""
    return round(1 - probability, 12)


def _handicap_side(outcomes: list[float]) -> dict[str, float | None]:
    return {**dict(zip(HANDICAP_OUTCOMES, outcomes, strict=True)), "fair_odds": handicap_price(*outcomes)}


def markets_document(markets: dict[str, Any]) -> dict[str, Any]:
    """The served form of a stored markets map: every probability with its fair price."""
    over = markets["over"]
    handicaps = markets["asian_handicap"]
    size = CORRECT_SCORE_MAX_GOALS + 1
    grid = [markets["correct_score"][row * size : (row + 1) * size] for row in range(size)]
    return {
        "credible_intervals": {
            "mass": CREDIBLE_MASS,
            **{outcome: {"low": low, "high": high} for outcome, (low, high) in markets["intervals"].items()},
        },
        "markets": {
            "over_under": [
                {
                    "line": line,
                    "over": priced(over[goals_label(line)]),
                    "under": priced(complement(over[goals_label(line)])),
                }
                for line in OVER_UNDER_LINES
            ],
            "both_teams_to_score": {"yes": priced(markets["btts"]), "no": priced(complement(markets["btts"]))},
            "double_chance": {name: priced(markets["double_chance"][name]) for name in DOUBLE_CHANCE},
            "draw_no_bet": {side: priced(markets["draw_no_bet"][side]) for side in ("home", "away")},
            "asian_handicap": [
                {
                    "line": quarters / 4,
                    "home": _handicap_side(handicaps[handicap_label(quarters)]),
                    "away": _handicap_side(handicaps[handicap_label(quarters)][::-1]),
                }
                for quarters in ASIAN_HANDICAP_QUARTERS
            ],
        },
        "correct_score": {
            "max_goals": CORRECT_SCORE_MAX_GOALS,
            "probabilities": grid,
            "fair_odds": [[fair_price(cell) for cell in row] for row in grid],
            "other": max(0.0, complement(sum(markets["correct_score"]))),
            "likeliest": [
                {"score": entry["score"], "probability": entry["p"], "fair_odds": fair_price(entry["p"])}
                for entry in markets["likeliest"]
            ],
        },
    }


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


def _table_columns() -> tuple[str, ...]:
    columns = ["competition", "version", "home", "away", "home_name", "away_name"]
    for outcome in OUTCOMES:
        columns += [f"p_{outcome}", f"p_{outcome}_low", f"p_{outcome}_high"]
    columns += [f"odds_{outcome}" for outcome in OUTCOMES]
    columns += ["xg_home", "xg_away", "likely_score", "likely_score_p"]
    for line in map(goals_label, OVER_UNDER_LINES):
        columns += [f"p_over_{line}", f"odds_over_{line}", f"odds_under_{line}"]
    columns += ["p_btts", "odds_btts_yes", "odds_btts_no"]
    columns += [f"odds_{name}" for name in DOUBLE_CHANCE]
    columns += ["odds_dnb_home", "odds_dnb_away"]
    for line in map(handicap_label, ASIAN_HANDICAP_QUARTERS):
        columns += [f"odds_ah_home_{line}", f"odds_ah_away_{line}"]
    return tuple(columns)


# The odds table's columns: one row per ordered pairing; the ah lines are the home team's handicap.
TABLE_COLUMNS = _table_columns()


def table_row(competition: str, version: str, odds: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One flat row of the odds table from the fields odds_from_item returns; markets empty on an older item."""
    home, away = odds["home"], odds["away"]
    row: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS)
    row.update(competition=competition, version=version, home=home, away=away)
    row.update(home_name=names.get(home), away_name=names.get(away))
    row.update({name: odds[name] for name in ODDS_FIELDS})
    if odds.get(MARKETS_FIELD) is None:
        return row
    document = markets_document(odds[MARKETS_FIELD])
    for outcome in OUTCOMES:
        interval = document["credible_intervals"][outcome]
        row[f"p_{outcome}_low"], row[f"p_{outcome}_high"] = interval["low"], interval["high"]
    markets = document["markets"]
    for entry in markets["over_under"]:
        line = goals_label(entry["line"])
        row[f"p_over_{line}"] = entry["over"]["probability"]
        row[f"odds_over_{line}"], row[f"odds_under_{line}"] = entry["over"]["fair_odds"], entry["under"]["fair_odds"]
    btts = markets["both_teams_to_score"]
    row.update(p_btts=btts["yes"]["probability"], odds_btts_yes=btts["yes"]["fair_odds"])
    row["odds_btts_no"] = btts["no"]["fair_odds"]
    row.update({f"odds_{name}": markets["double_chance"][name]["fair_odds"] for name in DOUBLE_CHANCE})
    row.update({f"odds_dnb_{side}": markets["draw_no_bet"][side]["fair_odds"] for side in ("home", "away")})
    for entry, quarters in zip(markets["asian_handicap"], ASIAN_HANDICAP_QUARTERS, strict=True):
        line = handicap_label(quarters)
        row[f"odds_ah_home_{line}"] = entry["home"]["fair_odds"]
        row[f"odds_ah_away_{line}"] = entry["away"]["fair_odds"]
    return row


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


TABLE_CSV_HEADER = _csv_line(TABLE_COLUMNS)


def table_csv_line(row: dict[str, Any]) -> str:
    """One row of the odds table as a CSV line, empty cells for missing values."""
    return _csv_line("" if row[column] is None else row[column] for column in TABLE_COLUMNS)


def table_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The odds table as CSV text: a header of TABLE_COLUMNS, then a line per row."""
    return TABLE_CSV_HEADER + "".join(map(table_csv_line, rows))


def posterior_provenance(meta: dict[str, Any]) -> dict[str, Any]:
    """What a version's pointer records of the model and its data, from its posterior's meta."""
    window = meta["data_window"]
    return {
        "fitted_at": meta["created_at"],
        "data_from": window["first_match"],
        "data_through": window["last_match"],
        "matches": window["matches"],
        "model": meta["model"]["name"],
    }


def model_provenance(pointer: dict[str, Any]) -> dict[str, Any]:
    """What a reply says about the model behind the odds, from the competition's pointer."""
    return {
        "version": pointer["version"],
        "name": pointer["model"],
        "fitted_at": pointer["fitted_at"],
        "data_from": pointer["data_from"],
        "data_through": pointer["data_through"],
        "matches": pointer["matches"],
    }


def table_document(competition: str, pointer: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The odds table as JSON: the same rows as the CSV, with the model's provenance once."""
    return {"competition": competition, "model": model_provenance(pointer), "columns": TABLE_COLUMNS, "fixtures": rows}


# --- The season table and its projection: GET /table and exports/<c>/<version>-table.* --------
SEASON_TABLE_COLUMNS = (
    "position",
    "code",
    "name",
    "played",
    "won",
    "drawn",
    "lost",
    "goals_for",
    "goals_against",
    "goal_difference",
    "points",
)
PROJECTION_COLUMNS = (
    "expected_points",
    "points_low",
    "points_high",
    "expected_position",
    "p_title",
    "p_europe",
    "p_playoff",
    "p_relegation",
)


def season_table_document(competition: str, pointer: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The season table as served: the stored document with the competition and the model's provenance first."""
    return {"competition": competition, "model": model_provenance(pointer), **stored}


def season_table_csv(document: dict[str, Any]) -> str:
    """The season table as CSV: one row per team in its current position, then P(finishing 1st, 2nd, ...)."""
    teams = document["teams"]
    position_columns = [f"p_position_{position}" for position in range(1, len(teams) + 1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["competition", "version", "season", *SEASON_TABLE_COLUMNS, *PROJECTION_COLUMNS, *position_columns])
    for team in teams:
        projection = team["projection"]
        interval = projection["points_interval"]
        numbers = {**projection, "points_low": interval["low"], "points_high": interval["high"]}
        writer.writerow(
            [
                document["competition"],
                document["model"]["version"],
                document["season"],
                *(team[column] for column in SEASON_TABLE_COLUMNS),
                *("" if numbers[column] is None else numbers[column] for column in PROJECTION_COLUMNS),
                *projection["positions"],
            ]
        )
    return buffer.getvalue()
