"""The seasons and rounds the demo uploads: the shipped sample (matchodds/data/sample) and data/football-data.

Only the demo and the tests read these files; the served code reads whatever is uploaded.
"""

from __future__ import annotations

from pathlib import Path

import matchodds

SAMPLE_SEASON = Path(matchodds.__file__).with_name("data") / "sample" / "E0-2024-25.csv"
# The served model fits the newest season with three before it, time-decayed: the demo ships all four.
SAMPLE_RESULTS = sorted(SAMPLE_SEASON.parent.glob("E0-*.csv"))
# Every season the project ships (data/football-data, credited there), for the demo's other leagues.
SHIPPED_SEASONS = Path(__file__).parents[2] / "data" / "football-data"
DEMO_SEASONS = 4


def shipped_results(competition: str, seasons: int = DEMO_SEASONS) -> list[Path]:
    """The newest `seasons` shipped season files of a competition (E0's from the demo's sample)."""
    if competition == "E0":
        return SAMPLE_RESULTS[-seasons:]
    files = sorted((SHIPPED_SEASONS / competition).glob("*.csv"))
    if not files:
        shipped = sorted(path.name for path in SHIPPED_SEASONS.iterdir() if path.is_dir())
        raise ValueError(f"no shipped seasons of {competition} under {SHIPPED_SEASONS} (shipped: {', '.join(shipped)})")
    return files[-seasons:]


def sample_round(competition: str) -> Path | None:
    """A shipped league's opening round with football-data's prices (README.md beside it), if the demo has one.

    The demo uploads it once the league is published, so GET /fixtures and the page show a round.
    """
    rounds = sorted(SAMPLE_SEASON.parent.glob(f"fixtures-{competition}-*.csv"))
    return rounds[-1] if rounds else None
