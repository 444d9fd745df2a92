"""Codes made up for clubs the table lacks: a pure function of the name, never a table code, apart within a league."""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matchodds.core.results import decode, parse_results
from matchodds.core.teams import TeamTable, made_up_codes

pytestmark = pytest.mark.unit
REPO_ROOT = Path(__file__).parents[2]
SAMPLE_SEASON = REPO_ROOT / "matchodds" / "data" / "sample" / "E0-2024-25.csv"
# Clubs of one division that begin alike: their first three letters are one code (DUN, QUE, EAS).
ALIKE = ("Dundee", "Dundee United", "Dunfermline", "Queens Park", "Queen of Sth", "East Fife", "East Stirling")
# The shipped EPL season re-badged as the Eredivisie, a division the table lacks: the real file's
# rows, dates, scores and quirks (BOM, CRLF), with Dutch clubs as football-data names them.
EREDIVISIE = {
    "Arsenal": "Ajax",
    "Aston Villa": "AZ Alkmaar",
    "Bournemouth": "Feyenoord",
    "Brentford": "PSV Eindhoven",
    "Brighton": "Twente",
    "Chelsea": "Utrecht",
    "Crystal Palace": "Go Ahead Eagles",
    "Everton": "Nijmegen",
    "Fulham": "For Sittard",
    "Ipswich": "Heerenveen",
    "Leicester": "Sparta Rotterdam",
    "Liverpool": "Groningen",
    "Man City": "Zwolle",
    "Man United": "Heracles",
    "Newcastle": "NAC Breda",
    "Nott'm Forest": "Willem II",
    "Southampton": "Waalwijk",
    "Tottenham": "Almere City",
    "West Ham": "Den Haag",
    "Wolves": "Den Bosch",
}


def eredivisie_season(rows: slice = slice(None)) -> bytes:
    """The shipped E0 2024-25 file as a Dutch N1 file (the rows of `rows` only), as football-data writes one."""
    text = SAMPLE_SEASON.read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    header, body = records[0], records[1:][rows]
    column = {name: position for position, name in enumerate(header)}
    for record in body:
        record[column["Div"]] = "N1"
        for side in ("HomeTeam", "AwayTeam"):
            record[column[side]] = EREDIVISIE[record[column[side]]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    return "\ufeff".encode() + out.getvalue().encode()


def codes_of(file: bytes, table: TeamTable | None = None) -> dict[str, str]:
    """football-data name -> code for every team of a results file, parsed with a fresh table."""
    table = table or TeamTable.load()
    names = {}
    for match in parse_results(decode(file), "N1.csv", table):
        names[table.name(match.home, "N1")] = match.home
        names[table.name(match.away, "N1")] = match.away
    return names


def test_a_made_up_code_is_the_names_initial_and_never_a_table_code() -> None:
    table = TeamTable.load()
    shipped = set(table.names_by_code)
    for name in (*ALIKE, *EREDIVISIE.values(), "Málaga B", "1860"):
        code = table.code("SC1", name)
        assert len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
        assert code not in shipped
        folded = name.replace("á", "a")
        assert code[0] == next((c for c in folded.upper() if c.isalpha()), code[0])


def test_clubs_that_begin_alike_get_different_codes_and_each_the_same_in_every_order() -> None:
    alone = {name: TeamTable.load().code("SC1", name) for name in ALIKE}
    assert len(set(alone.values())) == len(ALIKE)
    for order in itertools.islice(itertools.permutations(ALIKE), 0, None, 97):
        table = TeamTable.load()
        assert {name: table.code("SC1", name) for name in order} == alone


def test_a_club_keeps_its_code_when_it_moves_between_two_divisions_the_table_lacks() -> None:
    table = TeamTable.load()
    assert table.code("SC0", "Dundee United") == table.code("SC1", "Dundee United")
    assert table.name(table.code("SC0", "Dundee United"), "SC1") == "Dundee United"


def test_a_club_the_table_lists_under_another_league_keeps_the_tables_code() -> None:
    table = TeamTable.load()
    assert table.code("E1", "Sheffield Weds") == table.code("E0", "Sheffield Weds")
    assert not table.made_up


def test_a_real_file_of_a_division_the_table_lacks_gets_twenty_stable_codes(caplog: pytest.LogCaptureFixture) -> None:
    season = eredivisie_season()
    with caplog.at_level(logging.INFO):
        codes = codes_of(season)
    assert set(codes) == set(EREDIVISIE.values())  # names are served beside codes: each code names its club
    assert len(set(codes.values())) == 20
    assert not set(codes.values()) & set(TeamTable.load().names_by_code)
    # Told, not warned: a division the table lacks is expected to make up its codes.
    assert "'Ajax' (N1) is not in the code table" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]

    # The second half of the season as a file of its own (which meets the clubs in another order; Den
    # Haag and Den Bosch begin alike), and then the whole season after it: every club has the same code.
    assert codes_of(eredivisie_season(slice(190, None))) == codes
    table = TeamTable.load()
    codes_of(eredivisie_season(slice(190, None)), table)
    assert codes_of(season, table) == codes
    assert codes_of(eredivisie_season(slice(0, 12))).items() <= codes.items()


def test_the_codes_are_the_same_in_another_process() -> None:
    # Another interpreter, with another str hash seed: a code drawn from hash() would differ here.
    script = (
        "import json, sys; from matchodds.core.teams import TeamTable; t = TeamTable.load(); "
        "print(json.dumps({n: t.code('N1', n) for n in json.loads(sys.argv[1])}))"
    )
    names = sorted(EREDIVISIE.values())
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(names)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=REPO_ROOT,
    )
    table = TeamTable.load()
    assert json.loads(out.stdout) == {name: table.code("N1", name) for name in names}


def first_choice_clash() -> tuple[str, str]:
    """Two names whose digests draw the same first code: the rare case of two clubs with one made-up code."""
    shipped = set(TeamTable.load().names_by_code)
    seen: dict[str, str] = {}
    for number in range(5000):
        name = f"Club {number}"
        first = next(code for code in made_up_codes(name) if code not in shipped)
        if first in seen:
            return seen[first], name
        seen[first] = name
    raise AssertionError("no two names share a first code")


def test_two_names_whose_digests_clash_still_get_different_codes(caplog: pytest.LogCaptureFixture) -> None:
    one, other = first_choice_clash()
    for first, second in ((one, other), (other, one)):
        table = TeamTable.load()
        with caplog.at_level(logging.WARNING):
            codes = {first: table.code("E3", first), second: table.code("E3", second)}
        assert codes[one] != codes[other]
        assert codes[first] == TeamTable.load().code("E3", first)  # the one met first keeps its own code
        assert f"{first!r} and {second!r} (E3) both have the made-up code" in caplog.text
        assert {table.name(code, "E3") for code in codes.values()} == {one, other}
    # In another league the two never meet: each keeps its own code there.
    table = TeamTable.load()
    assert table.code("E3", one) == table.code("EC", other)


def test_a_club_missing_from_a_division_the_table_covers_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        TeamTable.load().code("E0", "Newly Promoted Town")
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "'Newly Promoted Town' (E0)" in record.getMessage()
