"""`matchodds project` reproduces a past season's mid-season projection from the results files alone.

The check is the validation's own: research/results/projections/E0-2024-25.csv keeps the projection that
`python -m research.projections run E0:2024-25` made at round 20 (through 2025-01-14) with the protocol's
sampler (2 chains x 300 + 300, seed 0) and 10,000 seasons. The command, given the same four seasons, the
same date and the same settings, must give the table of that day and the same probabilities: identical on
the machine that kept them; within TOLERANCE on another CPU, where XLA's floats may differ in the last
place and the chains take other paths.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from entry.local.sample_data import SAMPLE_RESULTS
from matchodds.core.results import read_results_file

pytestmark = pytest.mark.fit
ROOT = Path(__file__).parents[2]
KEPT = ROOT / "research" / "results" / "projections" / "E0-2024-25.csv"
THROUGH = "2025-01-14"
PROTOCOL = ["--chains", "2", "--warmup", "300", "--samples", "300", "--seed", "0", "--simulations", "10000"]
GATE = ["--min-ess", "100", "--max-r-hat", "1.05"]
TOLERANCE = 0.05


def test_project_reproduces_the_validations_round_20_projection(tmp_path: Path) -> None:
    out = tmp_path / "E0-2025-01-14.json"
    files = [str(path) for path in SAMPLE_RESULTS]
    command = [sys.executable, "-m", "entry", "project", "--results", *files, "--through", THROUGH]
    run = subprocess.run([*command, "--json", str(out), *PROTOCOL, *GATE], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(out.read_text())
    teams = {team["code"]: team for team in document["teams"]}

    # The table of that day, counted here from the file without the project's code.
    played, points = Counter[str](), Counter[str]()
    for match in read_results_file(SAMPLE_RESULTS[-1]):
        if match.date <= date.fromisoformat(THROUGH):
            played.update([match.home, match.away])
            home, away = (3, 0) if match.home_goals > match.away_goals else (0, 3)
            home, away = (1, 1) if match.home_goals == match.away_goals else (home, away)
            points.update({match.home: home, match.away: away})
    assert {code: (team["played"], team["points"]) for code, team in teams.items()} == {
        code: (played[code], points[code]) for code in played
    }
    assert document["teams"][0]["code"] == "LIV" and sum(played.values()) == 2 * 203

    kept = [row for row in csv.DictReader(KEPT.open()) if row["checkpoint"] == "20"]
    assert len(kept) == len(teams) == 20
    for row in kept:
        projection = teams[row["team"]]["projection"]
        for ours, theirs in (("p_title", "title"), ("p_europe", "top4"), ("p_relegation", "relegation")):
            assert projection[ours] == pytest.approx(float(row[f"projection_{theirs}"]), abs=TOLERANCE), row["team"]
        assert sum(projection["positions"]) == pytest.approx(1.0, abs=1e-3)
