"""The contract's markets: stored compactly, served with fair prices, flattened into the odds table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from matchodds.core.documents import (
    TABLE_COLUMNS,
    fair_price,
    handicap_price,
    markets_document,
    table_csv,
    table_document,
    table_row,
)
from matchodds.core.grid import PredictionDraws, all_fixtures
from matchodds.core.items import odds_from_item, odds_item
from matchodds.core.keys import ContractError, export_key
from matchodds.core.markets import ASIAN_HANDICAP_QUARTERS, MARKETS_FIELD, handicap_label
from matchodds.core.posterior import Posterior
from services.precompute.exports import ExportTable
from services.precompute.pipeline import fixture_fields, odds_items

pytestmark = pytest.mark.unit
MAX_ITEM_BYTES = 400 * 1024


def stored_odds(make_posterior: Callable[..., Posterior]) -> list[dict]:
    posterior = make_posterior(spread=0.1)
    codes = posterior.team_codes
    return [
        odds_from_item(odds_item("E0", posterior.version, codes[f.home], codes[f.away], fixture_fields(f)))
        for f in all_fixtures(PredictionDraws.from_posterior(posterior), markets=True)
    ]


def test_fair_prices_by_hand() -> None:
    assert fair_price(0.25) == 4 and fair_price(0) is None
    # a quarter line with half results: (d - 1)(W + HW/2) = L + HL/2
    assert handicap_price(0.1, 0.3, 0, 0, 0.6) == pytest.approx(3.4)
    assert handicap_price(0.4, 0, 0.35, 0, 0.25) == pytest.approx(1 + 0.25 / 0.4)  # a push drops out
    assert handicap_price(0.4, 0, 0, 0.35, 0.25) == pytest.approx(1 + 0.425 / 0.4)
    assert handicap_price(0, 0, 0, 0, 1) is None


def test_labels() -> None:
    assert [handicap_label(q) for q in (-10, -3, -1, 0, 2, 5)] == ["-2.5", "-0.75", "-0.25", "0", "+0.5", "+1.25"]
    assert len(ASIAN_HANDICAP_QUARTERS) == 21


def test_markets_survive_storage_and_stay_small(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior(spread=0.1)
    fixture = next(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))
    fields = fixture_fields(fixture)
    item = odds_item("E0", posterior.version, "ARS", "CHE", fields)
    assert len(json.dumps(item, default=str)) < MAX_ITEM_BYTES / 50  # a few KB
    back = odds_from_item(item)[MARKETS_FIELD]
    assert back["btts"] == pytest.approx(fields[MARKETS_FIELD]["btts"], rel=1e-5)
    assert back["correct_score"] == pytest.approx(fields[MARKETS_FIELD]["correct_score"], rel=1e-5, abs=1e-12)
    assert back["asian_handicap"]["-0.75"] == pytest.approx(fields[MARKETS_FIELD]["asian_handicap"]["-0.75"], rel=1e-5)
    tiny = min(fields[MARKETS_FIELD]["correct_score"])
    assert tiny < 1e-5 and min(back["correct_score"]) == pytest.approx(tiny, rel=1e-5)  # digits, not places
    broken = {**fields, MARKETS_FIELD: {k: v for k, v in fields[MARKETS_FIELD].items() if k != "btts"}}
    with pytest.raises(ContractError, match="markets.btts"):
        odds_item("E0", posterior.version, "ARS", "CHE", broken)


def test_an_item_without_markets_still_reads() -> None:
    fields = {"p_home": 0.5, "p_draw": 0.3, "p_away": 0.2, "odds_home": 2.0, "odds_draw": 3.33, "odds_away": 5.0}
    fields |= {"xg_home": 1.5, "xg_away": 1.0, "likely_score": "1-0", "likely_score_p": 0.12}
    odds = odds_from_item(odds_item("E0", "20250526T060000Z", "ARS", "CHE", fields))
    assert odds[MARKETS_FIELD] is None
    row = table_row("E0", "20250526T060000Z", odds, {"ARS": "Arsenal", "CHE": "Chelsea"})
    assert row["p_home"] == 0.5 and row["odds_over_2.5"] is None and row["home_name"] == "Arsenal"


def test_the_served_markets_are_consistent(make_posterior: Callable[..., Posterior]) -> None:
    for odds in stored_odds(make_posterior):
        document = markets_document(odds[MARKETS_FIELD])
        markets = document["markets"]
        p_home, p_draw, p_away = odds["p_home"], odds["p_draw"], odds["p_away"]
        lines = {entry["line"]: entry for entry in markets["asian_handicap"]}
        assert lines[-0.5]["home"]["fair_odds"] == pytest.approx(odds["odds_home"], rel=1e-4)
        assert lines[0]["home"]["fair_odds"] == pytest.approx(markets["draw_no_bet"]["home"]["fair_odds"], rel=1e-4)
        assert lines[0.5]["home"]["fair_odds"] == pytest.approx(
            markets["double_chance"]["home_draw"]["fair_odds"], rel=1e-4
        )
        for entry in markets["asian_handicap"]:
            home, away = entry["home"], entry["away"]
            assert home["win"] == away["loss"] and home["half_win"] == away["half_loss"]
            if home["fair_odds"] and away["fair_odds"]:  # a fair two-way book at every line
                assert 1 / home["fair_odds"] + 1 / away["fair_odds"] == pytest.approx(1, abs=1e-5)
        for entry in markets["over_under"]:
            assert entry["over"]["probability"] + entry["under"]["probability"] == pytest.approx(1, abs=1e-12)
        assert markets["double_chance"]["draw_away"]["probability"] == pytest.approx(p_draw + p_away, abs=1e-5)
        grid = document["correct_score"]
        assert len(grid["probabilities"]) == 7 and all(len(row) == 7 for row in grid["probabilities"])
        assert sum(map(sum, grid["probabilities"])) + grid["other"] == pytest.approx(1, abs=1e-5)
        assert grid["likeliest"][0]["score"] == odds["likely_score"] and len(grid["likeliest"]) == 10
        intervals = document["credible_intervals"]
        assert intervals["mass"] == 0.9 and intervals["home"]["low"] <= p_home <= intervals["home"]["high"]
        assert p_home + p_draw + p_away == pytest.approx(1, abs=3e-6)


def test_table_rows_and_csv(make_posterior: Callable[..., Posterior]) -> None:
    odds = stored_odds(make_posterior)
    names = {code: f"Team {code}" for code in ("ARS", "CHE", "LIV", "MCI")}
    rows = [table_row("E0", "20250526T060000Z", entry, names) for entry in odds]
    assert all(list(row) == list(TABLE_COLUMNS) for row in rows)
    assert len(TABLE_COLUMNS) == len(set(TABLE_COLUMNS))
    first = rows[0]
    document = markets_document(odds[0][MARKETS_FIELD])
    assert first["odds_ah_home_-0.75"] == document["markets"]["asian_handicap"][7]["home"]["fair_odds"]
    assert first["p_home_low"] == document["credible_intervals"]["home"]["low"]
    assert first["odds_under_2.5"] == document["markets"]["over_under"][2]["under"]["fair_odds"]
    parsed = list(csv.DictReader(io.StringIO(table_csv(rows))))
    assert len(parsed) == len(rows) and float(parsed[0]["odds_ah_away_+1"]) == first["odds_ah_away_+1"]
    assert parsed[0]["home_name"] == "Team ARS"


def test_an_export_made_a_row_at_a_time_is_the_whole_table_serialised_at_once(
    make_posterior: Callable[..., Posterior],
) -> None:
    posterior = make_posterior(codes=("ARS", "CHE", "LIV", "MCI", "NFO"), spread=0.1)
    posterior = replace(posterior, team_names=("Arsenal", "Chelsea", "Liverpool", "Man City", 'Nott\'m Forest, "é"'))
    items = list(odds_items(posterior))
    teams = [
        {"code": code, "name": name} for code, name in zip(posterior.team_codes, posterior.team_names, strict=True)
    ]
    pointer = {
        "teams": teams,
        "model": "dixon_coles",
        "fitted_at": "2025-05-26T06:00:00+00:00",
        "data_from": "2024-08-16",
        "data_through": "2025-05-25",
        "matches": 380,
    }
    table = ExportTable("E0", posterior.version, pointer)
    for item in reversed(items):  # the order written need not be the table's
        assert table.add(item) is item
    names = {team["code"]: team["name"] for team in teams}
    rows = sorted(
        (table_row("E0", posterior.version, odds_from_item(item), names) for item in items),
        key=lambda row: (row["home"], row["away"]),
    )
    document = table_document("E0", {**pointer, "version": posterior.version}, rows)
    bodies = table.bodies()
    assert bodies["json"] == json.dumps(document, separators=(",", ":")).encode("utf-8")
    assert bodies["csv"] == table_csv(rows).encode("utf-8")
    assert len(json.loads(bodies["json"])["fixtures"]) == 20 and "é" in bodies["csv"].decode("utf-8")


def test_export_keys() -> None:
    assert export_key("E0", "20250526T060000Z", "csv") == "exports/E0/20250526T060000Z.csv"
    assert export_key("E0", "latest", "json") == "exports/E0/latest.json"
    for bad in (("E0", "../x", "csv"), ("E0", "latest", "xml"), ("e0/..", "latest", "csv")):
        with pytest.raises(ContractError):
            export_key(*bad)
