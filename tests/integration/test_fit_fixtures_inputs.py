"""The fit's fixtures inputs: files users drop under fixtures/ to be priced must never cost the week's fit."""

from __future__ import annotations

import logging

import boto3
import pytest

from services.fit.main import load_fixtures

pytestmark = pytest.mark.integration


def test_an_unreadable_fixtures_file_is_skipped_with_a_warning_and_the_others_read(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    s3 = boto3.client("s3")
    good = b"Div,Date,HomeTeam,AwayTeam\nE0,16/08/2025,Sunderland,West Ham\n"
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/next.csv", Body=good)
    s3.put_object(Bucket=aws["bucket"], Key="fixtures/E0/broken.csv", Body=b"home,away\nARS,ARS\n")
    with caplog.at_level(logging.WARNING, logger="matchodds.fit"):
        fixtures = load_fixtures(None, aws["bucket"], "E0", s3)
    assert [(f.home, f.away) for f in fixtures] == [("SUN", "WHU")]
    assert "s3://matchodds-local/fixtures/E0/broken.csv, line 2" in caplog.text and "skipped" in caplog.text
