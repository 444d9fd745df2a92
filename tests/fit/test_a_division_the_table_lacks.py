"""The fit of a division the code table lacks: its clubs get made-up codes, published with their names."""

from __future__ import annotations

import boto3
import pytest

from matchodds.core.posterior import decode_posterior
from matchodds.core.teams import TeamTable
from services.fit.main import main as fit_main
from tests.unit.test_made_up_codes import EREDIVISIE, eredivisie_season

pytestmark = pytest.mark.fit


def test_the_posterior_names_each_made_up_code_with_its_club(aws: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key="results/N1/2024-25.csv", Body=eredivisie_season())
    quick = ["--chains", "1", "--warmup", "100", "--samples", "100", "--min-ess", "10", "--max-r-hat", "1.2"]
    status = fit_main(["--bucket", aws["bucket"], "--competition", "N1", "--model", "poisson_static", *quick])
    assert status == 0
    (listed,) = s3.list_objects_v2(Bucket=aws["bucket"], Prefix="posteriors/N1/")["Contents"]
    posterior = decode_posterior(s3.get_object(Bucket=aws["bucket"], Key=listed["Key"])["Body"].read())
    table = TeamTable.load()  # a fresh table, in which nothing has been made up yet
    expected = {table.code("N1", name): name for name in EREDIVISIE.values()}
    assert dict(zip(posterior.team_codes, posterior.team_names, strict=True)) == expected
