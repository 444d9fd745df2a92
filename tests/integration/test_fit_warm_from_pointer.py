"""The fit's warm start comes from the served version, the one the competition's pointer names (issue 31).

It took the highest key under posteriors/<c>/: a junk key (an Arabic-Indic digit in its name sorts above
every version) became every later fit's warm start, and so would a version precompute had refused.
Without a table (local files, an older deployment) or a pointer, the newest posterior the contract reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import boto3
import pytest

from matchodds.core.adaptation import ADAPTATION_META_KEY, Adaptation, ChainAdaptation
from matchodds.core.items import pointer_key
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior
from services.fit.main import previous_adaptation

pytestmark = pytest.mark.integration
MODEL = "dixon_coles_seasons"
SERVED, NEWER = "20250805T060000Z", "20250812T060000Z"
JUNK_KEY = "posteriors/E0/٢0260101T000000Z.npz"  # sorts above every real version


def adaptation(step_size: float) -> Adaptation:
    """A stored adaptation told apart by its step size."""
    chain = ChainAdaptation(step_size, {"intercept": [0.003]}, {"intercept": [0.31]})
    return Adaptation(MODEL, {"intercept": ()}, {"team": ("ARS", "CHE", "LIV", "MCI")}, (chain,))


@pytest.fixture
def bucket(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> str:
    """The served version (step 0.1), a newer one precompute never promoted (0.2) and a junk key (0.3)."""
    s3 = boto3.client("s3")
    for key, version, step in (
        (posterior_key("E0", SERVED), SERVED, 0.1),
        (posterior_key("E0", NEWER), NEWER, 0.2),
        (JUNK_KEY, NEWER, 0.3),
    ):
        posterior = make_posterior(version=version)
        stored = replace(posterior, meta={**posterior.meta, ADAPTATION_META_KEY: adaptation(step).to_meta()})
        s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(stored))
    return aws["bucket"]


def serve(table: str, version: str) -> None:
    item = {name: {"S": value} for name, value in pointer_key("E0").items()}
    boto3.client("dynamodb").put_item(TableName=table, Item={**item, "version": {"S": version}})


def warm_step(bucket: str, table: str | None) -> float | None:
    found = previous_adaptation(None, bucket, "E0", MODEL, boto3.client("s3"), table, boto3.client("dynamodb"))
    return None if found is None else found.chains[0].step_size


def test_the_warm_start_is_the_version_the_pointer_serves(aws: dict[str, str], bucket: str) -> None:
    serve(aws["table"], SERVED)
    assert warm_step(bucket, aws["table"]) == 0.1


def test_without_a_pointer_or_a_table_the_newest_real_version_never_a_junk_key(
    aws: dict[str, str], bucket: str
) -> None:
    assert warm_step(bucket, aws["table"]) == 0.2  # nothing served yet
    assert warm_step(bucket, None) == 0.2  # no table: local files, a deployment from before the table was given


def test_a_table_it_cannot_read_costs_only_the_served_version(bucket: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="matchodds.fit"):
        assert warm_step(bucket, "no-such-table") == 0.2
    assert "the served version of E0 is not readable" in caplog.text


def test_a_pointer_to_a_version_no_longer_in_the_bucket_warms_up_cold(aws: dict[str, str], bucket: str) -> None:
    serve(aws["table"], "20250729T060000Z")  # its posterior expired from the bucket
    assert warm_step(bucket, aws["table"]) is None
