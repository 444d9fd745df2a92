"""Stable three-letter team codes, mapped from football-data.co.uk's short team names.

The table (data/teams.csv) covers every team in the shipped E0, D1, F1, I1 and SP1 files. A name
that is not in it (a new league, a newly promoted club) gets a code made for it, with a warning,
so that a user's file never fails for want of a table row.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TEAMS_CSV = Path(__file__).parents[1] / "data" / "teams.csv"
logger = logging.getLogger(__name__)


@dataclass
class TeamTable:
    """football-data name -> code, code -> display name; grows when it meets an unknown name."""

    codes_by_name: dict[tuple[str, str], str]
    names_by_code: dict[str, str]
    made_up: dict[str, str] = field(default_factory=dict)

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
        """The code of a team as football-data names it in a league; made up if unknown."""
        known = self.codes_by_name.get((league, football_data_name))
        if known is None:
            known = self._code_anywhere(football_data_name)
        if known is None:
            known = self._make_code(football_data_name)
            self.codes_by_name[(league, football_data_name)] = known
            self.names_by_code[known] = football_data_name
            self.made_up[football_data_name] = known
            logger.warning(
                "team %r (%s) is not in the code table; using the made-up code %s",
                football_data_name,
                league,
                known,
            )
        return known

    def name(self, code: str) -> str:
        return self.names_by_code.get(code, code)

    def _code_anywhere(self, football_data_name: str) -> str | None:
        for (_, name), code in self.codes_by_name.items():
            if name == football_data_name:
                return code
        return None

    def _make_code(self, football_data_name: str) -> str:
        letters = re.sub(r"[^A-Z]", "", football_data_name.upper()) or "XXX"
        candidates = [letters[:3].ljust(3, "X")]
        candidates += [letters[0] + a + b for a in letters[1:] for b in letters[2:]]
        candidates += [letters[0] + a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
        for candidate in candidates:
            if len(candidate) == 3 and candidate not in self.names_by_code:
                return candidate
        raise ValueError(f"no free code left for {football_data_name!r}")


@cache
def default_table() -> TeamTable:
    """The shipped table, loaded once per process."""
    return TeamTable.load()
