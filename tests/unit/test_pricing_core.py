"""matchodds.core.pricing: the priced rows, goals markets and edges from stored odds; the plain fixtures file."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from matchodds.core.keys import ContractError, parse_fixtures_key, priced_key
from matchodds.core.pricing import (
    MARKET_COLUMNS,
    goals_bookmakers,
    not_published_source,
    price_file,
    priced_csv,
    priced_document,
    stored_source,
)
from matchodds.core.results import ResultsError, parse_any_fixtures, parse_plain_fixtures

pytestmark = pytest.mark.unit
VERSION = "20250526T060000Z"
STORED = {
    ("ARS", "CHE"): {
        "home": "ARS",
        "away": "CHE",
        "p_home": 0.5,
        "p_draw": 0.25,
        "p_away": 0.25,
        "markets": {"over": {"2.5": 0.6}, "btts": 0.55},
    },
    ("LIV", "MCI"): {"home": "LIV", "away": "MCI", "p_home": 0.4, "p_draw": 0.3, "p_away": 0.3, "markets": None},
}
SOURCE = stored_source(VERSION, ["ARS", "CHE", "LIV", "MCI"], STORED)


def test_goals_markets_and_their_edges_come_from_the_stored_markets() -> None:
    text = (
        "Div,Date,HomeTeam,AwayTeam,B365H,B365D,B365A,B365>2.5,B365<2.5,P>2.5\n"
        "E0,24/05/2025,Arsenal,Chelsea,2.1,3.5,3.6,1.8,2.5,1.9\n"
    )
    priced = price_file(parse_any_fixtures(text, "f.csv", "E0"), SOURCE, "E0")
    assert goals_bookmakers(priced.fixtures.header) == ["B365"]  # P has no <2.5 column
    [row] = list(csv.DictReader(io.StringIO(priced_csv(priced))))
    assert [row[column] for column in MARKET_COLUMNS] == ["0.6000", "1.67", "2.50", "0.5500", "1.82", "2.22"]
    assert row["mo_edge_B365_over_2_5"] == f"{1.8 * 0.6 - 1:+.4f}" and row["mo_edge_B365_under_2_5"] == "+0.0000"
    assert float(row["mo_edge_B365H"]) == pytest.approx(0.05)
    [document] = priced_document(priced)["fixtures"]
    assert document["markets"]["btts_no"]["probability"] == pytest.approx(0.45)
    assert document["edges"]["B365"]["over_2_5"] == pytest.approx(0.08)


def test_an_item_without_markets_is_priced_on_1x2_alone() -> None:
    priced = price_file(parse_plain_fixtures("home,away\nLIV,MCI\n", "p.csv", "E0"), SOURCE, "E0")
    [row] = list(csv.DictReader(io.StringIO(priced_csv(priced))))
    assert row["mo_p_home"] == "0.4000" and row["mo_p_over_2_5"] == "" and row["mo_note"] == ""
    assert priced_document(priced)["fixtures"][0]["markets"] is None


def test_every_unpriceable_row_keeps_its_place_and_says_why() -> None:
    text = "home,away\nARS,CHE\nARS,XYZ\nCHE,ARS\n"
    priced = price_file(parse_plain_fixtures(text, "p.csv", "E0"), SOURCE, "E0")
    notes = [row.priced.note for row in priced.rows]
    assert notes == [None, "unknown team XYZ in competition E0", f"no odds stored for CHE v ARS in version {VERSION}"]
    assert priced.unpriced == 2
    waiting = price_file(parse_plain_fixtures(text, "p.csv", "E0"), not_published_source("not yet"), "E0")
    assert [row.priced.note for row in waiting.rows] == ["not yet"] * 3


def test_a_plain_file_takes_codes_and_football_data_names() -> None:
    fixtures = parse_any_fixtures("Home,Away\r\nARS,Chelsea\r\n\r\nMan City,Liverpool\r\n", "p.csv", "E0")
    assert [(f.home, f.away, f.date) for f in fixtures.fixtures] == [("ARS", "CHE", None), ("MCI", "LIV", None)]
    assert fixtures.header == ("Home", "Away") and fixtures.fixtures[1].cells == ("Man City", "Liverpool")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("home,away\n", "no fixtures in the file"),
        ("home,away\nARS\n", "line 2: empty home or away"),
        ("home,away\nARS,Arsenal\n", "line 2: ARS plays itself"),
        ("home,away\nARS,CHE\nArsenal,Chelsea\n", "line 3: ARS v CHE is listed twice"),
        ("", "the file is empty"),
        ("team,opponent\nARS,CHE\n", "missing column"),
    ],
)
def test_broken_plain_files_name_the_line(text: str, problem: str) -> None:
    with pytest.raises(ResultsError, match=problem):
        parse_any_fixtures(text, "p.csv", "E0")


def test_fixtures_and_priced_keys() -> None:
    assert parse_fixtures_key("fixtures/E0/week-38.csv") == ("E0", "week-38")
    assert parse_fixtures_key("fixtures/E0/a.b.csv") == ("E0", "a.b")
    # The key rule (matchodds.core.keys): one segment of [A-Za-z0-9._-] ending in lower-case .csv, or nothing.
    for key in ("fixtures/e0/x.csv", "fixtures/x.csv", "fixtures/E0/sub/x.csv", "priced/E0/x.csv"):
        assert parse_fixtures_key(key) is None
    for key in ("fixtures/SP1/upcoming", "fixtures/E0/week 38.csv", "fixtures/E0/x.CSV"):
        assert parse_fixtures_key(key) is None
    assert priced_key("E0", "week-38", "error.json") == "priced/E0/week-38.error.json"
    with pytest.raises(ContractError):
        priced_key("E0", "a/b", "csv")
    with pytest.raises(ContractError):
        priced_key("E0", "a", "xlsx")


def test_the_core_pricing_imports_no_numpy() -> None:
    code = "import sys, matchodds.core.pricing; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
