"""The football-data seasons shipped in data/ are football-data.co.uk's files, byte for byte, and all of them load."""

from __future__ import annotations

import hashlib

import pytest

from matchodds.core.results import read_results_file
from research.model_quality import DATA, EVAL, previous_seasons

pytestmark = pytest.mark.research  # reads every shipped season in full


def test_every_shipped_file_is_the_one_listed_in_its_checksums() -> None:
    listed = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    shipped = {str(path.relative_to(DATA)) for path in DATA.glob("*/*.csv")}
    assert len(shipped) == 108 and set(listed) == shipped
    changed = [
        name for name, digest in listed.items() if hashlib.sha256((DATA / name).read_bytes()).hexdigest() != digest
    ]
    assert not changed  # a checkout that converted line ends, or an edited file


def test_every_season_the_evaluation_reads_is_shipped_and_loads() -> None:
    for target in EVAL:
        division, season = target.split(":")
        for each in [*previous_seasons(season), season]:
            matches = read_results_file(DATA / division / f"{each}.csv")
            assert len(matches) >= 279, (division, each)  # a whole season (F1 2019-20 stopped at 279)
