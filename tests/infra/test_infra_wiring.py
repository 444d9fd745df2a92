"""The stack's wiring under Pulumi mocks: each event and request reaches the piece meant to handle it."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest
from infra_mocks import ALARM_EMAIL, CONFIG, FIT_IMAGE, LEDGER_TABLE, ODDS_TABLE, REPO_ROOT, Deployed

from infra.competitions import DEFAULT_COMPETITIONS
from infra.fit_job import FIT_CONTAINER, ecr_repository_arn
from infra.lambda_platform import FIT_TRIGGER, LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, PRECOMPUTE, PRICING, QUERY
from infra.package import DEFAULT_OUT
from infra.query_api import QUERY_ROUTES
from matchodds.core.items import EXPIRES_ATTRIBUTE, PARTITION_KEY, PRECOMPUTE_MAX_RECEIVES, SORT_KEY
from matchodds.core.keys import (
    CSV_SUFFIX,
    EVENT_BUS_NAME,
    EVENT_BUS_VARIABLE,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    POSTERIOR_SUFFIX,
    PRICED_PREFIX,
    PRICING_MAX_RECEIVES,
)
from matchodds.core.refits import FIT_LEDGER_VARIABLE, FIT_TRIGGER_MAX_RECEIVES, LEDGER_KEY
from matchodds.core.settings import Settings

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
# What the fit was measured to need at peak (docs/deploy.md), and the prototype's size that was too tight.
MEASURED_FIT_PEAK_MB = 933  # 890 MiB: 4 seasons pinned to one core (docs/deploy.md)
PROTOTYPE_FIT_MEMORY_MB = 512
# What precompute was measured to need at peak: the whole path for 96 teams (docs/benchmarks.md, Growth).
MEASURED_PRECOMPUTE_PEAK_MIB = 228
ONE_VCPU_MEMORY_MB = 1769  # where Lambda gives a whole vCPU to the single-threaded numpy


def _function(deployed: Deployed, name: str) -> Any:
    return deployed.one(FUNCTION, name)


def test_posterior_notification_reaches_the_precompute_function(deployed: Deployed) -> None:
    bucket, queue = deployed.one(BUCKET), deployed.one(QUEUE, "precompute")
    notification = deployed.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == bucket["bucket"]
    assert notification.inputs["queues"][0] == {
        "queueArn": queue["arn"],
        "events": ["s3:ObjectCreated:*"],
        "filterPrefix": POSTERIOR_PREFIX,
        "filterSuffix": POSTERIOR_SUFFIX,
    }

    mapping = deployed.one("aws:lambda/eventSourceMapping:EventSourceMapping", "precompute")
    assert mapping.inputs["eventSourceArn"] == queue["arn"]
    assert mapping.inputs["functionName"] == _function(deployed, "precompute")["arn"]
    assert mapping.inputs["batchSize"] == 1
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("name", ["precompute", "pricing", "fit-trigger"])
def test_only_this_bucket_may_send_to_the_queue(deployed: Deployed, name: str) -> None:
    bucket, queue = deployed.one(BUCKET), deployed.one(QUEUE, name)
    queue_policy = deployed.one("aws:sqs/queuePolicy:QueuePolicy", name)
    assert queue_policy.inputs["queueUrl"] == queue["url"]
    statements = json.loads(queue_policy.inputs["policy"])["Statement"]
    (statement,) = [s for s in statements if s["Principal"] == {"Service": "s3.amazonaws.com"}]
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Resource"] == queue["arn"]
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": bucket["arn"]}
    # Besides the bucket, only the fit trigger's queue takes events: its fit tasks' stops, from its one rule.
    others = [s for s in statements if s is not statement]
    if name != "fit-trigger":
        assert others == []
    else:
        rule = deployed.one("aws:cloudwatch/eventRule:EventRule", "fit-trigger-fit-stopped")
        assert others == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["sqs:SendMessage"],
                "Resource": queue["arn"],
                "Condition": {"ArnEquals": {"aws:SourceArn": [rule["arn"]]}},
            }
        ]


@pytest.mark.parametrize(
    ("name", "max_receives"),
    [
        ("precompute", PRECOMPUTE_MAX_RECEIVES),
        ("pricing", PRICING_MAX_RECEIVES),
        ("fit-trigger", FIT_TRIGGER_MAX_RECEIVES),
    ],
)
def test_failed_messages_go_to_a_dead_letter_queue(deployed: Deployed, name: str, max_receives: int) -> None:
    queue, dead_letters = deployed.one(QUEUE, name), deployed.one(QUEUE, f"{name}-dlq")
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dead_letters["arn"],
        "maxReceiveCount": max_receives,
    }
    redrive = deployed.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", f"{name}-dlq")
    allow = json.loads(redrive.inputs["redriveAllowPolicy"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [queue["arn"]]}
    # A message must stay hidden for as long as an invocation may hold it.
    assert queue.inputs["visibilityTimeoutSeconds"] >= _function(deployed, name).inputs["timeout"]


def test_the_buckets_notification_belongs_to_storage_and_keeps_its_deployed_urn(deployed: Deployed) -> None:
    notification = deployed.one("aws:s3/bucketNotification:BucketNotification")
    (urn,) = [urn for urn in deployed.urns if urn.endswith(f"BucketNotification::{notification.name}")]
    assert urn.split("::")[2].split("$")[-2] == "matchodds:infra:Storage"
    # Where it was deployed before (Precompute's child): adopted, never created anew and the old deleted.
    (precompute,) = [urn for urn in deployed.urns if urn.endswith("matchodds:infra:Precompute::precompute")]
    assert deployed.aliases[(notification.typ, notification.name)] == [("precompute", precompute)]


def test_fixtures_notification_reaches_the_pricing_function(deployed: Deployed) -> None:
    queue = deployed.one(QUEUE, "pricing")
    notification = deployed.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["queues"][1] == {
        "queueArn": queue["arn"],
        "events": ["s3:ObjectCreated:*"],
        "filterPrefix": FIXTURES_PREFIX,
        "filterSuffix": CSV_SUFFIX,  # the key rule's: a key pricing would skip is never announced
    }
    assert not PRICED_PREFIX.startswith(FIXTURES_PREFIX)  # its own output never notifies it
    mapping = deployed.one("aws:lambda/eventSourceMapping:EventSourceMapping", "pricing")
    assert mapping.inputs["eventSourceArn"] == queue["arn"]
    assert mapping.inputs["functionName"] == _function(deployed, "pricing")["arn"]
    assert (mapping.inputs["batchSize"], mapping.inputs["functionResponseTypes"]) == (1, ["ReportBatchItemFailures"])


def test_precompute_publishes_on_the_stacks_bus(deployed: Deployed) -> None:
    bus = deployed.one("aws:cloudwatch/eventBus:EventBus")
    variables = _function(deployed, "precompute").inputs["environment"]["variables"]
    assert variables[EVENT_BUS_VARIABLE] == bus["name"] and bus["name"].startswith(EVENT_BUS_NAME)
    assert deployed.exports["eventBusName"] == bus["name"]
    for name in ("query", "pricing"):  # nothing else announces odds
        assert EVENT_BUS_VARIABLE not in _function(deployed, name).inputs["environment"]["variables"]


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_schedule_runs_the_fit_task_with_both_roles(deployed: Deployed, competition: str) -> None:
    schedule = deployed.one("aws:scheduler/schedule:Schedule", f"fit-{competition}")
    task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
    cluster = deployed.one("aws:ecs/cluster:Cluster")
    target = schedule.inputs["target"]
    assert target["arn"] == cluster["arn"]
    assert target["roleArn"] == deployed.one(ROLE, f"fit-{competition}-scheduler")["arn"]
    assert target["ecsParameters"]["taskDefinitionArn"] == task["arn"]
    assert target["ecsParameters"]["launchType"] == "FARGATE"
    assert schedule.inputs["groupName"] == deployed.one("aws:scheduler/scheduleGroup:ScheduleGroup")["name"]

    execution_role, task_role = deployed.one(ROLE, "fit-execution"), deployed.one(ROLE, f"fit-{competition}-task")
    assert task.inputs["executionRoleArn"] == execution_role["arn"]
    assert task.inputs["taskRoleArn"] == task_role["arn"]
    assert execution_role["arn"] != task_role["arn"]


def test_fit_task_reaches_aws_through_a_public_ip_and_nothing_reaches_it(deployed: Deployed) -> None:
    subnets = deployed.of_type("aws:ec2/subnet:Subnet")
    security_group = deployed.one("aws:ec2/securityGroup:SecurityGroup")
    for schedule in deployed.of_type("aws:scheduler/schedule:Schedule"):
        network = schedule.inputs["target"]["ecsParameters"]["networkConfiguration"]
        assert network["assignPublicIp"] is True
        assert sorted(network["subnets"]) == sorted(subnet.id for subnet in subnets)
        assert network["securityGroups"] == [security_group.id]
    assert len({subnet.inputs["availabilityZone"] for subnet in subnets}) == len(subnets) >= 2

    route_table = deployed.one("aws:ec2/routeTable:RouteTable")
    gateway = deployed.one("aws:ec2/internetGateway:InternetGateway")
    assert route_table.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": gateway.id}]
    associated = {a.inputs["subnetId"] for a in deployed.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    assert associated == {subnet.id for subnet in subnets}

    assert security_group.inputs.get("ingress", []) == []
    assert [(rule["protocol"], rule["fromPort"], rule["toPort"]) for rule in security_group.inputs["egress"]] == [
        ("tcp", 443, 443)
    ]


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_fit_container_runs_the_configured_image_on_the_real_bucket(deployed: Deployed, competition: str) -> None:
    task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    assert container["name"] == FIT_CONTAINER
    assert container["image"] == FIT_IMAGE
    environment = {variable["name"]: variable["value"] for variable in container["environment"]}
    settings = Settings.from_env(environment, need=("bucket", "table"))
    assert settings.bucket == deployed.one(BUCKET)["bucket"]
    assert settings.table == deployed.one(TABLE, ODDS_TABLE)["name"]
    assert environment["MATCHODDS_COMPETITION"] == competition
    assert environment[FIT_LEDGER_VARIABLE] == deployed.one(TABLE, LEDGER_TABLE)["name"]
    logs = container["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == deployed.one("aws:cloudwatch/logGroup:LogGroup", "fit")["name"]
    assert logs["options"]["awslogs-stream-prefix"] == competition


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_fit_task_is_sized_from_the_measurement(deployed: Deployed, competition: str) -> None:
    task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
    assert task.inputs["networkMode"] == "awsvpc"
    memory_mb = int(task.inputs["memory"])
    assert memory_mb > PROTOTYPE_FIT_MEMORY_MB
    assert memory_mb >= 2 * MEASURED_FIT_PEAK_MB
    assert int(task.inputs["cpu"]) == 1024  # 1 vCPU: time x price (docs/deploy.md, "Sizing")


def test_precompute_is_sized_from_the_measurement(deployed: Deployed) -> None:
    memory_mb = int(_function(deployed, "precompute").inputs["memorySize"])
    assert memory_mb >= ONE_VCPU_MEMORY_MB
    assert memory_mb * 10**6 >= 2 * MEASURED_PRECOMPUTE_PEAK_MIB * 2**20


@pytest.mark.parametrize("name", ["precompute", "pricing", "query"])
def test_every_function_names_the_real_bucket_and_table(deployed: Deployed, name: str) -> None:
    variables = _function(deployed, name).inputs["environment"]["variables"]
    settings = Settings.from_env(variables)
    assert settings.bucket == deployed.one(BUCKET)["bucket"]
    assert settings.table == deployed.one(TABLE, ODDS_TABLE)["name"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == name


@pytest.mark.parametrize("package", [PRECOMPUTE, PRICING, QUERY, FIT_TRIGGER], ids=lambda package: package.name)
def test_functions_run_what_the_build_packages(deployed: Deployed, package: Any) -> None:
    function = _function(deployed, package.name)
    assert function.inputs["runtime"] == LAMBDA_RUNTIME == "python3.12"
    assert function.inputs["architectures"] == [LAMBDA_ARCHITECTURE] == ["arm64"]
    assert function.inputs["handler"] == package.handler
    assert function.inputs["code"].path == str(DEFAULT_OUT / package.zip_name)
    assert DEFAULT_OUT == REPO_ROOT / "build" / "lambda"
    log_group = deployed.one("aws:cloudwatch/logGroup:LogGroup", package.name)
    assert function.inputs["loggingConfig"]["logGroup"] == log_group["name"]


def test_api_routes_reach_the_query_function(deployed: Deployed) -> None:
    api = deployed.one("aws:apigatewayv2/api:Api")
    function = _function(deployed, "query")
    integration = deployed.one("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["apiId"] == api.id
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["integrationUri"] == function["invokeArn"]
    assert integration.inputs["payloadFormatVersion"] == "2.0"

    routes = deployed.of_type("aws:apigatewayv2/route:Route")
    assert sorted(route.inputs["routeKey"] for route in routes) == sorted(QUERY_ROUTES)
    for route in routes:
        assert route.inputs["apiId"] == api.id
        assert route.inputs["target"] == f"integrations/{integration.id}"

    permission = deployed.one("aws:lambda/permission:Permission")
    assert permission.inputs["function"] == function["name"]
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"].startswith(f"{api['executionArn']}/")


class _EmptyTable:
    """A DynamoDB client whose table holds nothing: the odds routes then answer 503 not_ready."""

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def batch_get_item(self, **_: Any) -> dict[str, Any]:
        return {"Responses": {}}


@pytest.mark.parametrize("route_key", QUERY_ROUTES)
def test_every_api_route_reaches_a_route_of_the_query_app(route_key: str) -> None:
    """API Gateway forwards the concrete path; the app must route it (its own 404 is "Not found")."""
    from services.query.app import app
    from services.query.repository import OddsReader

    method, template = route_key.split(" ", 1)
    path = template.replace("{home}", "ARS").replace("{away}", "CHE")
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "body": "{}" if method == "POST" else None,
        "isBase64Encoded": False,
    }
    no_context: Any = None
    app.append_context(reader=OddsReader("odds", _EmptyTable()))
    response = app.resolve(event, no_context)
    assert response["statusCode"] != 404, f"{route_key} did not reach an app route: {response}"


def test_the_api_exposes_every_route_the_query_app_declares() -> None:
    """Read the app's `@app.get("/path/<param>")` decorators, so a new app route cannot stay unreachable."""
    source = (REPO_ROOT / "services" / "query" / "app.py").read_text(encoding="utf-8")
    declared = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and isinstance(decorator.func.value, ast.Name)
                    and decorator.func.value.id == "app"
                    and decorator.func.attr in {"get", "post", "put", "delete", "patch"}
                ):
                    path = re.sub(r"<(\w+)>", r"{\1}", ast.literal_eval(decorator.args[0]))
                    declared.add(f"{decorator.func.attr.upper()} {path}")
    assert declared == set(QUERY_ROUTES)


def test_api_stage_throttles_logs_and_allows_the_configured_origins(deployed: Deployed) -> None:
    stage = deployed.one("aws:apigatewayv2/stage:Stage")
    assert stage.inputs["name"] == "$default"
    assert stage.inputs["autoDeploy"] is True
    throttling = stage.inputs["defaultRouteSettings"]
    assert throttling["throttlingRateLimit"] > 0 and throttling["throttlingBurstLimit"] > 0
    access_logs = deployed.one("aws:cloudwatch/logGroup:LogGroup", "query-access")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == access_logs["arn"]
    json.loads(stage.inputs["accessLogSettings"]["format"])

    cors = deployed.one("aws:apigatewayv2/api:Api").inputs["corsConfiguration"]
    assert cors["allowOrigins"] == json.loads(CONFIG["corsAllowOrigins"])
    assert cors["allowMethods"] == ["GET", "POST"]


def test_table_follows_the_contract(deployed: Deployed) -> None:
    table = deployed.one(TABLE, ODDS_TABLE)
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == (PARTITION_KEY, SORT_KEY)
    assert table.inputs["ttl"] == {"attributeName": EXPIRES_ATTRIBUTE, "enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}


def test_ledger_follows_the_contract(deployed: Deployed) -> None:
    """One item per competition, keyed by its code: what the fit task roles' LeadingKeys condition names."""
    ledger = deployed.one(TABLE, LEDGER_TABLE)
    assert ledger.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert ledger.inputs["hashKey"] == LEDGER_KEY and "rangeKey" not in ledger.inputs
    assert ledger.inputs["attributes"] == [{"name": LEDGER_KEY, "type": "S"}]


def test_bucket_is_private_versioned_encrypted_and_expires_old_posteriors(deployed: Deployed) -> None:
    bucket_name = deployed.one(BUCKET)["bucket"]
    block = deployed.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert block["bucket"] == bucket_name
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[setting] is True, setting
    # The bucket's one policy only denies (test_infra_data_protection.py), so it makes nothing public.
    bucket_policy = deployed.one("aws:s3/bucketPolicy:BucketPolicy")
    assert bucket_policy.inputs["bucket"] == bucket_name
    assert {statement["Effect"] for statement in json.loads(bucket_policy.inputs["policy"])["Statement"]} == {"Deny"}
    assert deployed.of_type("aws:s3/bucketAcl:BucketAcl") == []
    ownership = deployed.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}

    versioning = deployed.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    encryption = deployed.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"

    rules = {
        rule["id"]: rule
        for rule in deployed.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    }
    assert rules["expire-old-posteriors"]["filter"] == {"prefix": POSTERIOR_PREFIX}
    assert rules["expire-old-posteriors"]["expiration"]["days"] > 0
    assert rules["clean-up-old-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] > 0


def test_alarms_watch_the_dead_letter_queue_the_functions_and_the_fit(deployed: Deployed) -> None:
    topic = deployed.one("aws:sns/topic:Topic")
    alarms = {alarm.name: alarm.inputs for alarm in deployed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    dead_letters = deployed.one(QUEUE, "precompute-dlq")["name"]
    assert alarms["alarms-dead-letters"]["dimensions"] == {"QueueName": dead_letters}
    for function in ("precompute", "query", "fit-trigger"):
        dimensions = {"FunctionName": _function(deployed, function)["name"]}
        assert alarms[f"alarms-{function}-errors"]["dimensions"] == dimensions
    schedule_group = deployed.one("aws:scheduler/scheduleGroup:ScheduleGroup")["name"]
    assert alarms["alarms-fit-not-started"]["dimensions"] == {"ScheduleGroup": schedule_group}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic["arn"]]

    rule = deployed.one("aws:cloudwatch/eventRule:EventRule", "alarms-fit-failed")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["clusterArn"] == [deployed.one("aws:ecs/cluster:Cluster")["arn"]]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    target = deployed.one("aws:cloudwatch/eventTarget:EventTarget", "alarms-fit-failed")
    assert (target.inputs["rule"], target.inputs["arn"]) == (rule["name"], topic["arn"])
    topic_policy = json.loads(deployed.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    (publish_from_rule,) = [
        statement
        for statement in topic_policy["Statement"]
        if statement["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert publish_from_rule["Condition"]["ArnEquals"] == {"aws:SourceArn": rule["arn"]}

    subscription = deployed.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (subscription["topic"], subscription["protocol"], subscription["endpoint"]) == (
        topic["arn"],
        "email",
        ALARM_EMAIL,
    )


def test_stack_exports_what_a_deployer_needs(deployed: Deployed) -> None:
    exports = deployed.exports
    assert exports["apiUrl"] == deployed.one("aws:apigatewayv2/stage:Stage")["invokeUrl"]
    assert exports["bucketName"] == deployed.one(BUCKET)["bucket"]
    assert exports["tableName"] == deployed.one(TABLE, ODDS_TABLE)["name"]
    assert exports["fitLedgerTableName"] == deployed.one(TABLE, LEDGER_TABLE)["name"]
    assert exports["fitTriggerDeadLetterQueueUrl"] == deployed.one(QUEUE, "fit-trigger-dlq")["url"]
    assert exports["fitTaskDefinitionArns"] == {
        competition: deployed.one(TASK_DEFINITION, f"fit-{competition}")["arn"] for competition in DEFAULT_COMPETITIONS
    }
    assert exports["fitClusterName"] == deployed.one("aws:ecs/cluster:Cluster")["name"]
    assert sorted(exports["fitSubnetIds"]) == sorted(s.id for s in deployed.of_type("aws:ec2/subnet:Subnet"))


def test_every_resource_belongs_to_a_component(deployed: Deployed) -> None:
    components = {"Storage", "FitJob", "FitTrigger", "Precompute", "Pricing", "QueryApi", "Alarms"}
    assert {r.typ.rsplit(":", 1)[1] for r in deployed.resources if r.typ.startswith("matchodds:infra:")} == components
    aws_urns = [urn for urn in deployed.urns if urn.split("::")[2].split("$")[-1].startswith("aws:")]
    assert len(aws_urns) == len([r for r in deployed.resources if r.typ.startswith("aws:")])
    for urn in aws_urns:
        *parents, _ = urn.split("::")[2].split("$")
        assert parents and parents[-1].startswith("matchodds:infra:"), f"{urn} has no component parent"


def test_fit_image_must_be_an_ecr_image() -> None:
    assert ecr_repository_arn(FIT_IMAGE) == "arn:aws:ecr:us-east-1:123456789012:repository/matchodds-fit"
    digest = f"{FIT_IMAGE.split(':')[0]}@sha256:{'a' * 64}"
    assert ecr_repository_arn(digest).endswith(":repository/matchodds-fit")
    with pytest.raises(ValueError, match="not an ECR image"):
        ecr_repository_arn("python:3.12-slim")
    for smuggled in (f"{FIT_IMAGE}\n", FIT_IMAGE.replace("1", "\u0661", 1)):  # a line break; an Arabic-Indic 1
        with pytest.raises(ValueError, match="not an ECR image"):
            ecr_repository_arn(smuggled)
