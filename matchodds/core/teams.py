"""Stable three-letter team codes, mapped from football-data.co.uk's short team names.

The table (data/teams.csv) covers every team in the shipped E0, D1, F1, I1 and SP1 files. A name
that is not in it (another division, a newly promoted club) gets a code made for it, with a warning,
so that a user's file never fails for want of a table row.

A made-up code is a pure function of the name: the name's initial and two letters drawn from a
SHA-256 digest of it, never one of the table's codes. So the same club has the same code in every
process, season file and order of reading, in the fit that publishes it as in `matchodds price`
reading a fixtures file on its own, and keeps it when it moves between two divisions the table lacks.

Why not the name's first letters: clubs of one division often begin alike (Dundee, Dundee United
and Dunfermline are all DUN; Queens Park and Queen of Sth are QUE), and a code that depends on the
name alone cannot give both of two such clubs their readable code. Deciding which one keeps it needs
the other names, which a file does not always hold, so a club would change code with the company it
keeps. Two names with the same initial share a digest code 1 time in 676; that rare case is caught:
within a division, a name whose code another made-up name already has takes its digest's next code,
with a warning, since those two clubs should get table rows. The names are served beside the codes,
so a code need not spell its club.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

TEAMS_CSV = Path(__file__).parents[1] / "data" / "teams.csv"
logger = logging.getLogger(__name__)
LETTERS = string.ascii_uppercase
# Candidates keep the name's initial for this many draws, then range over every code: far more than
# the table's 210 codes and a division's made-up ones could ever block.
INITIAL_DRAWS = 64
MAX_DRAWS = 4096
# A team name as a file may give it. The longest in every shipped file and in the table is 24
# characters (Borussia Monchengladbach); 40 admits any real club and refuses a name that would bloat
# every posterior, table and export that carries it (a 120,000-character one broke precompute).
MAX_TEAM_NAME = 40
# What a spreadsheet takes for a formula when a cell starts with it (CSV injection): the exports carry
# team names into users' spreadsheets, so no name may start with one. Tab and CR are refused anyway.
FORMULA_STARTS = frozenset("=+-@\t\r")


def team_name_problem(name: str) -> str | None:
    """What is wrong with a team name a file gives (too long, unprintable, a formula), or None if it is fine."""
    if len(name) > MAX_TEAM_NAME:
        return f"is {len(name)} characters long (at most {MAX_TEAM_NAME})"
    return _character_problem(name)


@lru_cache(maxsize=4096)  # a league file names its few dozen clubs hundreds of times each
def _character_problem(name: str) -> str | None:
    # isprintable() is False for control, format (zero-width, bidi), private-use, unassigned and
    # separator characters other than the space: none belongs in a club's name.
    hidden = next((char for char in name if not char.isprintable()), None)
    if hidden is not None:
        return f"has the unprintable character U+{ord(hidden):04X} ({unicodedata.category(hidden)})"
    # NFKC too: a full-width ＝ is an = to some spreadsheets.
    if name[:1] in FORMULA_STARTS or unicodedata.normalize("NFKC", name)[:1] in FORMULA_STARTS:
        return f"starts with {name[:1]!r}, which a spreadsheet would take for a formula"
    return None


def made_up_codes(football_data_name: str) -> Iterator[str]:
    """The codes a name the table lacks can take, best first: a pure function of the name."""
    folded = unicodedata.normalize("NFKD", football_data_name).encode("ascii", "ignore").decode().upper()
    initial = next((letter for letter in folded if letter in LETTERS), None)
    for draw in range(MAX_DRAWS):
        digest = hashlib.sha256(f"{draw}:{football_data_name}".encode()).digest()
        number = int.from_bytes(digest[:8], "big")
        if initial is not None and draw < INITIAL_DRAWS:
            yield initial + LETTERS[number // 26 % 26] + LETTERS[number % 26]
        else:
            yield LETTERS[number // 676 % 26] + LETTERS[number // 26 % 26] + LETTERS[number % 26]


@dataclass
class TeamTable:
    """football-data name -> code, code -> display name; makes up a code for a name it lacks."""

    codes_by_name: dict[tuple[str, str], str]
    names_by_code: dict[str, str]
    # (league, football-data name) -> its made-up code, and (league, made-up code) -> the name.
    made_up: dict[tuple[str, str], str] = field(default_factory=dict)
    made_up_names: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = TEAMS_CSV) -> TeamTable:
        codes_by_name: dict[tuple[str, str], str] = {}
        names_by_code: dict[str, str] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                codes_by_name[(row["league"], row["football_data_name"])] = row["code"]
                names_by_code[row["code"]] = row["name"]
        return cls(codes_by_name, names_by_code)

    def code(self, league: str, football_data_name: str) -> str:
        """The code of a team as football-data names it in a league; made up if the table lacks it."""
        known = self.codes_by_name.get((league, football_data_name))
        if known is None:
            known = self._code_anywhere(football_data_name)
        if known is None:
            known = self.made_up.get((league, football_data_name))
        if known is None:
            known = self._make_code(league, football_data_name)
            self.made_up[(league, football_data_name)] = known
            self.made_up_names[(league, known)] = football_data_name
            # Expected in a division the table lacks; in one it covers, a club the table should have had.
            covered = any(table_league == league for table_league, _ in self.codes_by_name)
            logger.log(
                logging.WARNING if covered else logging.INFO,
                "team %r (%s) is not in the code table; using the made-up code %s",
                football_data_name,
                league,
                known,
            )
        return known

    def name(self, code: str, league: str | None = None) -> str:
        """A code's display name: the table's, or a made-up code's football-data name (in `league` if given)."""
        if code in self.names_by_code:
            return self.names_by_code[code]
        for (made_in, made_code), football_data_name in self.made_up_names.items():
            if made_code == code and league in (None, made_in):
                return football_data_name
        return code

    def _code_anywhere(self, football_data_name: str) -> str | None:
        """The table's code for a name listed under another league: a club keeps its code when it moves."""
        for (_, name), code in self.codes_by_name.items():
            if name == football_data_name:
                return code
        return None

    def _make_code(self, league: str, football_data_name: str) -> str:
        first_choice = None
        for candidate in made_up_codes(football_data_name):
            if candidate in self.names_by_code:
                continue
            first_choice = first_choice or candidate
            holder = self.made_up_names.get((league, candidate))
            if holder is None:
                if candidate != first_choice:
                    logger.warning(
                        "teams %r and %r (%s) both have the made-up code %s; %r gets %s instead, and which of "
                        "the two gets which depends on the order they are met: give them rows in %s",
                        self.made_up_names[(league, first_choice)],
                        football_data_name,
                        league,
                        first_choice,
                        football_data_name,
                        candidate,
                        TEAMS_CSV.name,
                    )
                return candidate
        raise ValueError(f"no free code left for {football_data_name!r} in {league}")


@cache
def default_table() -> TeamTable:
    """The shipped table, loaded once per process."""
    return TeamTable.load()
