"""Where a user's file goes in the bucket: results or fixtures, under which competitions, by which name.

`matchodds upload` and the demo both plan here, so a file lands under the same key whoever uploads it.
Each file is read by the parser of the service that will read it (the fit's for results, the pricing
Lambda's for fixtures), so a file they would refuse is refused here first, naming the file and line,
and a plan with one bad file puts nothing.

Names: football-data re-publishes a season's results every week under one name (E0.csv), so a results
file is stored as its season, results/E0/2024-25.csv, and next week's E0.csv replaces it instead of
piling up beside it. The season is the one the fit gives the file (that of its first match: the parser
refuses a file that spans more than a season). A fixtures file keeps its own name, made one the key rule
takes (keys.safe_file_name: week 34.CSV is stored as week-34.csv), and its priced files take it; a name
given (--name) goes through the same rule. So upload writes only keys the fit and pricing read.
A file is refused over MAX_FILE_BYTES before it is decoded. A file with rows of several divisions
(football-data's all-leagues fixtures.csv) goes under each division's prefix, cut to that division's
rows as written, so each competition's pricing or fit reads its own rows only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from matchodds.core.keys import (
    COMPETITION_RE,
    CSV_SUFFIX,
    ContractError,
    fixtures_key,
    parse_fixtures_key,
    priced_key,
    results_key,
    safe_file_name,
)
from matchodds.core.results import (
    FileKind,
    ResultsError,
    check_file_size,
    decode,
    file_kind,
    parse_fixtures,
    parse_plain_fixtures,
    parse_results,
    shown,
)
from matchodds.core.teams import TeamTable


@dataclass(frozen=True)
class Upload:
    """One object to put: the file it comes from, what it is, its competition, its key and its bytes."""

    source: str
    kind: FileKind
    competition: str
    key: str
    body: bytes = field(repr=False)

    @property
    def follows(self) -> str:
        """What the stack does once the object is in the bucket."""
        if self.kind is FileKind.RESULTS:
            return f"results: a new fit of {self.competition} will follow"
        _, stem = parse_fixtures_key(self.key) or ("", "")
        return f"fixtures: {priced_key(self.competition, stem, 'csv')} and .json will follow"


@dataclass
class _Division:
    """A division's rows in a file, as written, and the line of its first row (for messages)."""

    first_line: int
    lines: list[str] = field(default_factory=list)


def plan(
    files: Sequence[tuple[str, bytes]],
    competition: str | None = None,
    name: str | None = None,
    teams: TeamTable | None = None,
) -> list[Upload]:
    """Every object that the files (source, bytes) make, all read first: ResultsError on the first bad file,
    ContractError on a bad competition or name, and a ResultsError when two files would take one key."""
    taken: dict[str, str] = {}
    uploads = []
    for source, blob in files:
        for upload in uploads_of(blob, source, competition, name, teams):
            if upload.key in taken:
                raise ResultsError(
                    source,
                    None,
                    f"would be stored as {upload.key}, as {taken[upload.key]} would; upload them one at a time, "
                    "or name each (--name)",
                )
            taken[upload.key] = source
            uploads.append(upload)
    return uploads


def uploads_of(
    blob: bytes, source: str, competition: str | None = None, name: str | None = None, teams: TeamTable | None = None
) -> list[Upload]:
    """The objects one file makes: one per division it has rows of (only `competition`'s, when given)."""
    if competition is not None and not COMPETITION_RE.match(competition):
        raise ContractError(f"competition {competition!r} is not a code like E0 or SP1")
    check_file_size(source, len(blob))  # before decoding or parsing it
    stored_name = None if name is None else _given_name(name)
    text = decode(blob)
    kind = file_kind(text)
    if kind is FileKind.PLAIN_FIXTURES:
        if competition is None:
            raise ResultsError(
                source, None, "a plain home,away file has no Div column: give its competition (--competition)"
            )
        parse_plain_fixtures(text, source, competition, teams)
        key = fixtures_key(competition, stored_name or safe_file_name(PurePath(source).name))
        return [Upload(source, kind, competition, key, blob)]
    if kind is FileKind.RESULTS:
        season = parse_results(text, source, teams)[0].season
        key_of, default_name = results_key, f"{season}{CSV_SUFFIX}"
    else:
        parse_fixtures(text, source, teams)
        key_of, default_name = fixtures_key, safe_file_name(PurePath(source).name)
    header, divisions = _rows_by_division(text)
    for division, rows in divisions.items():
        if not COMPETITION_RE.match(division):
            raise ResultsError(
                source, rows.first_line, f"Div {shown(division)} is not a competition code like E0 or SP1"
            )
    if competition is not None and competition not in divisions:
        raise ResultsError(source, None, f"no rows of {competition}; its divisions are {', '.join(divisions)}")
    whole = len(divisions) == 1
    return [
        Upload(
            source,
            kind,
            division,
            key_of(division, stored_name or default_name),
            blob if whole else (header + "".join(divisions[division].lines)).encode("utf-8"),
        )
        for division in ([competition] if competition else divisions)
    ]


def _given_name(name: str) -> str:
    """The name a file given a name (--name) is stored under: a file name ending in .csv, made one the key
    rule takes (safe_file_name), so `Week 34.CSV` is stored as `Week-34.csv`; a path or another suffix is
    refused, since the fit and pricing read neither."""
    if "/" in name or "\\" in name:
        raise ContractError(f"name {name!r} is a path; give a file name (the fit and pricing read no sub-folders)")
    if not name.lower().endswith(CSV_SUFFIX):
        raise ContractError(f"name {name!r} does not end in {CSV_SUFFIX}; the fit and pricing read only .csv files")
    return safe_file_name(name)


def _rows_by_division(text: str) -> tuple[str, dict[str, _Division]]:
    """The header as written, and each division's rows as written, in file order (blank rows left out).

    Lines as the parsers count them: csv over StringIO(newline=""), so a row's line is the parser's line."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines)
    div = [column.strip() for column in next(reader)].index("Div")
    header = "".join(lines[: reader.line_num])
    divisions: dict[str, _Division] = {}
    start = reader.line_num
    for row in reader:
        if any(cell.strip() for cell in row):
            division = row[div].strip() if div < len(row) else ""
            divisions.setdefault(division, _Division(reader.line_num)).lines += lines[start : reader.line_num]
        start = reader.line_num
    return header, divisions
