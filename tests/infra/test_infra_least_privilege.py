"""Least privilege, read from the policy documents the stack sends to IAM, SQS and SNS.

Each role's grants are flattened to (action, resource) pairs and compared with the exact set the
service needs, written out here from the contract's prefixes and the recorded ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

import pytest
from infra_mocks import FIT_REPOSITORY_ARN, LEDGER_TABLE, ODDS_TABLE, RECONFIGURED, Deployed, Recorded

from infra.competitions import DEFAULT_COMPETITIONS
from matchodds.core.items import fixtures_partition, odds_partition, pointer_key
from matchodds.core.keys import (
    EXPORTS_PREFIX,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    PRICED_PREFIX,
    RESULTS_PREFIX,
    fixtures_prefix,
    posterior_key,
    posterior_prefix,
    results_prefix,
)
from matchodds.core.settings import Settings

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ROLE = "aws:iam/role:Role"
TABLE = "aws:dynamodb/table:Table"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
WRITE_VERBS = ("Put", "Update", "Delete", "BatchWrite", "Create", "Write", "Restore", "Tag", "Untag")


def _arn(deployed: Deployed, typ: str, name: str | None = None) -> str:
    return str(deployed.one(typ, name)["arn"])


def _log_streams(deployed: Deployed, log_group: str) -> str:
    return f"{_arn(deployed, 'aws:cloudwatch/logGroup:LogGroup', log_group)}:log-stream:*"


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs.update((action, resource) for action in actions for resource in resources)
    return pairs


def _fit_grants(deployed: Deployed, competition: str) -> dict[str, set[tuple[str, str]]]:
    """One competition's two fit roles: its task reads its own inputs and writes its own posteriors, its
    schedule runs its own task definition and passes the shared execution role and its own task role."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    ledger = _arn(deployed, TABLE, LEDGER_TABLE)
    return {
        f"fit-{competition}-task": {
            ("s3:ListBucket", bucket),
            ("s3:GetObject", f"{bucket}/{results_prefix(competition)}*"),
            ("s3:GetObject", f"{bucket}/{fixtures_prefix(competition)}*"),
            ("s3:GetObject", f"{bucket}/{posterior_prefix(competition)}*"),  # the last fit's adaptation
            ("s3:PutObject", f"{bucket}/{posterior_prefix(competition)}*"),
            ("dynamodb:GetItem", ledger),
            ("dynamodb:UpdateItem", ledger),
            ("dynamodb:GetItem", _arn(deployed, TABLE, ODDS_TABLE)),  # its pointer: the served version
        },
        f"fit-{competition}-scheduler": {
            ("ecs:RunTask", _arn(deployed, "aws:ecs/taskDefinition:TaskDefinition", f"fit-{competition}")),
            ("iam:PassRole", _arn(deployed, ROLE, "fit-execution")),
            ("iam:PassRole", _arn(deployed, ROLE, f"fit-{competition}-task")),
        },
    }


def _expected_grants(deployed: Deployed, competitions: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    table = _arn(deployed, TABLE, ODDS_TABLE)
    queue = _arn(deployed, "aws:sqs/queue:Queue", "precompute")
    pricing_queue = _arn(deployed, "aws:sqs/queue:Queue", "pricing")
    trigger_queue = _arn(deployed, "aws:sqs/queue:Queue", "fit-trigger")
    consume = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
    ecr_pull = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

    def logs(group: str) -> set[tuple[str, str]]:
        return {(action, _log_streams(deployed, group)) for action in ("logs:CreateLogStream", "logs:PutLogEvents")}

    fits: dict[str, set[tuple[str, str]]] = {}
    for competition in competitions:
        fits.update(_fit_grants(deployed, competition))
    return {
        "fit-execution": {
            ("ecr:GetAuthorizationToken", "*"),
            *((action, FIT_REPOSITORY_ARN) for action in ecr_pull),
            *logs("fit"),
        },
        **fits,
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
            *(
                (action, table)
                for action in (
                    "dynamodb:BatchGetItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                )
            ),
            *((action, pricing_queue) for action in consume),
            *logs("pricing"),
        },
        "query": {
            *((action, table) for action in ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")),
            ("s3:GetObject", f"{bucket}/{EXPORTS_PREFIX}*"),  # GET /odds: the exports, nothing else of the bucket
            *logs("query"),
        },
        "fit-trigger": {
            *((action, trigger_queue) for action in consume),
            ("dynamodb:UpdateItem", _arn(deployed, TABLE, LEDGER_TABLE)),
            *(("ecs:RunTask", _arn(deployed, TASK_DEFINITION, f"fit-{c}")) for c in competitions),
            ("iam:PassRole", _arn(deployed, ROLE, "fit-execution")),
            *(("iam:PassRole", _arn(deployed, ROLE, f"fit-{c}-task")) for c in competitions),
            *logs("fit-trigger"),
        },
    }


def _roles(competitions: Sequence[str]) -> tuple[str, ...]:
    per_competition = [f"fit-{c}-{kind}" for c in competitions for kind in ("task", "scheduler")]
    return ("fit-execution", *per_competition, "precompute", "pricing", "query", "fit-trigger")


RECONFIGURED_COMPETITIONS: list[str] = json.loads(RECONFIGURED["competitions"])
ROLES = _roles(DEFAULT_COMPETITIONS)
FIT_TASK_ROLES = [f"fit-{c}-task" for c in DEFAULT_COMPETITIONS]


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
    assert _grants(deployed.role_statements(role_name)) == _expected_grants(deployed, DEFAULT_COMPETITIONS)[role_name]


@pytest.mark.parametrize(
    ("role_name", "service"),
    [
        ("fit-execution", "ecs-tasks.amazonaws.com"),
        *((f"fit-{c}-task", "ecs-tasks.amazonaws.com") for c in DEFAULT_COMPETITIONS),
        *((f"fit-{c}-scheduler", "scheduler.amazonaws.com") for c in DEFAULT_COMPETITIONS),
        ("precompute", "lambda.amazonaws.com"),
        ("pricing", "lambda.amazonaws.com"),
        ("query", "lambda.amazonaws.com"),
        ("fit-trigger", "lambda.amazonaws.com"),
    ],
)
def test_each_role_is_assumed_by_its_service_alone(deployed: Deployed, role_name: str, service: str) -> None:
    (statement,) = json.loads(deployed.one(ROLE, role_name).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"
    if service != "lambda.amazonaws.com":
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_query_role_cannot_write(deployed: Deployed) -> None:
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    for action, resource in _grants(deployed.role_statements("query")):
        service, verb = action.split(":")
        if service == "logs":
            continue
        assert not verb.startswith(WRITE_VERBS), action
        assert service == "dynamodb" or (action, resource) == ("s3:GetObject", f"{bucket}/{EXPORTS_PREFIX}*"), action


def test_the_execution_role_cannot_touch_the_bucket_or_the_tables(deployed: Deployed) -> None:
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    tables = tuple(table["arn"] for table in deployed.of_type(TABLE))
    assert len(tables) == 2
    for action, resource in _grants(deployed.role_statements("fit-execution")):
        assert action.split(":")[0] not in {"s3", "dynamodb"}, action
        assert not resource.startswith((bucket, *tables)), resource


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_the_task_role_reads_only_its_own_pointer_of_the_odds_and_reaches_only_its_own_ledger_item(
    deployed: Deployed, competition: str
) -> None:
    """The warm start reads the served version from its pointer (issue 31): one GetItem, one partition."""
    odds = _arn(deployed, TABLE, ODDS_TABLE)
    statements = deployed.role_statements(f"fit-{competition}-task")
    (pointer, ledger) = sorted(
        (s for s in statements if any(action.startswith("dynamodb:") for action in s["Action"])),
        key=lambda s: s["Resource"] != [odds],
    )
    assert pointer["Action"] == ["dynamodb:GetItem"] and pointer["Resource"] == [odds]
    own = pointer_key(competition)["pk"]
    assert pointer["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [own]}}
    assert own not in {pointer_key(other)["pk"] for other in DEFAULT_COMPETITIONS if other != competition}
    assert own != odds_partition(competition, "20250526T060000Z")  # never a version's odds
    assert ledger["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert ledger["Resource"] == [_arn(deployed, TABLE, LEDGER_TABLE)]
    assert ledger["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [competition]}}


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_each_fit_task_is_told_the_odds_table_whose_pointer_it_reads(deployed: Deployed, competition: str) -> None:
    (container,) = json.loads(deployed.one(TASK_DEFINITION, f"fit-{competition}").inputs["containerDefinitions"])
    environment = {variable["name"]: variable["value"] for variable in container["environment"]}
    assert Settings.from_env(environment, need=("bucket", "table")).table == deployed.one(TABLE, ODDS_TABLE)["name"]


@pytest.mark.parametrize("role_name", [*FIT_TASK_ROLES, "precompute", "pricing"])
def test_no_role_writes_where_its_own_input_lies(deployed: Deployed, role_name: str) -> None:
    """The fit cannot touch results, precompute posteriors, pricing fixtures: a bug cannot eat its input."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    read_only = {"precompute": POSTERIOR_PREFIX, "pricing": FIXTURES_PREFIX}.get(role_name, RESULTS_PREFIX)
    for action, resource in _grants(deployed.role_statements(role_name)):
        if action.startswith("s3:Put"):
            assert not resource.startswith(f"{bucket}/{read_only}"), (action, resource)
            assert resource != f"{bucket}/*", (action, resource)


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_the_task_role_lists_only_its_competitions_results_fixtures_and_posteriors_prefixes(
    deployed: Deployed, competition: str
) -> None:
    (listing,) = [s for s in deployed.role_statements(f"fit-{competition}-task") if s["Action"] == ["s3:ListBucket"]]
    prefixes = [
        f"{results_prefix(competition)}*",
        f"{fixtures_prefix(competition)}*",
        f"{posterior_prefix(competition)}*",
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": prefixes}}


def _objects(bucket: str, competition: str) -> dict[str, str]:
    """An object of each kind a fit touches, under one competition's prefixes."""
    return {
        "results": f"{bucket}/{results_prefix(competition)}2024-25.csv",
        "fixtures": f"{bucket}/{fixtures_prefix(competition)}fixtures.csv",
        "posterior": f"{bucket}/{posterior_key(competition, '20250805T060000Z')}",
    }


def _allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether one of the statements allows the action on the object (IAM's `*` spans `/`, as fnmatch's does)."""
    return any(fnmatchcase(resource, pattern) for granted, pattern in _grants(statements) if granted == action)


def _listable(statements: list[dict[str, Any]], prefix: str) -> bool:
    return any(
        fnmatchcase(prefix, pattern)
        for statement in statements
        if statement["Action"] == ["s3:ListBucket"]
        for pattern in statement["Condition"]["StringLike"]["s3:prefix"]
    )


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_a_fit_role_reads_and_writes_its_own_competition_and_no_other(deployed: Deployed, competition: str) -> None:
    """Each competition's task role against real keys of every served competition: its own, and only its own."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    statements = deployed.role_statements(f"fit-{competition}-task")
    for other in DEFAULT_COMPETITIONS:
        mine = other == competition
        objects = _objects(bucket, other)
        assert _allowed(statements, "s3:GetObject", objects["results"]) is mine, other
        assert _allowed(statements, "s3:GetObject", objects["fixtures"]) is mine, other
        assert _allowed(statements, "s3:PutObject", objects["posterior"]) is mine, other
        assert _listable(statements, results_prefix(other)) is mine, other
        assert _listable(statements, fixtures_prefix(other)) is mine, other
        # Its own posteriors, for the last fit's sampler adaptation (the warm start); no other's.
        assert _allowed(statements, "s3:GetObject", objects["posterior"]) is mine, other
        assert _listable(statements, posterior_prefix(other)) is mine, other
        # Never: writing results or fixtures.
        assert not _allowed(statements, "s3:PutObject", objects["results"]), other
        assert not _allowed(statements, "s3:PutObject", objects["fixtures"]), other


def test_another_list_of_competitions_moves_every_fit_grant_with_it(reconfigured: Deployed) -> None:
    """A stack configured with other competitions has their roles, exactly their grants, and none of the defaults'."""
    assert set(RECONFIGURED_COMPETITIONS) - set(DEFAULT_COMPETITIONS)  # a competition the defaults lack
    assert set(DEFAULT_COMPETITIONS) - set(RECONFIGURED_COMPETITIONS)  # and defaults it drops
    roles = _roles(RECONFIGURED_COMPETITIONS)
    assert sorted(role.name for role in reconfigured.of_type(ROLE)) == sorted(roles)
    expected = _expected_grants(reconfigured, RECONFIGURED_COMPETITIONS)
    for role_name in roles:
        assert _grants(reconfigured.role_statements(role_name)) == expected[role_name], role_name
    bucket = _arn(reconfigured, "aws:s3/bucket:Bucket")
    fit_roles = [role_name for role_name in roles if role_name.startswith("fit-")]
    for dropped in set(DEFAULT_COMPETITIONS) - set(RECONFIGURED_COMPETITIONS):
        for role_name in fit_roles:
            statements = reconfigured.role_statements(role_name)
            for kind, key in _objects(bucket, dropped).items():
                assert not _allowed(statements, "s3:GetObject", key), (role_name, kind)
                assert not _allowed(statements, "s3:PutObject", key), (role_name, kind)


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_each_scheduler_runs_only_its_task_on_the_cluster_and_passes_only_its_fit_roles_to_ecs(
    deployed: Deployed, competition: str
) -> None:
    statements = {tuple(s["Action"]): s for s in deployed.role_statements(f"fit-{competition}-scheduler")}
    cluster = _arn(deployed, "aws:ecs/cluster:Cluster")
    assert statements[("ecs:RunTask",)]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    assert statements[("ecs:RunTask",)]["Resource"] == [
        _arn(deployed, "aws:ecs/taskDefinition:TaskDefinition", f"fit-{competition}")
    ]
    passed = statements[("iam:PassRole",)]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert sorted(passed["Resource"]) == sorted(
        [_arn(deployed, ROLE, "fit-execution"), _arn(deployed, ROLE, f"fit-{competition}-task")]
    )


def test_the_schedulers_together_pass_exactly_the_fit_roles(deployed: Deployed) -> None:
    """No schedule can hand a task the precompute, query or a scheduler role."""
    passed = {
        resource
        for competition in DEFAULT_COMPETITIONS
        for action, resource in _grants(deployed.role_statements(f"fit-{competition}-scheduler"))
        if action == "iam:PassRole"
    }
    assert passed == {_arn(deployed, ROLE, name) for name in ("fit-execution", *FIT_TASK_ROLES)}


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
        for action, resource in _grants(deployed.role_statements(role))
        if resource == "*"
    }
    assert wildcard_grants == {("fit-execution", "ecr:GetAuthorizationToken")}


def test_resource_policies_admit_only_named_services_from_named_sources(deployed: Deployed) -> None:
    queue_policies = deployed.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert sorted(policy.name for policy in queue_policies) == ["fit-trigger", "precompute", "pricing"]
    resource_policies: list[Recorded] = [*queue_policies, deployed.one("aws:sns/topicPolicy:TopicPolicy")]
    for resource in resource_policies:
        for statement in json.loads(resource.inputs["policy"])["Statement"]:
            assert set(statement["Principal"]) == {"Service"}, resource.name
            assert statement["Principal"]["Service"] != "*"
            assert statement["Condition"], f"{resource.name}: a service may only act for a named source"


def test_the_pricing_role_cannot_write_odds_or_publish(deployed: Deployed) -> None:
    """Pricing reads the odds, writes only under priced/ and in the fixtures partitions of the table (the
    uploaded fixtures, for GET /fixtures): it can neither change odds nor announce them."""
    bucket = _arn(deployed, "aws:s3/bucket:Bucket")
    statements = deployed.role_statements("pricing")
    for action, resource in _grants(statements):
        assert not action.startswith("events:"), action
        if action.startswith("s3:Put"):
            assert resource == f"{bucket}/{PRICED_PREFIX}*", resource
    for statement in statements:
        writes = [a for a in statement["Action"] if a.startswith("dynamodb:") and any(v in a for v in WRITE_VERBS)]
        if writes:
            assert writes == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
            assert statement["Condition"] == {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [fixtures_partition("*")]}
            }
            assert not fnmatchcase(pointer_key("E0")["pk"], fixtures_partition("*"))
            assert not fnmatchcase(odds_partition("E0", "20250526T060000Z"), fixtures_partition("*"))


def test_only_precompute_may_put_events_and_only_on_its_bus(deployed: Deployed) -> None:
    bus = _arn(deployed, "aws:cloudwatch/eventBus:EventBus")
    putters = {
        (role, resource)
        for role in ROLES
        for action, resource in _grants(deployed.role_statements(role))
        if action.startswith("events:")
    }
    assert putters == {("precompute", bus)}
