"""What keeps the stored data: the bucket policy read as data and applied to requests, the tables'
deletion protection and point-in-time recovery, Pulumi's protect flag, and the cap on the query function's concurrency.

The bucket policy is checked by what it decides, not by how it is spelt: `_denied` applies its
statements to a request the way IAM does for the few operators it uses (and fails on any other),
so a statement that is reworded but still right passes, and one that stops denying fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from infra_mocks import LEDGER_TABLE, ODDS_TABLE, RECONFIGURED, Deployed

from infra.query_api import DEFAULT_QUERY_RESERVED_CONCURRENCY, QueryApi, QueryApiArgs
from matchodds.core.keys import DEFAULT_COMPETITION, LATEST_EXPORT, export_key, posterior_key, results_prefix
from matchodds.core.posterior import Posterior

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSION = "20250526T060000Z"
POSTERIOR = posterior_key(DEFAULT_COMPETITION, VERSION)
RESULTS = f"{results_prefix(DEFAULT_COMPETITION)}E0-2024-25.csv"
HTTPS = {"aws:SecureTransport": "true"}
HTTP = {"aws:SecureTransport": "false"}


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, expected: list[str], context: dict[str, str]) -> bool:
    """IAM's reading of one condition key; an absent key fails a positive test and passes a negated one."""
    present = key in context
    if operator == "Null":
        (absent,) = expected
        return present != (absent == "true")
    if operator == "Bool":
        return present and context[key].lower() in expected
    if operator == "StringEquals":
        return present and context[key] in expected
    if operator == "StringNotEquals":
        return not present or context[key] not in expected
    raise AssertionError(f"the bucket policy uses {operator}, which this test cannot evaluate yet")


def _denied(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether any statement of a Deny-only policy refuses this request to anyone."""
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny", statement
        assert statement["Principal"] == "*", statement
        # IAM actions are case-insensitive; ARNs are not. `*` in either matches any run of characters.
        if not any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, _listed(expected), context)
            for operator, keys in conditions.items()
            for key, expected in keys.items()
        ):
            return True
    return False


def _bucket_policy(deployed: Deployed) -> dict[str, Any]:
    policy = deployed.one(BUCKET_POLICY)
    assert policy.inputs["bucket"] == deployed.one(BUCKET).id
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def test_the_bucket_policy_only_denies_so_the_bucket_stays_private(deployed: Deployed) -> None:
    """A policy that grants nothing cannot make the bucket public, and the four blocks stay on."""
    statements = _bucket_policy(deployed)["Statement"]
    assert statements
    assert {statement["Effect"] for statement in statements} == {"Deny"}
    block = deployed.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[setting] is True, setting


# (action, object key or None for the bucket itself, request context, denied?)
REQUESTS = [
    # Plain HTTP is refused for everything, on the bucket and on every object.
    pytest.param("s3:GetObject", POSTERIOR, HTTP, True, id="http-get-posterior"),
    pytest.param("s3:ListBucket", None, HTTP, True, id="http-list-bucket"),
    pytest.param("s3:PutObject", RESULTS, HTTP, True, id="http-put-results"),
    pytest.param("s3:GetObject", export_key(DEFAULT_COMPETITION, LATEST_EXPORT, "json"), HTTPS, False, id="get-export"),
    # A posterior is created only with If-None-Match: *, and never deleted.
    pytest.param("s3:PutObject", POSTERIOR, {**HTTPS, "s3:if-none-match": "*"}, False, id="put-posterior-new-only"),
    pytest.param("s3:PutObject", POSTERIOR, HTTPS, True, id="put-posterior-unconditional"),
    pytest.param("s3:PutObject", POSTERIOR, {**HTTPS, "s3:if-none-match": '"9b2cf535"'}, True, id="put-posterior-etag"),
    pytest.param("s3:DeleteObject", POSTERIOR, HTTPS, True, id="delete-posterior"),
    pytest.param("s3:DeleteObjectVersion", POSTERIOR, HTTPS, True, id="delete-posterior-version"),
    pytest.param("s3:GetObject", POSTERIOR, HTTPS, False, id="get-posterior"),
    # Elsewhere writes stay ordinary: results are re-uploaded, the `latest` exports are replaced.
    pytest.param("s3:PutObject", RESULTS, HTTPS, False, id="put-results"),
    pytest.param("s3:PutObject", export_key(DEFAULT_COMPETITION, LATEST_EXPORT, "csv"), HTTPS, False, id="put-export"),
    pytest.param("s3:DeleteObject", RESULTS, HTTPS, False, id="delete-results"),
    pytest.param("s3:ListBucket", None, HTTPS, False, id="list-bucket"),
]


@pytest.mark.parametrize(("action", "key", "context", "denied"), REQUESTS)
def test_the_bucket_policy_decides_each_request(
    deployed: Deployed, action: str, key: str | None, context: dict[str, str], denied: bool
) -> None:
    bucket_arn = deployed.one(BUCKET)["arn"]
    resource = bucket_arn if key is None else f"{bucket_arn}/{key}"
    assert _denied(_bucket_policy(deployed), action, resource, context) is denied


class _RecordingS3:
    """Stands in for boto3's S3 client: keeps each put_object call instead of sending it."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **request: Any) -> dict[str, Any]:
        self.puts.append(request)
        return {}


def test_the_fits_own_publish_is_allowed_and_the_same_write_without_its_header_is_not(
    deployed: Deployed, make_posterior: Callable[..., Posterior]
) -> None:
    """The request the fit's publish really sends: the task role allows it, the bucket policy lets it be."""
    from adapters.posterior_store import publish

    bucket = deployed.one(BUCKET)
    s3 = _RecordingS3()
    publish(make_posterior(competition=DEFAULT_COMPETITION, version=VERSION), bucket["bucket"], s3)
    (put,) = s3.puts
    resource = f"{bucket['arn']}/{put['Key']}"
    context = {**HTTPS, "s3:if-none-match": put["IfNoneMatch"]}

    task_role = deployed.one("aws:iam/role:Role", f"fit-{DEFAULT_COMPETITION}-task")["name"]
    (role_policy,) = [p for p in deployed.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == task_role]
    (write,) = [s for s in json.loads(role_policy.inputs["policy"])["Statement"] if s["Action"] == ["s3:PutObject"]]
    assert any(fnmatchcase(resource, pattern) for pattern in write["Resource"])

    policy = _bucket_policy(deployed)
    assert not _denied(policy, "s3:PutObject", resource, context)
    del context["s3:if-none-match"]
    assert _denied(policy, "s3:PutObject", resource, context)


@pytest.mark.parametrize("table", [ODDS_TABLE, LEDGER_TABLE])
def test_aws_refuses_to_delete_either_table_and_keeps_its_history(deployed: Deployed, table: str) -> None:
    """The ledger is kept as the odds are: a lost lease would let two fits of one competition run at once."""
    inputs = deployed.one(TABLE, table).inputs
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    # Encrypted at rest with the AWS-owned key, the default, for both: neither names a key of its own.
    assert "serverSideEncryption" not in inputs


def test_pulumi_protects_the_bucket_and_the_tables_and_nothing_else(deployed: Deployed) -> None:
    """`pulumi destroy`, or a change that would replace them, stops before touching the data."""
    assert sorted(table.name for table in deployed.of_type(TABLE)) == sorted([ODDS_TABLE, LEDGER_TABLE])
    assert deployed.protected == {
        (BUCKET, deployed.one(BUCKET).name),
        (TABLE, ODDS_TABLE),
        (TABLE, LEDGER_TABLE),
    }


def test_the_query_function_has_a_reserved_concurrency_cap(deployed: Deployed, reconfigured: Deployed) -> None:
    """The default when config says nothing, and the configured value when it does."""
    configured = int(RECONFIGURED["queryReservedConcurrency"])
    assert configured != DEFAULT_QUERY_RESERVED_CONCURRENCY
    for stack, cap in ((deployed, DEFAULT_QUERY_RESERVED_CONCURRENCY), (reconfigured, configured)):
        assert stack.one("aws:lambda/function:Function", "query").inputs["reservedConcurrentExecutions"] == cap


@pytest.mark.parametrize("value", [0, -1])
def test_a_reserved_concurrency_that_caps_nothing_is_refused(value: int) -> None:
    """Lambda reads 0 as "never run" and -1 as "no cap"; either would be a silent outage or no bound."""
    args = QueryApiArgs(
        code=Path("query.zip"),
        bucket_name="bucket",
        bucket_arn="arn:aws:s3:::bucket",
        table_name="table",
        table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/table",
        cors_allow_origins=[],
        throttle_rate_limit=50.0,
        throttle_burst_limit=100,
        log_retention_days=30,
        reserved_concurrency=value,
    )
    with pytest.raises(ValueError, match=rf"queryReservedConcurrency {value} is not a cap.*at least 1"):
        QueryApi("query", args)
