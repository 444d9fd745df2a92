"""A fit started by the trigger: a results file that arrives while it fits makes it fit once more, then let go.

The upload during the fit is made where it would happen, between the fit reading the results and giving
its lease back: the real first round runs, then a file and its request arrive, as the trigger counts them.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

import services.fit.main as fit_entry
from adapters.fit_ledger import FitLedger, entry_from_item, read_request
from entry.local.sample_data import SAMPLE_SEASON
from matchodds.core.posterior import decode_posterior

pytestmark = pytest.mark.fit
LATE = b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\nE0,15/08/2025,Liverpool,Bournemouth,4,2\n"
# As tests/fit/test_entry_point.py samples: the served model, enough for a plausible posterior, loosely gated.
SAMPLER = ["--chains", "2", "--warmup", "200", "--samples", "200", "--seed", "4", "--min-ess", "1", "--max-r-hat", "2"]
QUICK = ["--model", "poisson_static", "--chains", "1", "--warmup", "50", "--samples", "50", "--seed", "3"]


def started_by_the_trigger(aws: dict[str, str]) -> str:
    """Results in the bucket, one request counted and the lease taken, as the trigger leaves them; the holder."""
    boto3.client("s3").upload_file(str(SAMPLE_SEASON), aws["bucket"], "results/E0/2024-25.csv")
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    ledger.request("E0", 1)
    assert ledger.claim("E0", "task-1")
    return "task-1"


def ledger_entry(aws: dict[str, str]) -> Any:
    item = boto3.client("dynamodb").get_item(**read_request(aws["fit_ledger"], "E0")).get("Item")
    return entry_from_item("E0", item), item


def test_a_file_that_came_during_the_fit_is_fitted_in_one_more_round(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = started_by_the_trigger(aws)
    real_fit_once = fit_entry.fit_once
    rounds: list[int] = []

    def fit_once_with_an_upload_meanwhile(args: Any) -> int:
        status = real_fit_once(args)
        rounds.append(status)
        if len(rounds) == 1:  # next season's first match lands while round one was fitting
            boto3.client("s3").put_object(Bucket=aws["bucket"], Key="results/E0/2025-26.csv", Body=LATE)
            FitLedger(aws["fit_ledger"], boto3.client("dynamodb")).request("E0", 1)
        return status

    monkeypatch.setattr(fit_entry, "fit_once", fit_once_with_an_upload_meanwhile)
    arguments = ["--bucket", aws["bucket"], "--ledger", aws["fit_ledger"], "--holder", holder, *SAMPLER]
    assert fit_entry.main(arguments) == 0
    assert rounds == [0, 0]  # one more round, not one per file
    s3 = boto3.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/E0/")["Contents"])
    assert len(keys) == 2
    last = decode_posterior(s3.get_object(Bucket=aws["bucket"], Key=keys[-1])["Body"].read())
    assert last.meta["data_window"]["matches"] == 381  # the late file is in the second round's fit
    entry, item = ledger_entry(aws)
    assert entry.holder is None and entry.requests == 2 and item["fitted_requests"]["N"] == "2"


def test_a_refused_fit_gives_the_lease_back(aws: dict[str, str]) -> None:
    holder = started_by_the_trigger(aws)
    refusing = ["--min-ess", "1000000"]  # no chain of 100 draws reaches it: the gate refuses, exit 3
    arguments = ["--bucket", aws["bucket"], "--ledger", aws["fit_ledger"], "--holder", holder, *QUICK, *refusing]
    assert fit_entry.main(arguments) == 3
    entry, _ = ledger_entry(aws)
    assert entry.holder is None and entry.requests == 1  # the next upload starts a fit at once
