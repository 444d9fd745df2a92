"""A fitted posterior precompute would refuse is not published: the fit exits 3 and the current odds stay.

Issue 31: a 120,000-character team name (an upload accepted it) made a posterior over precompute's
8 MiB decompressed cap; the fit published it, and every later version failed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

import services.fit.main as fit_main_module
from entry.local.sample_data import SAMPLE_SEASON
from matchodds.core.posterior import Posterior
from services.fit.main import EXIT_GATE
from services.fit.main import main as fit_main

pytestmark = pytest.mark.fit
LEAGUE = ("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY", "EVE", "FUL", "IPS")
LEAGUE += ("LEI", "LIV", "MCI", "MUN", "NEW", "NFO", "SOU", "TOT", "WHU", "WOL")


@pytest.fixture
def fitted_with_a_long_name(make_posterior: Callable[..., Posterior], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit's sampler stood in for: what it returns is a league whose first name is 120,000 characters."""
    posterior = make_posterior(codes=LEAGUE)
    long_name = replace(posterior, team_names=("A" * 120_000, *posterior.team_names[1:]))

    def fit(*args: Any, **kwargs: Any) -> Posterior:
        return long_name

    monkeypatch.setattr(fit_main_module, "fit_posterior", fit)


@pytest.mark.usefixtures("fitted_with_a_long_name")
def test_a_posterior_over_precomputes_cap_is_not_written_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "posterior.npz"
    assert fit_main([str(SAMPLE_SEASON), "--out", str(out), "--cold"]) == EXIT_GATE
    assert not out.exists()


@pytest.mark.usefixtures("fitted_with_a_long_name")
def test_a_posterior_over_precomputes_cap_is_not_published(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    s3, bucket = boto3.client("s3"), aws["bucket"]
    s3.upload_file(str(SAMPLE_SEASON), bucket, "results/E0/2024-25.csv")
    assert fit_main(["--bucket", bucket, "--competition", "E0", "--cold"]) == EXIT_GATE
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="posteriors/")
    assert "not publishable" in caplog.text and "the current odds stay" in caplog.text
