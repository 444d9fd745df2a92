"""The evaluation report pools the kept per-season forecasts as documented in docs/model-quality.md."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from research.evaluation import rps
from research.model_quality import (
    EVAL,
    FORECASTERS,
    RESULTS,
    ROOT,
    SEASON_PARTS,
    TRACK_RECORD,
    against,
    average,
    plots,
    report,
    track_record,
)
from services.fit.model import DEFAULT_MODEL, MODELS

SETTINGS = {
    "fit_seconds_median": 13.0,
    "fit_seconds_max": 31.5,
    "weeks_failing_served_gate": 2,
    "weeks_kept_last_posterior": 1,
    "weeks": 34,
}


def write_season(directory: Path, name: str, forecasts: dict[str, np.ndarray], outcomes: np.ndarray) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    days = [(date(2019, 8, 9) + timedelta(days=3 * match)).isoformat() for match in range(len(outcomes))]
    np.savez_compressed(directory / f"{name}.npz", outcomes=outcomes, days=np.array(days), **forecasts)
    (directory / f"{name}.json").write_text(json.dumps({"settings": SETTINGS}))


def season(seed: int, matches: int = 60) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    outcomes = rng.integers(0, 3, matches)
    forecasts = {name: rng.dirichlet([4, 3, 3], matches) for name in FORECASTERS}
    return forecasts, outcomes


@pytest.mark.unit
def test_report_pools_seasons_and_skips_matches_a_forecaster_lacks(tmp_path: Path) -> None:
    first, first_outcomes = season(1)
    second, second_outcomes = season(2)
    second["bet365"][:5] = np.nan  # five matches without Bet365 prices: left out for everyone
    write_season(tmp_path, "E0-2019-20", first, first_outcomes)
    write_season(tmp_path, "E0-2020-21", second, second_outcomes)

    text = report([tmp_path])

    model = np.concatenate([rps(first["model"], first_outcomes), rps(second["model"][5:], second_outcomes[5:])])
    pinnacle = np.concatenate(
        [rps(first["pinnacle_closing"], first_outcomes), rps(second["pinnacle_closing"][5:], second_outcomes[5:])]
    )
    assert f"| model | 115 | {model.mean():.4f} |" in text
    assert f"model / Pinnacle closing: {model.mean() / pinnacle.mean():.4f}" in text
    assert "| E0-2020-21 | 55 |" in text and "| 13.0 / 31.5 | 2 (1) of 34 |" in text
    # By part of the season, from the days kept with the forecasts: 51, 62 and 2 of the 115 matches.
    assert "| August to October | 51 |" in text and "| November to January | 62 |" in text
    assert "| February to the end | 2 |" in text


@pytest.mark.unit
def test_against_pairs_two_runs_by_match_and_refuses_different_matches(tmp_path: Path) -> None:
    forecasts, outcomes = season(3)
    write_season(tmp_path / "served", "E0-2019-20", forecasts, outcomes)
    sharper = {**forecasts, "model": np.eye(3)[outcomes] * 0.5 + forecasts["model"] * 0.5}
    write_season(tmp_path / "other", "E0-2019-20", sharper, outcomes)

    text = against([tmp_path / "served"], [tmp_path / "other"])

    difference = rps(forecasts["model"], outcomes).mean() - rps(sharper["model"], outcomes).mean()
    assert difference > 0
    assert "| pooled | 60 |" in text and f"{difference:+.5f} [" in text
    # And by part of the season, from the days kept with the forecasts (every third day from 9 August).
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert [int(rows[part].split("|")[2]) for part in SEASON_PARTS] == [28, 31, 1]

    write_season(tmp_path / "shuffled", "E0-2019-20", forecasts, np.roll(outcomes, 1))
    with pytest.raises(ValueError, match="different matches"):
        against([tmp_path / "served"], [tmp_path / "shuffled"])


@pytest.mark.unit
def test_average_pairs_the_model_and_its_mean_with_the_rating_and_refuses_other_matches(tmp_path: Path) -> None:
    forecasts, outcomes = season(4)
    forecasts["bet365"][:3] = np.nan
    write_season(tmp_path / "served", "E0-2019-20", forecasts, outcomes)
    rating = np.eye(3)[outcomes] * 0.3 + forecasts["model"] * 0.7  # sharper than the model
    (tmp_path / "rating").mkdir()
    np.savez_compressed(tmp_path / "rating" / "E0-2019-20.npz", outcomes=outcomes, rating=rating)

    text = average([tmp_path / "served"], tmp_path / "data", tmp_path / "rating")

    model, mean = forecasts["model"][3:], (forecasts["model"][3:] + rating[3:]) / 2
    gain = rps(mean, outcomes[3:]).mean() - rps(model, outcomes[3:]).mean()
    assert gain < 0
    assert f"| pooled | 57 | {rps(model, outcomes[3:]).mean():.4f} |" in text and f"{gain:+.5f} [" in text

    np.savez_compressed(tmp_path / "rating" / "E0-2019-20.npz", outcomes=np.roll(outcomes, 1), rating=rating)
    with pytest.raises(ValueError, match="other matches"):
        average([tmp_path / "served"], tmp_path / "data", tmp_path / "rating")


@pytest.mark.unit
def test_report_pools_several_runs_by_league_and_refuses_a_season_kept_twice(tmp_path: Path) -> None:
    first, first_outcomes = season(5)
    second, second_outcomes = season(6)
    write_season(tmp_path / "one", "E0-2019-20", first, first_outcomes)
    write_season(tmp_path / "two", "E0-2020-21", second, second_outcomes)
    write_season(tmp_path / "two", "I1-2023-24", first, first_outcomes)

    text = report([tmp_path / "one", tmp_path / "two"])

    assert "| model | 180 |" in text
    e0 = np.concatenate([rps(first["model"], first_outcomes), rps(second["model"], second_outcomes)])
    assert f"| E0 | 2019-20 .. 2020-21 (2) | 120 | {e0.mean():.4f} |" in text
    assert f"| I1 | 2023-24 | 60 | {rps(first['model'], first_outcomes).mean():.4f} |" in text

    write_season(tmp_path / "three", "E0-2020-21", second, second_outcomes)
    with pytest.raises(ValueError, match="E0-2020-21 is kept in both"):
        report([tmp_path / "two", tmp_path / "three"])
    with pytest.raises(ValueError, match="no kept season"):
        report([tmp_path / "empty"])


@pytest.mark.research
def test_plots_draws_each_kept_season_beside_its_forecasts(tmp_path: Path) -> None:
    forecasts, outcomes = season(7)
    write_season(tmp_path, "SP1-2023-24", forecasts, outcomes)
    assert plots([tmp_path]) == [tmp_path / "reliability-SP1-2023-24.png"]
    assert (tmp_path / "reliability-SP1-2023-24.png").stat().st_size > 10_000


@pytest.mark.unit
def test_the_default_run_is_the_served_models_evaluation_run() -> None:
    """`run` rewrites and `report` reads RESULTS unless told: it must be the served model on EVAL."""
    served = MODELS[DEFAULT_MODEL]
    kept = sorted(RESULTS.glob("*.json"))
    assert [path.stem for path in kept] == sorted(target.replace(":", "-") for target in EVAL)
    for path in kept:
        settings = json.loads(path.read_text())["settings"]
        assert settings["model"] == DEFAULT_MODEL, path
        assert settings["model_settings"] == json.loads(json.dumps(served.settings)), path
        assert (settings["sampler"]["warmup"], settings["sampler"]["samples"]) == served.draws, path


@pytest.mark.research
def test_the_tables_of_docs_model_quality_are_what_report_prints_from_a_clone() -> None:
    """Run as the doc says, from the repository root: every row of its output is in the doc, verbatim."""
    printed = subprocess.run(
        [sys.executable, "-m", "research.model_quality", "report"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    doc = (ROOT / "docs" / "model-quality.md").read_text()
    rows = [line for line in printed.splitlines() if line.startswith("| ") or line.startswith("model / Pinnacle")]
    assert len(rows) > 20
    assert [row for row in rows if row not in doc] == []


@pytest.mark.unit
def test_the_pages_track_record_is_what_track_record_gives_and_the_docs_league_table_says() -> None:
    """services/query/static/track-record.json, shipped to the page, is regenerated by
    `python -m research.model_quality track-record`; its numbers are the league rows of the doc."""
    shipped = json.loads(TRACK_RECORD.read_text())
    assert shipped == json.loads(json.dumps(track_record()))
    doc = (ROOT / "docs" / "model-quality.md").read_text()
    assert sorted(shipped["leagues"]) == sorted({target.split(":")[0] for target in EVAL})
    for division, league in shipped["leagues"].items():
        rps_of = league["rps"]
        row = (
            f"| {division} | {league['seasons'][0]}"
            if len(league["seasons"]) == 1
            else f"| {division} | {league['seasons'][0]} .. {league['seasons'][-1]} ({len(league['seasons'])})"
        )
        row += f" | {league['matches']} | {rps_of['model']:.4f} | {rps_of['pinnacle_closing']:.4f} |"
        assert row in doc, row
        assert f"| {league['model_over_pinnacle']:.3f} |" in doc


@pytest.mark.research
def test_a_backtest_runs_as_a_module_and_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "E0-2030-31.csv"
    done = subprocess.run(
        [sys.executable, "-m", "research.backtest", "--test", str(missing), "--json", str(tmp_path / "out.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert f"research.backtest: {missing}: cannot read" in done.stderr


@pytest.mark.research  # no NUTS: Dixon-Coles by maximum likelihood, every week of a season
def test_todays_backtest_gives_the_kept_forecasts_of_every_forecaster_but_the_model_again() -> None:
    """The kept runs were made before forecasters saw the week as fixtures; their forecasts stand."""
    from matchodds.core.results import read_results
    from research.backtest import BaseRate, Bookmaker, DixonColesMLE, walk_forward
    from research.model_quality import DATA, season_files

    history, test = season_files(DATA, "SP1", "2023-24")
    forecasters = [
        Bookmaker("pinnacle_closing", ("PSCH", "PSCD", "PSCA")),
        Bookmaker("bet365", ("B365H", "B365D", "B365A")),
        DixonColesMLE(),
        BaseRate(),
    ]
    result = walk_forward(read_results(history), read_results([test]), forecasters, weeks=12)
    rows = len(result.matches)
    with np.load(RESULTS / "SP1-2023-24.npz") as kept:
        assert 100 < rows < len(kept["outcomes"])
        np.testing.assert_array_equal(result.outcomes, kept["outcomes"][:rows])
        for forecaster in forecasters:
            kept_rows = kept[forecaster.name][:rows]
            np.testing.assert_allclose(result.forecasts[forecaster.name], kept_rows, rtol=0, atol=1e-12)


@pytest.mark.unit
def test_the_screen_pairs_each_lead_with_the_rating_without_it_and_gives_the_rules_verdict(tmp_path: Path) -> None:
    from research.model_quality import screen

    rng = np.random.default_rng(3)
    outcomes = rng.integers(0, 3, 400)
    truth = np.eye(3)[outcomes]
    pinnacle = 0.6 * truth + 0.4 / 3
    runs, screens = tmp_path / "dev", tmp_path / "screen"
    runs.mkdir()
    np.savez_compressed(runs / "E0-2017-18.npz", outcomes=outcomes, pinnacle_closing=pinnacle)
    base = np.full((400, 3), 1 / 3)
    variants = {
        "rating": (base, []),
        "rating+red_cards": (0.9 * base + 0.1 * truth, [{"red_share": 0.6, "blend": [0.4, 0.35, 0.25]}] * 30),
        "rating+total_shots": (base, [{"red_share": 1.0, "blend": [0.4, 0.1, 0.1, 0.4]}] * 30),  # level
    }
    for variant, (forecast, settings) in variants.items():
        (screens / variant).mkdir(parents=True)
        np.savez_compressed(
            screens / variant / "E0-2017-18.npz",
            outcomes=outcomes,
            rating=forecast,
            settings=np.array(json.dumps(settings)),
        )
    table = screen([runs], ROOT / "data" / "football-data", ["red_cards", "total_shots"], screens)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines() if line.startswith("| rating")}
    assert f"| {rps(base, outcomes).mean():.4f} |" in rows["rating"]
    assert rows["rating+red_cards"].endswith("| yes |") and rows["rating+total_shots"].endswith("| no |")
    assert "+0.00000 [+0.00000, +0.00000]" in rows["rating+total_shots"]
    assert "red-card evidence share, 30 weekly fits: median 0.600" in table
    assert "total shots' blend share, 30 weekly fits: median 0.400" in table


@pytest.mark.unit
def test_parts_of_the_season_run_august_to_october_november_to_january_and_february_to_the_end() -> None:
    from research.model_quality import SEASON_PARTS, season_part

    days = [date(2023, 8, 11), date(2023, 10, 31), date(2023, 11, 1), date(2024, 1, 31), date(2024, 2, 1)]
    assert [SEASON_PARTS[season_part(day)] for day in days] == [
        "August to October",
        "August to October",
        "November to January",
        "November to January",
        "February to the end",
    ]
    assert season_part(date(2020, 7, 26)) == 2  # E0 2019-20 ended in July


@pytest.mark.unit
def test_the_days_of_kept_forecasts_are_refused_when_the_season_file_holds_other_matches(tmp_path: Path) -> None:
    from research.model_quality import DATA, kept_match_days

    kept = np.load(RESULTS / "E0-2024-25.npz")
    assert len(kept_match_days(RESULTS / "E0-2024-25.npz", DATA)) == len(kept["outcomes"])
    np.savez_compressed(tmp_path / "E0-2024-25.npz", outcomes=kept["outcomes"][::-1])
    with pytest.raises(ValueError, match="not of E0 2024-25's matches in date order"):
        kept_match_days(tmp_path / "E0-2024-25.npz", DATA)


@pytest.mark.unit
def test_a_one_sided_stretch_moves_that_side_alone() -> None:
    from matchodds.core.grid import PredictionDraws
    from research.model_quality import stretched

    generator = np.random.default_rng(3)
    attack, defence = generator.normal(0, 0.3, (5, 4)), generator.normal(0, 0.3, (5, 4))
    draws = PredictionDraws(np.zeros(5), np.zeros(5), attack, defence, None)
    both, only_attack, only_defence = (stretched(draws, 1.2, side) for side in ("both", "attack", "defence"))
    mean = attack.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(only_attack.attack, mean + 1.2 * (attack - mean))
    np.testing.assert_allclose(only_attack.defence, defence, rtol=0, atol=1e-15)
    np.testing.assert_allclose(only_defence.attack, attack, rtol=0, atol=1e-15)
    np.testing.assert_allclose(only_defence.defence, both.defence)
    np.testing.assert_allclose(both.attack, only_attack.attack)


@pytest.mark.research
def test_the_docs_warm_run_figures_are_the_kept_runs() -> None:
    """docs/model-quality.md, "As the service fits now": the gate and the ratio are those of the kept warm run."""
    warm = ROOT / "research" / "results" / "seasons-w50-warm-d800"
    doc = (ROOT / "docs" / "model-quality.md").read_text()
    fits = [
        fit for path in sorted(warm.glob("*.json")) for fit in json.loads(path.read_text())["settings"]["weekly_fits"]
    ]
    first = sum(not fit["reran"] for fit in fits)
    assert len(fits) == 349 and f"**{first} of {len(fits)} ({round(100 * first / len(fits))} %)**" in doc
    printed = subprocess.run(
        [sys.executable, "-m", "research.model_quality", "report", "--results", str(warm)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ratio = next(line for line in printed.splitlines() if line.startswith("model / Pinnacle"))
    value, low, high = (ratio.split(": ")[1].replace("(90 % interval ", "").replace(" to ", " ").rstrip(")")).split()
    assert f"| {value} [{low}, {high}] |" in doc
