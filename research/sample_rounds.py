"""Derive the demo's sample rounds: a league's opening round as a football-data fixtures file.

    python -m research.sample_rounds data/football-data/D1/2023-24.csv matchodds/data/sample/fixtures-D1-2023-24.csv

A football-data fixtures file (fixtures.csv) has a season file's identity columns (Div, Date, Time,
HomeTeam, AwayTeam) and its pre-match odds (B365H up to the first closing column, B365CH), and no
goals, result, statistics or closing odds. The opening round is the season's first teams / 2 rows,
which football-data lists by date. The source's byte-order mark and line ends are kept, so the file
reads as the real fixtures files of that league do. tests/unit/test_sample_rounds.py checks that every
shipped sample round is this function of its season file.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

IDENTITY = ("Div", "Date", "Time", "HomeTeam", "AwayTeam")
FIRST_PRICE, FIRST_CLOSING = "B365H", "B365CH"
BOM = "\ufeff"


def opening_round(season_file: bytes) -> bytes:
    """The opening round of a football-data season file, as that league's fixtures file would hold it."""
    text = season_file.decode("utf-8")
    bom = BOM if text.startswith(BOM) else ""
    newline = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    header, matches = rows[0], [row for row in rows[1:] if any(row)]
    columns = [header.index(name) for name in IDENTITY]
    columns += range(header.index(FIRST_PRICE), header.index(FIRST_CLOSING))
    teams = {row[header.index(side)] for row in matches for side in ("HomeTeam", "AwayTeam")}
    round_ = matches[: len(teams) // 2]
    playing = [row[header.index(side)] for row in round_ for side in ("HomeTeam", "AwayTeam")]
    if len(set(playing)) != len(playing):
        raise ValueError("the first teams / 2 rows are not one round: a team plays twice in them")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerows([[row[i] for i in columns] for row in [header, *round_]])
    return (bom + out.getvalue()).encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m research.sample_rounds", description=__doc__.split("\n")[0])
    parser.add_argument("season", type=Path, help="a football-data season file")
    parser.add_argument("out", type=Path, help="where the fixtures file goes")
    args = parser.parse_args(argv)
    args.out.write_bytes(opening_round(args.season.read_bytes()))
    print(f"{args.season} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
