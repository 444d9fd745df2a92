"""Bad results files stop the fit before fitting, naming file and line; every real football-data file loads."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import boto3
import pytest

from entry.local.sample_data import SAMPLE_SEASON
from matchodds.core.results import (
    MAX_DATE_REGRESSION_DAYS,
    MAX_SEASON_DAYS,
    ResultsError,
    parse_results,
    read_results_file,
)

HEADER = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR\n"
TODAY = date(2025, 6, 1)
SHIPPED_FILES = sorted((Path(__file__).resolve().parents[2] / "data" / "football-data").rglob("*.csv"))


def rows(*lines: str) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (rows("E0,16/08/2024,Arsenal,Wolves,2,0,H", "E0,17/08/2024,Chelsea,Everton,1"), 3, "truncated"),
        (rows("E0,16/08/2024,Arsenal,Wolves,2,0,H", 'E0,17/08/2024,"Chelsea,Everton,1,1,D'), 3, "truncated"),
        (rows("E0,16/08/2024,Arsenal,Wolves,2.5,0,H"), 2, "FTHG '2.5' is not a number of goals"),
        (rows("E0,16/08/2024,Arsenal,Wolves,2,nil,H"), 2, "FTAG 'nil'"),
        (rows("E0,16/08/2024,Arsenal,Wolves,2,0,H", "E0,16/08/2024,Arsenal,Wolves,2,1,H"), 3, "cannot have two scores"),
        (rows("E0,16/08/2024,Arsenal,Wolves,inf,0,H"), 2, "FTHG 'inf' is not a number of goals"),
        (rows("E0,16/08/2024,Arsenal,Wolves,1e20,0,H"), 2, "FTHG '1e20' is not a number of goals"),
        (rows("E0,20/09/2024,Arsenal,Wolves,2,0,H", "E0,01/09/2024,Chelsea,Everton,1,1,D"), 3, "out of order"),
        (rows("E0,16/08/2024,Arsenal,Wolves,2,0,H", "E0,17/08/2026,Chelsea,Everton,1,1,D"), 3, "in the future"),
        (rows("E0,16/08/2023,Arsenal,Wolves,2,0,H", "E0,17/05/2025,Chelsea,Everton,1,1,D"), 3, "one season"),
        ("Div,Date,Home,Away,FTHG,FTAG\nE0,16/08/2024,Arsenal,Wolves,2,0\n", 1, "missing column(s) HomeTeam"),
        # issue 31: a year typed 0001 is refused (it was stored as results/E0/1-02.csv), and so are team
        # names no club has: over 40 characters, hidden characters, a formula for a spreadsheet.
        (rows("E0,16/08/0001,Arsenal,Wolves,2,0,H"), 2, "date '16/08/0001' (0001-08-16) is outside 1990-01-01"),
        (rows("E0,16/08/1989,Arsenal,Wolves,2,0,H"), 2, "is outside 1990-01-01"),
        (rows(f"E0,16/08/2024,{'A' * 120_000},Wolves,2,0,H"), 2, "is 120000 characters long (at most 40)"),
        (rows("E0,16/08/2024,Arse\u200bnal,Wolves,2,0,H"), 2, "unprintable character U+200B (Cf)"),
        (rows("E0,16/08/2024,Arsenal,=1+1,2,0,H"), 2, "starts with '=', which a spreadsheet would take for a formula"),
        (rows("E0,16/08/2024,Arsenal,@Wolves,2,0,H"), 2, "starts with '@'"),
        (b"\x89PNG\r\n\x1a\n\x00\x00".decode("cp1252"), 1, "missing column"),
    ],
)
def test_a_broken_results_file_is_refused_naming_file_and_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(ResultsError) as raised:
        parse_results(text, "results/E0/2024-25.csv", today=TODAY)
    assert raised.value.line == line and problem in raised.value.problem
    assert str(raised.value).startswith(f"results/E0/2024-25.csv, line {line}: ")


@pytest.mark.unit
def test_dates_a_little_out_of_order_pass_as_in_the_real_files() -> None:
    """F1 2006-07 lists a match one day before the row above it; up to a week back is allowed."""
    back = date(2024, 8, 24 - MAX_DATE_REGRESSION_DAYS).strftime("%d/%m/%Y")
    matches = parse_results(
        rows("E0,24/08/2024,Arsenal,Wolves,2,0,H", f"E0,{back},Chelsea,Everton,1,1,D"), "x.csv", today=TODAY
    )
    assert [match.date.day for match in matches] == [24, 24 - MAX_DATE_REGRESSION_DAYS]
    too_far = date(2024, 8, 23 - MAX_DATE_REGRESSION_DAYS).strftime("%d/%m/%Y")
    with pytest.raises(ResultsError, match=r"line 3: date 2024-08-\d+ is out of order: 8 days before 2024-08-24"):
        parse_results(rows("E0,24/08/2024,Arsenal,Wolves,2,0,H", f"E0,{too_far},Chelsea,Everton,1,1,D"), "x.csv")


@pytest.mark.unit
def test_the_season_window_admits_the_2019_20_restart_and_no_more() -> None:
    first, last = date(2019, 8, 9), date(2020, 7, 26)  # E0 2019-20, 352 days
    assert (last - first).days < MAX_SEASON_DAYS
    text = rows(f"E0,{first:%d/%m/%Y},Liverpool,Norwich,4,1,H", f"E0,{last:%d/%m/%Y},Arsenal,Watford,3,2,H")
    assert len(parse_results(text, "x.csv", today=TODAY)) == 2


@pytest.mark.unit
def test_a_future_date_passes_a_day_early_for_time_zones_and_no_more() -> None:
    assert parse_results(rows("E0,02/06/2025,Arsenal,Wolves,2,0,H"), "x.csv", today=TODAY)
    with pytest.raises(ResultsError, match="line 2: date 2025-06-03 is in the future"):
        parse_results(rows("E0,03/06/2025,Arsenal,Wolves,2,0,H"), "x.csv", today=TODAY)


@pytest.mark.unit
def test_unknown_columns_are_tolerated() -> None:
    text = (
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,NewBookieH,Weather,,Notes\nE0,16/08/2024,Arsenal,Wolves,2,0,1.5,rain,,x\n"
    )
    (match,) = parse_results(text, "x.csv", today=TODAY)
    assert (match.home, match.away, match.home_goals) == ("ARS", "WOL", 2)
    assert match.numbers["NewBookieH"] == 1.5
    assert "Weather" not in match.numbers and "Notes" not in match.numbers  # text cells: not numbers, not errors


@pytest.mark.research  # reads all 108 seasons research backtests on, in full
def test_every_shipped_football_data_file_loads() -> None:
    assert len(SHIPPED_FILES) == 108
    for path in SHIPPED_FILES:
        matches = read_results_file(path)
        assert len(matches) >= 100, path  # a whole season, not a file cut short by a rule


@pytest.mark.fit
def test_the_fit_refuses_a_file_out_of_order_before_fitting_and_publishes_nothing(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from services.fit.main import main as fit_main

    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=aws["bucket"],
        Key="results/E0/2024-25.csv",
        Body=rows("E0,20/09/2024,Arsenal,Wolves,2,0,H", "E0,16/08/2024,Chelsea,Everton,1,1,D").encode(),
    )
    with caplog.at_level(logging.INFO):
        assert fit_main(["--bucket", aws["bucket"]]) == 2
    assert "s3://matchodds-local/results/E0/2024-25.csv, line 3: date 2024-08-16 is out of order" in caplog.text
    assert "fitting" not in caplog.text  # stopped before the sampler started
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/")


@pytest.mark.fit
@pytest.mark.parametrize(
    ("columns", "cells", "problem"),
    [
        ("FTHG,FTAG", "inf,0", "FTHG 'inf' is not a number of goals"),
        ("FTHG,FTAG", "1e20,0", "FTHG '1e20' is not a number of goals"),
        ("FTHG,FTAG", "2,-1", "FTAG '-1' is not a number of goals"),
        ("FTHG,FTAG,HST,AST", "2,0,nan,3", "HST 'nan' is not a count"),
    ],
)
def test_the_fit_exits_2_naming_file_and_line_for_goals_or_statistics_that_are_not_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, columns: str, cells: str, problem: str
) -> None:
    from services.fit.main import EXIT_BAD_RESULTS
    from services.fit.main import main as fit_main

    path = tmp_path / "E0-2024-25.csv"
    path.write_text(
        f"Div,Date,HomeTeam,AwayTeam,{columns}\nE0,16/08/2024,Arsenal,Wolves,2,0\nE0,17/08/2024,Chelsea,Everton,{cells}\n"
    )
    with caplog.at_level(logging.INFO):
        assert fit_main([str(path), "--out", str(tmp_path / "posterior.npz")]) == EXIT_BAD_RESULTS == 2
    assert f"{path}, line 3: {problem}" in caplog.text
    assert "fitting" not in caplog.text and not (tmp_path / "posterior.npz").exists()


@pytest.mark.integration
def test_a_season_uploaded_twice_under_two_names_is_read_once_with_a_warning(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from services.fit.main import load_results

    s3 = boto3.client("s3")
    for key in ("results/E0/2024-25.csv", "results/E0/E0-1.csv"):
        s3.upload_file(str(SAMPLE_SEASON), aws["bucket"], key)
    with caplog.at_level(logging.WARNING, logger="matchodds.core.results"):
        matches = load_results([], aws["bucket"], "E0", s3)
    assert len(matches) == 380
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    bucket = f"s3://{aws['bucket']}/results/E0"
    assert warning.startswith(f"{bucket}/E0-1.csv repeats 380 match(es) of {bucket}/2024-25.csv with the same score")


@pytest.mark.fit
def test_the_fit_refuses_a_second_copy_of_a_season_with_another_score_naming_both_objects(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from services.fit.main import main as fit_main

    s3 = boto3.client("s3")
    season = SAMPLE_SEASON.read_bytes()
    s3.put_object(Bucket=aws["bucket"], Key="results/E0/2024-25.csv", Body=season)
    changed = season.replace(b"Man United,Fulham,1,0,H,", b"Man United,Fulham,2,0,H,", 1)
    assert changed != season
    s3.put_object(Bucket=aws["bucket"], Key="results/E0/E0-2024-25-corrected.csv", Body=changed)
    with caplog.at_level(logging.INFO):
        assert fit_main(["--bucket", aws["bucket"]]) == 2
    bucket = f"s3://{aws['bucket']}/results/E0"
    second, first = f"{bucket}/E0-2024-25-corrected.csv", f"{bucket}/2024-25.csv"
    assert f"{second}, line 2: MUN v FUL on 2024-08-16 is 2-0 here but 1-0 in {first}, line 2" in caplog.text
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/")


@pytest.mark.fit
def test_a_fit_that_does_not_converge_exits_3_with_its_diagnostics_and_publishes_nothing(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from services.fit.main import EXIT_GATE
    from services.fit.main import main as fit_main

    s3 = boto3.client("s3")
    s3.upload_file(
        str(Path(__file__).parents[1] / "data" / "football-data" / "E0-2024-25-head.csv"),
        aws["bucket"],
        "results/E0/head.csv",
    )
    # The gate and the exit code are the entry point's whatever the model: the baseline compiles in
    # half the served model's time, and this fit compiles twice (the gate's retry has twice the draws).
    tiny = ["--model", "poisson_static", "--chains", "2", "--warmup", "10", "--samples", "10"]
    with caplog.at_level(logging.INFO):
        status = fit_main(["--bucket", aws["bucket"], *tiny, "--max-r-hat", "1.0001", "--min-ess", "1e9"])
    assert status == EXIT_GATE == 3
    refusal = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(
        "quality gate refused to publish" in message and "r_hat" in message and "min bulk ESS" in message
        for message in refusal
    ), refusal
    assert "'max_r_hat'" in caplog.text and "'min_bulk_ess'" in caplog.text and "'divergences'" in caplog.text
    assert "Contents" not in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/")


@pytest.mark.integration
def test_the_fits_read_of_the_bucket_skips_a_fixtures_file_with_an_impossible_date(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Nine fixtures of 12/12/2026 and one of 31/12/9999 made the fit take "9999-00" as the season in play
    (issue 31): the file is refused at parse time, so the fit leaves its names out with a warning."""
    from services.fit.main import load_fixtures

    s3 = boto3.client("s3")
    good = "Div,Date,Time,HomeTeam,AwayTeam\nE0,12/12/2026,15:00,Arsenal,Chelsea\n"
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/good.csv", Body=good.encode())
    s3.put_object(
        Bucket=aws["bucket"], Key="fixtures/E0/bad.csv", Body=(good + "E0,31/12/9999,15:00,Fulham,Everton\n").encode()
    )
    with caplog.at_level(logging.WARNING):
        fixtures = load_fixtures(None, aws["bucket"], "E0", s3)
    assert [(fixture.date, fixture.home, fixture.away) for fixture in fixtures] == [(date(2026, 12, 12), "ARS", "CHE")]
    assert "fixtures/E0/bad.csv, line 3: date '31/12/9999' (9999-12-31) is outside 1990-01-01" in caplog.text


@pytest.mark.integration
def test_the_fit_reads_only_the_keys_the_rule_takes_naming_the_others(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """`results/E0/sub/y.csv` started no fit but the next fit read it, and a fixtures file in a sub-folder fed
    the roster without ever being priced (issue 31): the fit reads what the trigger and pricing count, no more."""
    from services.fit.main import load_fixtures, load_results

    s3 = boto3.client("s3")
    s3.upload_file(str(SAMPLE_SEASON), aws["bucket"], "results/E0/2024-25.csv")
    late = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,01/06/2025,Arsenal,Chelsea,9,0\n"
    for key in ("results/E0/sub/late.csv", "results/E0/late.CSV", "results/E0/late copy.csv"):
        s3.put_object(Bucket=aws["bucket"], Key=key, Body=late.encode())
    fixtures = "Div,Date,Time,HomeTeam,AwayTeam\nE0,12/12/2026,15:00,Arsenal,Chelsea\n"
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/sub/week.csv", Body=fixtures.encode())
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/week.CSV", Body=fixtures.encode())
    with caplog.at_level(logging.WARNING):
        matches = load_results([], aws["bucket"], "E0", s3)
        assert load_fixtures(None, aws["bucket"], "E0", s3) == []
    assert len(matches) == 380 and max(match.date for match in matches) < date(2025, 6, 1)
    for key in ("results/E0/sub/late.csv", "results/E0/late.CSV", "fixtures/E0/sub/week.csv", "fixtures/E0/week.CSV"):
        assert f"s3://{aws['bucket']}/{key} is not read" in caplog.text


@pytest.mark.integration
def test_the_fit_refuses_a_results_object_over_the_size_limit_before_reading_it(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60 MB results file peaked at 374 MB in the fit's parse (issue 31): its size is checked from the listing."""
    from matchodds.core import results
    from services.fit import main as fit

    s3 = boto3.client("s3")
    s3.upload_file(str(SAMPLE_SEASON), aws["bucket"], "results/E0/2024-25.csv")
    monkeypatch.setattr(fit, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(results, "MAX_FILE_BYTES", 1000)
    reads: list[str] = []
    original = s3.get_object
    monkeypatch.setattr(s3, "get_object", lambda **kwargs: reads.append(kwargs["Key"]) or original(**kwargs))
    with pytest.raises(ResultsError, match="a results or fixtures file may have at most 1,000"):
        fit.load_results([], aws["bucket"], "E0", s3)
    assert reads == []
