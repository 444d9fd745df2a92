"""Least privilege, read from the policy documents the stack sends to IAM, SQS and SNS.

Each role's grants are flattened to (action, resource) pairs and compared with the exact set the
service needs, written out here from the contract's prefixes and the recorded ARNs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_mocks import FIT_REPOSITORY_ARN, RECONFIGURED, Deployed, Recorded

from matchodds.core.keys import (
    DEFAULT_COMPETITION,
    EXPORTS_PREFIX,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    PRICED_PREFIX,
    RESULTS_PREFIX,
    fixtures_prefix,
    posterior_prefix,
    results_prefix,
)

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WRITE_VERBS = ("Put", "Update", "Delete", "BatchWrite", "Create", "Write", "Restore", "Tag", "Untag")


def _arn(deployed: Deployed, typ: str, name: str | None = None) -> str:
    return str(deployed.one(typ, name)["arn"])


def _log_streams(deployed: Deployed, log_group: str) -> str:
    return f"{_arn(deployed, 'aws:cloudwatch/logGroup:LogGroup', log_group)}:log-stream:*"


def _role_statements(deployed: Deployed, role_name: str) -> list[dict[str, Any]]:
    role = deployed.one(ROLE, role_name)
    policies = [p for p in deployed.of_type(ROLE_POLICY) if p.inputs["role"] == role["name"]]
    assert len(policies) == 1, f"{role_name} should carry exactly one inline policy"
    statements: list[dict[str, Any]] = json.loads(policies[0].inputs["policy"])["Statement"]
    return statements


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs.update((action, resource) for action in actions for resource in resources)
    return pairs


def _expected_grants(deployed: Deployed) -> dict[str, set[tuple[str, str]]]:
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    table = _arn(deployed, "aws:dynamodb/table:Table")
    queue = _arn(deployed, "aws:sqs/queue:Queue", "precompute")
    pricing_queue = _arn(deployed, "aws:sqs/queue:Queue", "pricing")
    consume = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
    ecr_pull = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

    def logs(group: str) -> set[tuple[str, str]]:
        return {(action, _log_streams(deployed, group)) for action in ("logs:CreateLogStream", "logs:PutLogEvents")}

    return {
        "fit-execution": {
            ("ecr:GetAuthorizationToken", "*"),
            *((action, FIT_REPOSITORY_ARN) for action in ecr_pull),
            *logs("fit"),
        },
        "fit-task": {
            ("s3:ListBucket", bucket),
            ("s3:GetObject", f"{bucket}/{results_prefix(DEFAULT_COMPETITION)}*"),
            ("s3:GetObject", f"{bucket}/{fixtures_prefix(DEFAULT_COMPETITION)}*"),
            ("s3:PutObject", f"{bucket}/{posterior_prefix(DEFAULT_COMPETITION)}*"),
        },
        "fit-scheduler": {
            ("ecs:RunTask", _arn(deployed, "aws:ecs/taskDefinition:TaskDefinition")),
            ("iam:PassRole", _arn(deployed, ROLE, "fit-execution")),
            ("iam:PassRole", _arn(deployed, ROLE, "fit-task")),
        },
        "precompute": {
            ("s3:GetObject", f"{bucket}/{POSTERIOR_PREFIX}*"),
            ("s3:PutObject", f"{bucket}/{EXPORTS_PREFIX}*"),
            *(
                (action, table)
                for action in ("dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")
            ),
            *((action, queue) for action in consume),
            ("events:PutEvents", _arn(deployed, "aws:cloudwatch/eventBus:EventBus")),
            *logs("precompute"),
        },
        "pricing": {
            ("s3:GetObject", f"{bucket}/{FIXTURES_PREFIX}*"),
            ("s3:PutObject", f"{bucket}/{PRICED_PREFIX}*"),
            *((action, table) for action in ("dynamodb:BatchGetItem", "dynamodb:GetItem")),
            *((action, pricing_queue) for action in consume),
            *logs("pricing"),
        },
        "query": {
            *((action, table) for action in ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")),
            *logs("query"),
        },
    }


ROLES = ("fit-execution", "fit-task", "fit-scheduler", "precompute", "pricing", "query")


def test_the_stack_has_exactly_these_roles_and_no_managed_policies(deployed: Deployed) -> None:
    assert sorted(role.name for role in deployed.of_type(ROLE)) == sorted(ROLES)
    assert deployed.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert deployed.of_type("aws:iam/policyAttachment:PolicyAttachment") == []
    for role in deployed.of_type(ROLE):
        assert not role.inputs.get("managedPolicyArns"), role.name


@pytest.mark.parametrize("role_name", ROLES)
def test_each_role_grants_exactly_its_listed_actions_on_its_listed_resources(
    deployed: Deployed, role_name: str
) -> None:
    assert _grants(_role_statements(deployed, role_name)) == _expected_grants(deployed)[role_name]


@pytest.mark.parametrize(
    ("role_name", "service"),
    [
        ("fit-execution", "ecs-tasks.amazonaws.com"),
        ("fit-task", "ecs-tasks.amazonaws.com"),
        ("fit-scheduler", "scheduler.amazonaws.com"),
        ("precompute", "lambda.amazonaws.com"),
        ("pricing", "lambda.amazonaws.com"),
        ("query", "lambda.amazonaws.com"),
    ],
)
def test_each_role_is_assumed_by_its_service_alone(deployed: Deployed, role_name: str, service: str) -> None:
    (statement,) = json.loads(deployed.one(ROLE, role_name).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"
    if service != "lambda.amazonaws.com":
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_query_role_cannot_write(deployed: Deployed) -> None:
    for action, _ in _grants(_role_statements(deployed, "query")):
        service, verb = action.split(":")
        if service == "logs":
            continue
        assert not verb.startswith(WRITE_VERBS), action
        assert service == "dynamodb", action


def test_the_execution_role_cannot_touch_the_bucket_or_the_table(deployed: Deployed) -> None:
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    table = _arn(deployed, "aws:dynamodb/table:Table")
    for action, resource in _grants(_role_statements(deployed, "fit-execution")):
        assert action.split(":")[0] not in {"s3", "dynamodb"}, action
        assert not resource.startswith((bucket, table)), resource


def test_the_task_role_cannot_touch_the_table(deployed: Deployed) -> None:
    table = _arn(deployed, "aws:dynamodb/table:Table")
    for action, resource in _grants(_role_statements(deployed, "fit-task")):
        assert not action.startswith("dynamodb:"), action
        assert not resource.startswith(table), resource


@pytest.mark.parametrize("role_name", ["fit-task", "precompute", "pricing"])
def test_no_role_writes_where_its_own_input_lies(deployed: Deployed, role_name: str) -> None:
    """The fit cannot touch results, precompute posteriors, pricing fixtures: a bug cannot eat its input."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    read_only = {"fit-task": RESULTS_PREFIX, "precompute": POSTERIOR_PREFIX, "pricing": FIXTURES_PREFIX}[role_name]
    for action, resource in _grants(_role_statements(deployed, role_name)):
        if action.startswith("s3:Put"):
            assert not resource.startswith(f"{bucket}/{read_only}"), (action, resource)
            assert resource != f"{bucket}/*", (action, resource)


def test_the_task_role_lists_only_the_results_and_fixtures_prefixes(deployed: Deployed) -> None:
    (listing,) = [s for s in _role_statements(deployed, "fit-task") if s["Action"] == ["s3:ListBucket"]]
    prefixes = [f"{results_prefix(DEFAULT_COMPETITION)}*", f"{fixtures_prefix(DEFAULT_COMPETITION)}*"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": prefixes}}


def test_the_task_role_reads_and_writes_only_the_configured_competition(reconfigured: Deployed) -> None:
    """Another competition in config moves every S3 grant of the fit with it, and none stays on the default."""
    other = RECONFIGURED["competition"]
    assert other != DEFAULT_COMPETITION
    bucket = _arn(reconfigured, "aws:s3/bucket:Bucket")
    assert _grants(_role_statements(reconfigured, "fit-task")) == {
        ("s3:ListBucket", bucket),
        ("s3:GetObject", f"{bucket}/{results_prefix(other)}*"),
        ("s3:GetObject", f"{bucket}/{fixtures_prefix(other)}*"),
        ("s3:PutObject", f"{bucket}/{posterior_prefix(other)}*"),
    }
    (listing,) = [s for s in _role_statements(reconfigured, "fit-task") if s["Action"] == ["s3:ListBucket"]]
    prefixes = [f"{results_prefix(other)}*", f"{fixtures_prefix(other)}*"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": prefixes}}


def test_the_scheduler_may_run_the_task_only_on_its_cluster_and_pass_roles_only_to_ecs(deployed: Deployed) -> None:
    statements = {tuple(s["Action"]): s for s in _role_statements(deployed, "fit-scheduler")}
    cluster = _arn(deployed, "aws:ecs/cluster:Cluster")
    assert statements[("ecs:RunTask",)]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    assert statements[("iam:PassRole",)]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


def _actions(document: dict[str, Any], effect: str) -> list[str]:
    found = []
    for statement in document["Statement"]:
        if statement["Effect"] == effect:
            actions = statement.get("Action", [])
            found.extend(actions if isinstance(actions, list) else [actions])
    return found


def test_no_policy_in_the_stack_grants_a_wildcard_action(deployed: Deployed) -> None:
    """A wildcard may only widen a Deny (the bucket's plain-HTTP refusal), never an Allow."""
    documents = list(deployed.policies())
    assert len(documents) >= 2 * len(ROLES) + 3  # inline + trust per role, the queue, topic and bucket policies
    for where, document in documents:
        for action in _actions(document, "Allow"):
            assert "*" not in action, f"{where}: {action}"
    wildcard_denials = {
        (where, action) for where, document in documents for action in _actions(document, "Deny") if "*" in action
    }
    bucket_policy = deployed.one("aws:s3/bucketPolicy:BucketPolicy")
    assert wildcard_denials == {(f"{bucket_policy.typ} {bucket_policy.name} policy", "s3:*")}


def test_only_the_ecr_login_has_a_wildcard_resource(deployed: Deployed) -> None:
    wildcard_grants = {
        (role, action)
        for role in ROLES
        for action, resource in _grants(_role_statements(deployed, role))
        if resource == "*"
    }
    assert wildcard_grants == {("fit-execution", "ecr:GetAuthorizationToken")}


def test_resource_policies_admit_only_named_services_from_named_sources(deployed: Deployed) -> None:
    resource_policies: list[Recorded] = [
        deployed.one("aws:sqs/queuePolicy:QueuePolicy", "precompute"),
        deployed.one("aws:sqs/queuePolicy:QueuePolicy", "pricing"),
        deployed.one("aws:sns/topicPolicy:TopicPolicy"),
    ]
    for resource in resource_policies:
        for statement in json.loads(resource.inputs["policy"])["Statement"]:
            assert set(statement["Principal"]) == {"Service"}, resource.name
            assert statement["Principal"]["Service"] != "*"
            assert statement["Condition"], f"{resource.name}: a service may only act for a named source"


def test_the_pricing_role_cannot_write_odds_or_publish(deployed: Deployed) -> None:
    """Pricing reads the table and writes only under priced/: it can neither change odds nor announce them."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    for action, resource in _grants(_role_statements(deployed, "pricing")):
        assert not action.startswith("events:"), action
        if action.startswith("dynamodb:"):
            assert not any(verb in action for verb in WRITE_VERBS), action
        if action.startswith("s3:Put"):
            assert resource == f"{bucket}/{PRICED_PREFIX}*", resource


def test_only_precompute_may_put_events_and_only_on_its_bus(deployed: Deployed) -> None:
    bus = _arn(deployed, "aws:cloudwatch/eventBus:EventBus")
    putters = {
        (role, resource)
        for role in ROLES
        for action, resource in _grants(_role_statements(deployed, role))
        if action.startswith("events:")
    }
    assert putters == {("precompute", bus)}
