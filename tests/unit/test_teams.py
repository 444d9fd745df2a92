"""The code table: complete, unique, stable."""

from __future__ import annotations

import csv
import re

import pytest

from matchodds.core.teams import TEAMS_CSV, TeamTable

pytestmark = pytest.mark.unit

# Every club in the EPL from 2012-13 to 2024-25, as football-data names them.
EPL_SINCE_2012 = {
    "Arsenal": "ARS",
    "Aston Villa": "AVL",
    "Bournemouth": "BOU",
    "Brentford": "BRE",
    "Brighton": "BHA",
    "Burnley": "BUR",
    "Cardiff": "CAR",
    "Chelsea": "CHE",
    "Crystal Palace": "CRY",
    "Everton": "EVE",
    "Fulham": "FUL",
    "Huddersfield": "HUD",
    "Hull": "HUL",
    "Ipswich": "IPS",
    "Leeds": "LEE",
    "Leicester": "LEI",
    "Liverpool": "LIV",
    "Luton": "LUT",
    "Man City": "MCI",
    "Man United": "MUN",
    "Middlesbrough": "MID",
    "Newcastle": "NEW",
    "Norwich": "NOR",
    "Nott'm Forest": "NFO",
    "QPR": "QPR",
    "Reading": "RDG",
    "Sheffield United": "SHU",
    "Southampton": "SOU",
    "Stoke": "STK",
    "Sunderland": "SUN",
    "Swansea": "SWA",
    "Tottenham": "TOT",
    "Watford": "WAT",
    "West Brom": "WBA",
    "West Ham": "WHU",
    "Wigan": "WIG",
    "Wolves": "WOL",
}


def test_every_epl_team_since_2012_has_its_code() -> None:
    table = TeamTable.load()
    assert {name: table.code("E0", name) for name in EPL_SINCE_2012} == EPL_SINCE_2012
    assert not table.made_up


def test_codes_are_unique_three_letter_codes_one_club_each() -> None:
    with TEAMS_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["league"] for row in rows} == {"E0", "D1", "F1", "I1", "SP1"}
    assert all(re.fullmatch(r"[A-Z]{3}", row["code"]) for row in rows)
    names_by_code: dict[str, set[str]] = {}
    for row in rows:
        names_by_code.setdefault(row["code"], set()).add(row["name"])
    assert all(len(names) == 1 for names in names_by_code.values())
    assert len({(row["league"], row["football_data_name"]) for row in rows}) == len(rows)
