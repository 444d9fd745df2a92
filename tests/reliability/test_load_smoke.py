"""bench/load.py at a tiny size, so the README's test command keeps the load tool working."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import SECTION, query_stack, run_load
from bench.report import write_section


@pytest.mark.e2e
def test_the_load_tool_answers_every_request_without_a_5xx_or_a_drop() -> None:
    with query_stack() as stack:
        figures = run_load(stack.api_url, stack.posterior.team_codes, clients=4, requests=120, max_seconds=120)
    assert figures["answered"] == 120 and not figures["timed_out"], figures
    assert figures["server_errors"] == 0 and figures["dropped"] == 0, figures
    assert {200, 400, 404} <= set(figures["statuses"]), figures  # valid and invalid requests were both sent
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]


@pytest.mark.unit
def test_the_figures_replace_only_their_own_section(tmp_path: Path) -> None:
    benchmarks = tmp_path / "benchmarks.md"
    benchmarks.write_text("# Benchmarks\n\n## Precompute (issue 7)\n\nfast\n")
    write_section(benchmarks, SECTION, f"{SECTION}\n\nfirst\n")
    write_section(benchmarks, SECTION, f"{SECTION}\n\nsecond\n")
    text = benchmarks.read_text()
    assert text.count(SECTION) == 1 and "second" in text and "first" not in text
    assert "## Precompute (issue 7)\n\nfast\n" in text
    benchmarks.write_text(text + "\n## Query (issue 7)\n\nlater\n")
    write_section(benchmarks, SECTION, f"{SECTION}\n\nthird\n")
    assert benchmarks.read_text().endswith("third\n\n## Query (issue 7)\n\nlater\n")
