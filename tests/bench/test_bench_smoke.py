"""Each benchmark of bench/ (issue 7) runs at tiny sizes, and the report is written from its results.

Behaviour, not timings: the fits run in fresh processes, precompute goes through the S3 -> SQS ->
handler path against moto, the query handler answers in-process, over the local HTTP endpoint and
from a cold interpreter, and every figure the report quotes is there. `python -m bench` measures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import QUICK, SECTIONS, run_benchmarks
from bench.fit import ONE_SEASON
from bench.report import LOAD_SECTION, kept_section, render, write_report
from services.fit.model import DEFAULT_MODEL

pytestmark = pytest.mark.bench_smoke


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    fresh = run_benchmarks(QUICK, SECTIONS, tmp_path_factory.mktemp("bench"))
    return {**{section: {**fresh[section], "machine": fresh["machine"]} for section in SECTIONS}, "quick": True}


def pairs(teams: int) -> int:
    return teams * (teams - 1)


def test_every_fit_case_runs_in_its_own_process_and_reports_its_diagnostics(results: dict[str, Any]) -> None:
    cases = {case["key"]: case for case in results["fit"]["cases"]}
    assert set(cases) == {"served-1", "poisson-1", "prototype"}
    assert cases["prototype"]["sampler"] == {"chains": 1, "warmup": 30, "samples": 10}
    for case in cases.values():
        (run,) = case["runs"]
        assert case["matches"] == 380 and case["teams"] == 20
        assert 0 < run["fit_s"] < run["process_s"] and run["peak_rss_mb"] > 100
        assert run["max_r_hat"] >= 1 and run["divergences"] >= 0
        assert run["ess_per_s"] == pytest.approx(run["min_ess"] / run["fit_s"])
    assert cases["served-1"]["runs"][0]["model"] == DEFAULT_MODEL


def test_precompute_computes_and_publishes_every_pair(results: dict[str, Any]) -> None:
    precompute = results["precompute"]
    # The fit benchmark's posterior (20 teams) is priced too when its tiny fit was publishable; it
    # takes the place of the first synthetic size in the pipeline and the estimator.
    compute = precompute["compute"]
    fitted = [row for row in compute if row["source"] == "fitted"]
    assert len(fitted) <= 1 and all(row["teams"] == 20 for row in fitted)
    assert [row["teams"] for row in compute if row["source"] == "synthetic"] == list(QUICK.precompute.teams)
    for row in compute:
        assert row["pairs"] == row["items"] == pairs(row["teams"])
        assert all(seconds > 0 for seconds in row["one_x_two_s"].values())
        assert row["tracemalloc_peak_mb"] > 0 and row["rss_mb"] > 0
    pipeline_teams = [row["teams"] for row in fitted] + list(QUICK.precompute.teams)[len(fitted) :]
    for published, teams in zip(precompute["pipeline"], pipeline_teams, strict=True):
        assert len(published["runs"]) == QUICK.precompute.pipeline_runs + 1
        for run in published["runs"]:
            assert run["items"] == pairs(teams)
            assert 0 < run["write_items_s"] < run["event_to_flip_s"] < run["event_to_done_s"]
    estimator = precompute["estimator"]
    assert estimator["pairs"] == pairs(pipeline_teams[0]) and len(estimator["max_error"]) == 3
    assert all(0 <= error <= 1 for error in estimator["max_error"])


def test_query_answers_in_process_over_http_and_from_cold(results: dict[str, Any]) -> None:
    query = results["query"]
    inprocess = query["inprocess"]
    assert inprocess["errors"] == 0 and inprocess["handler"]["n"] == QUICK.query.requests
    assert inprocess["prototype"]["n"] == QUICK.query.prototype_requests
    assert 0 < inprocess["handler_without_moto"]["p50_ms"] <= inprocess["handler"]["p50_ms"]
    assert query["load"]["requests"] > 0 and query["load"]["errors"] == 0
    (cold,) = query["cold"]["runs"]
    assert cold["status"] == 200 and 0 < cold["import_s"] < cold["process_s"]
    assert query["zip"] is None  # not built at tiny sizes: it needs the arm64 wheels


def test_growth_publishes_every_pair_and_the_exports_and_measures_each_phase(results: dict[str, Any]) -> None:
    assert [(row["teams"], row["pairs"], row["items"]) for row in results["growth"]["sizes"]] == [
        (teams, pairs(teams), pairs(teams)) for teams in QUICK.growth.teams
    ]
    for row in results["growth"]["sizes"]:
        assert len(row["export_bytes"]) == 4 and all(size > 0 for size in row["export_bytes"].values())
        assert set(row["phase_peak_rss_mb"]) == {"compute", "writes", "exports"}
        assert row["peak_rss_mb"] >= max(row["phase_peak_rss_mb"].values()) > 0
        assert 0 < row["compute_s"]["median"] < row["total_s"]["median"] and row["cpu_s"]["median"] > 0


def test_load_answers_each_kind_of_request_from_a_stack_of_its_own(results: dict[str, Any]) -> None:
    runs = {run["mix"]: run for run in results["load"]["runs"]}
    assert set(runs) == {"fixture", "bulk50"}
    for run in runs.values():
        assert run["clients"] == QUICK.load.clients and run["answered"] > 0, run
        assert run["errors"] == run["dropped"] == run["resets"] == 0 and set(run["statuses"]) == {200}, run
        assert run["server"]["cpu_ms_per_request"] > 0 and run["connects"] >= QUICK.load.clients


def test_the_report_has_every_section_and_keeps_the_load_section(results: dict[str, Any], tmp_path: Path) -> None:
    load = f"{LOAD_SECTION}\n\nFigures of bench/load.py | kept | as they are\n"
    report = tmp_path / "benchmarks.md"
    # Markers no report would print (the report's own texts say "not kept yet" when a target is missed).
    older, after = "OLDER-RUN-MARKER-5e1f", "AFTER-LOAD-MARKER-93c2"
    report.write_text(f"# Benchmarks\n\n{older}\n\n{load}\n## Something after\n\n{after}\n")
    write_report(results, report)
    text = report.read_text()
    for heading in (
        "## Targets",
        "## Machine",
        "## Fit",
        "## Precompute",
        "## Query",
        "## Growth",
        "## Load (issue 22)",
    ):
        assert f"\n{heading}\n" in text
    assert older not in text and after not in text
    assert text.endswith(load) and kept_section(text) == load
    write_report(results, report)
    assert report.read_text() == text


def test_a_report_without_a_load_section_gets_none() -> None:
    assert kept_section("# Benchmarks\n\n## Fit\n") == ""
    assert LOAD_SECTION not in render({"quick": True})


def test_the_gradient_benchmark_times_the_served_models_log_density(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.gradient import main as gradient_main

    assert gradient_main(["--calls", "20", "--repeats", "1", *map(str, ONE_SEASON)]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["model"] == DEFAULT_MODEL and measured["matches"] == 380
    assert measured["us_per_gradient"] > 0


def test_the_refit_benchmark_times_a_second_week_that_compiles_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.refit import main as refit_main

    assert refit_main(["--chains", "2", "--warmup", "20", "--samples", "20", *map(str, ONE_SEASON)]) == 0
    measured = json.loads(capsys.readouterr().out)
    last_week, this_week = measured["last_week"], measured["this_week"]
    assert (last_week["matches"], this_week["matches"]) == (370, 380)
    assert last_week["padded_to"] == this_week["padded_to"] == 384
    assert last_week["compile_s"] > 0 and this_week["compile_s"] == 0


def test_the_projection_benchmark_times_both_cases_and_writes_its_own_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.projection import main as projection_main
    from bench.report import PROJECTION_SECTION

    report = tmp_path / "benchmarks.md"
    report.write_text(f"# Benchmarks\n\n{LOAD_SECTION}\n\nkept\n")
    argv = ["--teams", "6", "--draws", "200", "--simulations", "300", "--repeats", "2", "--write", str(report)]
    assert projection_main(argv) == 0
    measured = json.loads(capsys.readouterr().out)
    half, start = measured["cases"]
    assert (half["played"], half["remaining"]) == (15, 15) and (start["played"], start["remaining"]) == (0, 30)
    for case in (half, start):
        assert case["project"]["n"] == 2 and case["project"]["median"] > 0 and case["document_bytes"] > 0
    text = report.read_text()
    assert kept_section(text, PROJECTION_SECTION).startswith(PROJECTION_SECTION) and "| half season | 15 | 15 |" in text
    assert kept_section(text) == f"{LOAD_SECTION}\n\nkept\n\n"  # the load section stays as it was
    write_report({"quick": True}, report)  # the generated report keeps both sections
    rewritten = report.read_text()
    assert kept_section(rewritten, PROJECTION_SECTION) and kept_section(rewritten, LOAD_SECTION)
