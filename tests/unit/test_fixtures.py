"""football-data fixtures files (results without the goals), and `matchodds price` on them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from entry.cli import main
from matchodds.core.posterior import Posterior, encode_posterior
from matchodds.core.pricing import OUR_COLUMNS, Priced, bookmakers, price_fixtures
from matchodds.core.results import ResultsError, parse_fixtures, parse_results, read_fixtures_file

pytestmark = pytest.mark.unit
FIXTURES = Path(__file__).parents[1] / "data" / "football-data" / "E0-2024-25-fixtures.csv"


def test_a_real_fixtures_file() -> None:
    fixtures = read_fixtures_file(FIXTURES)
    assert len(fixtures.fixtures) == 6 and fixtures.header[:5] == ("Div", "Date", "Time", "HomeTeam", "AwayTeam")
    first = fixtures.fixtures[0]
    assert (first.competition, first.date, first.home, first.away) == ("E0", date(2024, 8, 16), "MUN", "FUL")
    assert first.prices("B365H", "B365D", "B365A") == (1.6, 4.2, 5.25)
    assert first.cells[3] == "Man United" and len(first.cells) == len(fixtures.header)
    assert bookmakers(fixtures.header) == ["B365", "BW", "BF", "PS", "WH", "1XB", "Max", "Avg", "BFE"]


def test_a_results_file_still_needs_its_scores() -> None:
    text = FIXTURES.read_text(encoding="utf-8-sig")
    with pytest.raises(ResultsError, match="missing column"):
        parse_results(text, "fixtures.csv")
    with pytest.raises(ResultsError, match=r"line 2: FTHG '' is not a number"):
        parse_results("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,,\n", "r.csv")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("Div,Date,HomeTeam\nE0,16/08/2024,Arsenal\n", "missing column(s) AwayTeam; is this a football-data fixtures"),
        ("Div,Date,HomeTeam,AwayTeam\nE0,16-08-2024,Arsenal,Wolves\n", "line 2: date"),
        ("Div,Date,HomeTeam,AwayTeam\nE0,16/08/2024,Arsenal,Wolves\nE0,16/08/2024,Arsenal,Wolves\n", "listed twice"),
        ("Div,Date,HomeTeam,AwayTeam\n,,,\n", "no fixtures"),
    ],
)
def test_broken_fixtures_files(content: str, problem: str) -> None:
    with pytest.raises(ResultsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_fixtures(content, "fixtures.csv")


def fake_source(table: dict[tuple[str, str], tuple[float, float, float]]) -> Callable[..., dict]:
    asked: list[tuple[str, list]] = []

    def source(competition: str, pairs: list[tuple[str, str]]) -> dict:
        asked.append((competition, pairs))
        return {
            pair: Priced(table[pair], "20250526T060000Z") if pair in table else Priced(None, note=f"unknown {pair}")
            for pair in pairs
        }

    source.asked = asked  # type: ignore[attr-defined]
    return source


def test_price_adds_our_odds_and_each_bookmakers_edge() -> None:
    text = (
        "Div,Date,HomeTeam,AwayTeam,B365H,B365D,B365A,PSH,PSD,PSA,B365>2.5\r\n"
        "E0,16/08/2025,Liverpool,Bournemouth,1.25,6.5,11,1.27,,12,1.4\r\n"
        "E0,16/08/2025,Arsenal,Atlantis,2,3,4,2,3,4,1.9\r\n"
        "SP1,16/08/2025,Barcelona,Mallorca,1.2,7,13,1.2,7,13,1.5\r\n"
    )
    source = fake_source({("LIV", "BOU"): (0.8, 0.12, 0.08)})
    priced = price_fixtures(parse_fixtures(text, "fixtures.csv"), source, "E0")
    rows = list(csv.DictReader(io.StringIO(priced)))
    assert list(rows[0])[:11] == text.split("\r\n")[0].split(",")  # the file's own columns first, unchanged
    liverpool = rows[0]
    assert [liverpool[c] for c in OUR_COLUMNS[1:]] == ["0.8000", "0.1200", "0.0800", "1.25", "8.33", "12.50"]
    # edge = bookmaker price x our probability - 1
    assert float(liverpool["mo_edge_B365H"]) == pytest.approx(1.25 * 0.8 - 1)
    assert float(liverpool["mo_edge_B365A"]) == pytest.approx(11 * 0.08 - 1, abs=1e-4)
    assert liverpool["mo_edge_PSH"] == liverpool["mo_edge_PSD"] == liverpool["mo_edge_PSA"] == ""  # PSD missing
    assert "mo_edge_B365>2." not in liverpool and liverpool["mo_note"] == ""
    assert rows[1]["mo_p_home"] == "" and "unknown" in rows[1]["mo_note"]
    assert rows[2]["mo_p_home"] == "" and "only E0" in rows[2]["mo_note"]
    [(competition, pairs)] = source.asked  # one request: E0 only, both of its fixtures
    assert competition == "E0" and len(pairs) == 2 and pairs[0] == ("LIV", "BOU")


def test_price_command_with_a_posterior(tmp_path: Path, make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior(codes=("MUN", "FUL", "IPS", "LIV", "ARS", "WOL", "EVE", "BHA", "NEW", "SOU"))
    path = tmp_path / "posterior.npz"
    path.write_bytes(encode_posterior(posterior))
    out = tmp_path / "priced.csv"
    assert main(["price", str(FIXTURES), "--posterior", str(path), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 6
    for row in rows:
        if row["mo_note"]:  # a team this posterior does not have
            assert row["mo_p_home"] == ""
            continue
        p = [float(row[c]) for c in ("mo_p_home", "mo_p_draw", "mo_p_away")]
        assert sum(p) == pytest.approx(1, abs=2e-4) and row["mo_version"] == posterior.version
        assert float(row["mo_edge_AvgH"]) == pytest.approx(float(row["AvgH"]) * p[0] - 1, abs=1e-3)
    assert sum(1 for row in rows if not row["mo_note"]) >= 4


def test_price_command_refuses_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "fixtures.csv"
    broken.write_text("Div,Date\nE0,16/08/2025\n")
    assert main(["price", str(broken), "--posterior", str(tmp_path / "none.npz")]) == 2
    assert "missing column(s) HomeTeam, AwayTeam" in capsys.readouterr().err
