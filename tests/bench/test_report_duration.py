"""The benchmark report's header says how long its measuring runs took, not the span between them."""

from __future__ import annotations

import pytest

from bench.report import duration

pytestmark = pytest.mark.unit


def run_record(started: str, finished: str) -> dict[str, dict[str, str]]:
    return {"machine": {"started_at": started, "finished_at": finished}}


def test_sections_measured_together_count_once_and_a_later_rerun_adds_only_its_own_time() -> None:
    together = run_record("2026-12-02T16:45:00+00:00", "2026-12-02T17:00:00+00:00")
    later = run_record("2026-12-02T18:01:00+00:00", "2026-12-02T18:04:00+00:00")
    results = {"fit": together, "precompute": together, "load": later}
    assert duration(results) == "18 minutes"


def test_a_section_without_its_times_gives_no_figure() -> None:
    assert duration({"fit": {"machine": {"started_at": "2026-12-02T16:45:00+00:00"}}}) == "several minutes"
