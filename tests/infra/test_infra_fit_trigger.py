"""Issue 20, results in, new odds out: a results upload reaches the fit trigger, which may start exactly the
served competitions' fits, and each fit may touch only its own competition's ledger item.

The trigger's own code runs here against the deployed environment: the requests it really sends to
DynamoDB and ECS (recorded, not sent) are checked against its role's statements, and the ledger
requests the fit sends (the contract's, matchodds.core.refits) against each fit task's role.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote_plus

import pytest
from event_patterns import matches
from infra_mocks import LEDGER_TABLE, RECONFIGURED, Deployed

from adapters.fit_ledger import (
    FitLedger,
    claim_lease,
    count_requests,
    extend_lease,
    read_request,
    release_if_done,
    release_lease,
)
from infra.competitions import DEFAULT_COMPETITIONS
from infra.fit_trigger import FIT_TRIGGER_MEMORY_MB, FIT_TRIGGER_TIMEOUT_SECONDS
from infra.service_env import BUCKET_VARIABLE, TABLE_VARIABLE
from matchodds.core.keys import (
    CSV_SUFFIX,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    POSTERIOR_SUFFIX,
    RESULTS_PREFIX,
    parse_fixtures_key,
    parse_results_key,
    results_prefix,
)
from matchodds.core.refits import (
    FIT_BATCHING_WINDOW_SECONDS,
    FIT_CONTAINER,
    FIT_HOLDER_VARIABLE,
    FIT_LEDGER_VARIABLE,
    FIT_TRIGGER_BATCH_SIZE,
    FIT_TRIGGER_MAX_RECEIVES,
    LEDGER_KEY,
    fit_started_by,
)
from services.fit_trigger.launcher import EcsLauncher
from services.fit_trigger.pipeline import start_fits
from tests.conftest import load_event

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
ROLE = "aws:iam/role:Role"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
RECONFIGURED_COMPETITIONS: list[str] = json.loads(RECONFIGURED["competitions"])
UNSERVED = "N1"  # a competition code the default stack does not serve (the reconfigured one does)


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, expected: list[str], context: dict[str, list[str]]) -> bool:
    """IAM's reading of the operators these roles use; any other fails the test until it is taught here."""
    values = context.get(key)
    if operator in {"StringEquals", "ArnEquals"}:
        return values is not None and len(values) == 1 and values[0] in expected
    if operator == "ForAllValues:StringEquals":
        # Every value in the request must be listed; a request without the key passes, which is why
        # no role here is granted an action that names no key (Scan, Query).
        return values is None or set(values) <= set(expected)
    raise AssertionError(f"this test cannot evaluate {operator} yet")


def _allowed(statements: Sequence[dict[str, Any]], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if action not in _listed(statement["Action"]):
            continue
        if not any(fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])):
            continue
        if all(
            _condition_holds(operator, key, _listed(expected), context)
            for operator, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ):
            return True
    return False


def _trigger_variables(deployed: Deployed) -> dict[str, str]:
    return dict(deployed.one(FUNCTION, "fit-trigger").inputs["environment"]["variables"])


def _container_environment(deployed: Deployed, competition: str) -> dict[str, str]:
    (container,) = json.loads(deployed.one(TASK_DEFINITION, f"fit-{competition}").inputs["containerDefinitions"])
    return {variable["name"]: variable["value"] for variable in container["environment"]}


def _leading_keys(request: dict[str, Any]) -> dict[str, list[str]]:
    """The condition context IAM builds for a DynamoDB request: the partition key values it names."""
    return {"dynamodb:LeadingKeys": [request["Key"][LEDGER_KEY]["S"]]}


def _ledger_arn(deployed: Deployed, table_name: str) -> str:
    """The ledger's ARN, once the name a service was given is checked to be the ledger's."""
    ledger = deployed.one(TABLE, LEDGER_TABLE)
    assert table_name == ledger["name"]
    return str(ledger["arn"])


def test_the_buckets_one_notification_sends_each_prefix_to_its_own_queue(deployed: Deployed) -> None:
    notification = deployed.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == deployed.one("aws:s3/bucket:Bucket")["bucket"]
    created = ["s3:ObjectCreated:*"]
    assert notification.inputs["queues"] == [
        {
            "queueArn": deployed.one(QUEUE, "precompute")["arn"],
            "events": created,
            "filterPrefix": POSTERIOR_PREFIX,
            "filterSuffix": POSTERIOR_SUFFIX,
        },
        {
            "queueArn": deployed.one(QUEUE, "pricing")["arn"],
            "events": created,
            "filterPrefix": FIXTURES_PREFIX,
            "filterSuffix": CSV_SUFFIX,
        },
        {
            "queueArn": deployed.one(QUEUE, "fit-trigger")["arn"],
            "events": created,
            "filterPrefix": RESULTS_PREFIX,
            "filterSuffix": CSV_SUFFIX,
        },
    ]
    # S3 refuses two entries whose prefixes overlap for one event type; none of these do.
    prefixes = [entry["filterPrefix"] for entry in notification.inputs["queues"]]
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and a.startswith(b)]


# Keys around the key rule's edges: S3 must announce every one the rule counts, and the rule must count
# none S3 leaves unannounced (issue 31: ".CSV" was counted by the fit and pricing, never announced).
EDGE_NAMES = ("2024-25.csv", "week.CSV", "week.Csv", "week", "week.txt", "a.b.csv", "sub/y.csv", "week 38.csv")


def _announced(entry: dict[str, Any], key: str) -> bool:
    """Whether S3 sends `key`'s creation to this notification entry (its filters are plain, case-sensitive)."""
    return key.startswith(entry["filterPrefix"]) and key.endswith(entry.get("filterSuffix", ""))


@pytest.mark.parametrize(
    ("prefix", "queue", "counts"),
    [(RESULTS_PREFIX, "fit-trigger", parse_results_key), (FIXTURES_PREFIX, "pricing", parse_fixtures_key)],
)
def test_the_notifications_announce_every_key_the_rule_counts_and_filter_by_its_suffix(
    deployed: Deployed, prefix: str, queue: str, counts: Any
) -> None:
    notification = deployed.one("aws:s3/bucketNotification:BucketNotification")
    arn = deployed.one(QUEUE, queue)["arn"]
    (entry,) = [entry for entry in notification.inputs["queues"] if entry["queueArn"] == arn]
    assert entry["filterSuffix"] == CSV_SUFFIX
    for name in EDGE_NAMES:
        key = f"{prefix}E0/{name}"
        if counts(key) is not None:
            assert _announced(entry, key), key
        if not _announced(entry, key):
            assert counts(key) is None, key


def test_results_reach_the_trigger_a_minutes_uploads_at_a_time(deployed: Deployed) -> None:
    queue, function = deployed.one(QUEUE, "fit-trigger"), deployed.one(FUNCTION, "fit-trigger")
    mapping = deployed.one("aws:lambda/eventSourceMapping:EventSourceMapping", "fit-trigger")
    assert (mapping.inputs["eventSourceArn"], mapping.inputs["functionName"]) == (queue["arn"], function["arn"])
    assert mapping.inputs["batchSize"] == FIT_TRIGGER_BATCH_SIZE
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == FIT_BATCHING_WINDOW_SECONDS
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 2}  # Lambda's least for SQS
    # AWS: six times the function's timeout plus the window, or a batch still waiting is handed out again.
    timeout = function.inputs["timeout"]
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * timeout + FIT_BATCHING_WINDOW_SECONDS
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == FIT_TRIGGER_MAX_RECEIVES
    # The other queues' functions still take one message at a time, as they did.
    for name in ("precompute", "pricing"):
        other = deployed.one("aws:lambda/eventSourceMapping:EventSourceMapping", name).inputs
        assert other["batchSize"] == 1 and "maximumBatchingWindowInSeconds" not in other


@pytest.mark.parametrize("stack", ["deployed", "reconfigured"])
def test_the_trigger_is_told_every_served_competitions_task_and_the_fits_network(
    stack: str, request: pytest.FixtureRequest
) -> None:
    deployed: Deployed = request.getfixturevalue(stack)
    competitions = DEFAULT_COMPETITIONS if stack == "deployed" else RECONFIGURED_COMPETITIONS
    function = deployed.one(FUNCTION, "fit-trigger")
    variables = _trigger_variables(deployed)
    launcher = EcsLauncher.from_env(variables, _RecordingEcs())  # the trigger's own reading of its environment
    assert dict(launcher.task_definitions) == {
        competition: deployed.one(TASK_DEFINITION, f"fit-{competition}")["arn"] for competition in competitions
    }
    assert launcher.cluster == deployed.one("aws:ecs/cluster:Cluster")["arn"]
    assert sorted(launcher.subnets) == sorted(subnet.id for subnet in deployed.of_type("aws:ec2/subnet:Subnet"))
    assert list(launcher.security_groups) == [deployed.one("aws:ec2/securityGroup:SecurityGroup").id]
    _ledger_arn(deployed, variables[FIT_LEDGER_VARIABLE])
    # It reads neither the bucket nor the odds: S3 says which file came, the fit reads it.
    assert BUCKET_VARIABLE not in variables and TABLE_VARIABLE not in variables
    assert variables["POWERTOOLS_SERVICE_NAME"] == "fit-trigger"
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (
        FIT_TRIGGER_MEMORY_MB,
        FIT_TRIGGER_TIMEOUT_SECONDS,
    )


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_each_fit_task_is_told_the_ledger(deployed: Deployed, competition: str) -> None:
    environment = _container_environment(deployed, competition)
    _ledger_arn(deployed, environment[FIT_LEDGER_VARIABLE])
    assert FIT_HOLDER_VARIABLE not in environment  # only a task the trigger starts holds a lease


def test_the_trigger_role_grants_exactly_these_statements(deployed: Deployed) -> None:
    """RunTask on the fit task definitions in the fit cluster, PassRole of the fit roles to ECS, the served
    competitions' ledger items; besides, its queue and its logs (test_infra_least_privilege.py)."""
    statements = {tuple(statement["Action"]): statement for statement in deployed.role_statements("fit-trigger")}
    assert statements[("ecs:RunTask",)]["Resource"] == sorted(
        deployed.one(TASK_DEFINITION, f"fit-{c}")["arn"] for c in DEFAULT_COMPETITIONS
    )
    assert statements[("ecs:RunTask",)]["Condition"] == {
        "ArnEquals": {"ecs:cluster": deployed.one("aws:ecs/cluster:Cluster")["arn"]}
    }
    fit_roles = ["fit-execution", *(f"fit-{c}-task" for c in DEFAULT_COMPETITIONS)]
    assert sorted(statements[("iam:PassRole",)]["Resource"]) == sorted(
        deployed.one(ROLE, name)["arn"] for name in fit_roles
    )
    assert statements[("iam:PassRole",)]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert statements[("dynamodb:UpdateItem",)]["Resource"] == [deployed.one(TABLE, LEDGER_TABLE)["arn"]]
    assert statements[("dynamodb:UpdateItem",)]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(DEFAULT_COMPETITIONS)}
    }
    assert sorted(statements) == sorted(
        [
            ("ecs:RunTask",),
            ("iam:PassRole",),
            ("dynamodb:UpdateItem",),
            ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
            ("logs:CreateLogStream", "logs:PutLogEvents"),
        ]
    )


class _RecordingDynamoDB:
    """Stands in for boto3's DynamoDB client: keeps each request; every lease is free."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("dynamodb:UpdateItem", request))
        return {"Attributes": {LEDGER_KEY: request["Key"][LEDGER_KEY], "requests": {"N": "1"}}}


class _RecordingEcs:
    """Stands in for boto3's ECS client: keeps each RunTask request and says the task started."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def run_task(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"tasks": [{"taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/fit/{len(self.requests)}"}]}


def _results_uploads(competitions: Sequence[str]) -> list[dict[str, Any]]:
    """SQS records of S3 notifications, one results file per competition (shaped as the fixtures event)."""
    (template,) = load_event("sqs-s3-fixtures.json")["Records"]
    records = []
    for index, competition in enumerate(competitions):
        body = json.loads(template["body"])
        body["Records"][0]["s3"]["object"]["key"] = quote_plus(f"{results_prefix(competition)}week-{index}.csv")
        records.append({**template, "messageId": f"message-{index}", "body": json.dumps(body)})
    return records


def test_what_the_trigger_sends_for_an_upload_its_role_allows_and_an_unserved_competition_is_skipped(
    deployed: Deployed,
) -> None:
    variables = _trigger_variables(deployed)
    dynamodb, ecs = _RecordingDynamoDB(), _RecordingEcs()
    launcher = EcsLauncher.from_env(variables, ecs)
    ledger = FitLedger(variables[FIT_LEDGER_VARIABLE], dynamodb)
    uploads = _results_uploads(["E0", "SP1", UNSERVED])
    assert start_fits(uploads, ledger, launcher, launcher.serves) == []  # the unserved one is not retried

    statements = deployed.role_statements("fit-trigger")
    assert {request["Key"][LEDGER_KEY]["S"] for _, request in dynamodb.requests} == {"E0", "SP1"}
    for action, request in dynamodb.requests:
        table = _ledger_arn(deployed, request["TableName"])
        assert _allowed(statements, action, table, _leading_keys(request)), request

    assert len(ecs.requests) == 2
    for run in ecs.requests:
        cluster = {"ecs:cluster": [run["cluster"]]}
        assert _allowed(statements, "ecs:RunTask", run["taskDefinition"], cluster), run
        elsewhere = {"ecs:cluster": [run["cluster"].replace(":cluster/", ":cluster/other-")]}
        assert not _allowed(statements, "ecs:RunTask", run["taskDefinition"], elsewhere)
        task = deployed.by_arn(run["taskDefinition"])
        to_ecs = {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}
        for role in (task.inputs["executionRoleArn"], task.inputs["taskRoleArn"]):
            assert _allowed(statements, "iam:PassRole", role, to_ecs), role
            assert not _allowed(statements, "iam:PassRole", role, {"iam:PassedToService": ["lambda.amazonaws.com"]})
        # The holder goes to the container the task definition names, on the network the schedules use.
        (container,) = json.loads(task.inputs["containerDefinitions"])
        (override,) = run["overrides"]["containerOverrides"]
        assert override["name"] == container["name"] == FIT_CONTAINER
        assert [variable["name"] for variable in override["environment"]] == [FIT_HOLDER_VARIABLE]
        network = run["networkConfiguration"]["awsvpcConfiguration"]
        schedule = deployed.one("aws:scheduler/schedule:Schedule", task.name)
        scheduled = schedule.inputs["target"]["ecsParameters"]["networkConfiguration"]
        assert (network["subnets"], network["securityGroups"]) == (scheduled["subnets"], scheduled["securityGroups"])
        assert network["assignPublicIp"] == "ENABLED" and scheduled["assignPublicIp"] is True


def _fit_stopped(deployed: Deployed, competition: str = "E0", **detail: Any) -> dict[str, Any]:
    """The real-shaped event of a trigger-started fit task stopped (killed: exit 137) on the stack's cluster."""
    event = load_event("ecs-task-stopped-triggered.json")
    task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
    event["detail"].update(
        clusterArn=deployed.one("aws:ecs/cluster:Cluster")["arn"],
        taskDefinitionArn=task["arn"],
        group=f"family:{task.inputs['family']}",
        startedBy=fit_started_by(competition),
    )
    event["detail"].update(detail)
    return event


def test_a_trigger_started_fit_that_stops_reaches_the_trigger_queue_and_no_other_event_does(
    deployed: Deployed,
) -> None:
    """Issue 31: a killed fit held its lease for an hour; its stop now reaches the trigger, which gives it back."""
    rule = deployed.one("aws:cloudwatch/eventRule:EventRule", "fit-trigger-fit-stopped")
    pattern = json.loads(rule.inputs["eventPattern"])
    for competition in DEFAULT_COMPETITIONS:
        assert matches(pattern, _fit_stopped(deployed, competition))
    assert matches(pattern, _fit_stopped(deployed, containers=[{"name": FIT_CONTAINER, "exitCode": 0}]))
    assert not matches(pattern, _fit_stopped(deployed, lastStatus="RUNNING"))
    assert not matches(pattern, _fit_stopped(deployed, startedBy="chronos-schedule"))  # a weekly fit: no lease
    other_cluster = deployed.one("aws:ecs/cluster:Cluster")["arn"].replace(":cluster/", ":cluster/other-")
    assert not matches(pattern, _fit_stopped(deployed, clusterArn=other_cluster))
    target = deployed.one("aws:cloudwatch/eventTarget:EventTarget", "fit-trigger-fit-stopped")
    assert (target.inputs["rule"], target.inputs["arn"]) == (rule["name"], deployed.one(QUEUE, "fit-trigger")["arn"])


def test_what_the_trigger_sends_for_a_stopped_fit_its_role_allows(deployed: Deployed) -> None:
    variables = _trigger_variables(deployed)
    dynamodb, ecs = _RecordingDynamoDB(), _RecordingEcs()
    launcher = EcsLauncher.from_env(variables, ecs)
    ledger = FitLedger(variables[FIT_LEDGER_VARIABLE], dynamodb)
    (template,) = load_event("sqs-s3-fixtures.json")["Records"]
    stopped = {**template, "messageId": "stopped", "body": json.dumps(_fit_stopped(deployed, "SP1"))}
    assert start_fits([stopped], ledger, launcher, launcher.serves) == []
    holder = _fit_stopped(deployed)["detail"]["overrides"]["containerOverrides"][0]["environment"][0]["value"]
    table_name = variables[FIT_LEDGER_VARIABLE]
    assert dynamodb.requests == [("dynamodb:UpdateItem", release_lease(table_name, "SP1", holder))]
    assert ecs.requests == []  # giving a lease back starts nothing: the next upload does
    statements = deployed.role_statements("fit-trigger")
    (action, request), table = dynamodb.requests[0], _ledger_arn(deployed, table_name)
    assert _allowed(statements, action, table, _leading_keys(request)), request


def test_the_trigger_may_not_read_the_ledger_nor_write_an_unserved_competitions_item(deployed: Deployed) -> None:
    statements = deployed.role_statements("fit-trigger")
    table_name = _trigger_variables(deployed)[FIT_LEDGER_VARIABLE]
    table = _ledger_arn(deployed, table_name)
    for served in DEFAULT_COMPETITIONS:
        request = count_requests(table_name, served, 1, "2025-05-26T06:00:00+00:00")
        assert _allowed(statements, "dynamodb:UpdateItem", table, _leading_keys(request)), request
        assert not _allowed(statements, "dynamodb:GetItem", table, _leading_keys(read_request(table_name, served)))
    unserved = count_requests(table_name, UNSERVED, 1, "2025-05-26T06:00:00+00:00")
    assert not _allowed(statements, "dynamodb:UpdateItem", table, _leading_keys(unserved)), unserved


def _fit_requests(table: str, competition: str) -> list[tuple[str, dict[str, Any]]]:
    """Every ledger request a fit sends (services/fit/lease.py), built by the contract as the fit builds them."""
    return [
        ("dynamodb:GetItem", read_request(table, competition)),
        ("dynamodb:UpdateItem", release_if_done(table, competition, "holder", 3)),
        ("dynamodb:UpdateItem", extend_lease(table, competition, "holder", 1.0e9, 3600)),
        ("dynamodb:UpdateItem", release_lease(table, competition, "holder")),
        # The trigger's claim, sent by a fit, would take another's lease: the fit's role must refuse it
        # for every competition but its own too.
        ("dynamodb:UpdateItem", claim_lease(table, competition, "holder", 1.0e9, 3600)),
    ]


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_a_fit_reaches_its_own_ledger_item_and_no_other(deployed: Deployed, competition: str) -> None:
    statements = deployed.role_statements(f"fit-{competition}-task")
    table_name = _container_environment(deployed, competition)[FIT_LEDGER_VARIABLE]
    table = _ledger_arn(deployed, table_name)
    for other in [*DEFAULT_COMPETITIONS, UNSERVED]:
        for action, request in _fit_requests(table_name, other):
            assert _allowed(statements, action, table, _leading_keys(request)) is (other == competition), request
