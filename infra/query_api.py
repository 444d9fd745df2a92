"""Query: the read-only function behind an HTTP API, with its routes, throttling, CORS and access logs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import QUERY
from infra.policy_docs import ServiceRole, allow, write_logs
from infra.service_env import lambda_function
from matchodds.core.keys import DEFAULT_COMPETITIONS, EXPORTS_PREFIX
from matchodds.core.settings import parse_competitions

# The routes of services.query.app (the infra tests read the app's decorators to keep these in
# step); any other path gets API Gateway's own 404 without invoking, or billing, the function.
QUERY_ROUTES = (
    "GET /",
    "GET /competitions",
    "GET /docs",
    "GET /fixtures",
    "GET /odds",
    "GET /odds/{home}/{away}",
    "GET /openapi.json",
    "GET /table",
    "GET /teams",
    "POST /odds",
)
# Measured (docs/deploy.md): importing the handler takes 0.12-0.30 s of CPU (by machine) and peaks at 40 MiB
# resident (51 MiB once /docs has loaded pydantic). 512 MB is far more memory than it needs, bought for CPU:
# Lambda gives CPU in proportion to memory, and at 512 MB (0.29 vCPU) a cold start stays within half a second
# to a second.
QUERY_MEMORY_MB = 512
QUERY_TIMEOUT_SECONDS = 10
# The default cap on the query function's concurrent executions (config queryReservedConcurrency).
# Concurrency is requests per second times duration: at the default throttle (50 requests/s on
# each route) and about 30 ms a request, all eight routes at their limit keep about 12 executions
# busy. 50 leaves room for cold starts and bursts, while a flood (or a throttle raised too far)
# can take no more than 50 of the account's concurrent executions (1,000 by default) from its
# other functions, nor bill for more.
DEFAULT_QUERY_RESERVED_CONCURRENCY = 50
# Read-only: the pointer and single fixtures, up to 100 fixtures at once, a version's whole table.
QUERY_DYNAMODB_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")
# GET /odds answers from a version's export (services/query/exports.py): reads under exports/ only, which also
# sign the redirect's presigned URL for a table too large for a Lambda reply. No s3:ListBucket, so a missing
# export is a 403, which the query takes as missing.
QUERY_S3_ACTIONS = ("s3:GetObject",)
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)


def route_slug(route_key: str) -> str:
    """A resource name for a route: "GET /odds/{home}/{away}" -> "get-odds-home-away", "GET /" -> "get-root"."""
    slug = re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")
    return f"{slug}-root" if route_key.endswith(" /") else slug


def exports_objects(bucket_arn: str) -> str:
    """The ARN of every export object of the bucket (exports/<competition>/...), and of nothing else."""
    return f"{bucket_arn}/{EXPORTS_PREFIX}*"


def served_competitions(competitions: Sequence[str]) -> tuple[str, ...]:
    """The config's `competitions`, checked at `pulumi preview` rather than by a function failing its first request."""
    if isinstance(competitions, str) or not all(isinstance(code, str) for code in competitions):
        raise ValueError(f'competitions {competitions!r}: give a list of competition codes, such as ["E0", "SC0"]')
    return parse_competitions(",".join(competitions), source="competitions")


@dataclass(frozen=True)
class QueryApiArgs:
    code: Path
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    cors_allow_origins: Sequence[str]
    throttle_rate_limit: float
    throttle_burst_limit: int
    log_retention_days: int
    reserved_concurrency: int = DEFAULT_QUERY_RESERVED_CONCURRENCY
    competitions: Sequence[str] = DEFAULT_COMPETITIONS


class QueryApi(pulumi.ComponentResource):
    """The query function, its HTTP API ($default stage) and the permission that joins them."""

    def __init__(self, name: str, args: QueryApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Lambda reads 0 as "never run" and -1 as "no cap": neither is a cap, so both are refused here.
        if args.reserved_concurrency < 1:
            raise ValueError(
                f"queryReservedConcurrency {args.reserved_concurrency} is not a cap: give the most "
                f"concurrent executions the query function may use, at least 1 (default "
                f"{DEFAULT_QUERY_RESERVED_CONCURRENCY})"
            )
        competitions = served_competitions(args.competitions)
        super().__init__("matchodds:infra:QueryApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}"

        self.log_group = aws.cloudwatch.LogGroup(
            name, name=prefix, retention_in_days=args.log_retention_days, opts=child
        )
        self.access_log_group = aws.cloudwatch.LogGroup(
            f"{name}-access", name=f"{prefix}-access", retention_in_days=args.log_retention_days, opts=child
        )
        self.role = ServiceRole(
            name,
            "lambda.amazonaws.com",
            [
                allow(QUERY_DYNAMODB_ACTIONS, [args.table_arn]),
                allow(QUERY_S3_ACTIONS, [pulumi.Output.from_input(args.bucket_arn).apply(exports_objects)]),
                write_logs(self.log_group),
            ],
            parent=self,
        )
        self.function = lambda_function(
            name,
            QUERY,
            args.code,
            QUERY_MEMORY_MB,
            QUERY_TIMEOUT_SECONDS,
            self.role,
            self.log_group,
            args.bucket_name,
            args.table_name,
            parent=self,
            reserved_concurrency=args.reserved_concurrency,
            competitions=competitions,
        )

        cors = (
            aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=list(args.cors_allow_origins),
                allow_methods=sorted({route_key.split(" ", 1)[0] for route_key in QUERY_ROUTES}),
                allow_headers=["content-type"],
                max_age=3600,
            )
            if args.cors_allow_origins
            else None
        )
        self.api = aws.apigatewayv2.Api(name, protocol_type="HTTP", cors_configuration=cors, opts=child)
        self.integration = aws.apigatewayv2.Integration(
            name,
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=self.function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=(QUERY_TIMEOUT_SECONDS + 1) * 1000,
            opts=child,
        )
        self.routes = [
            aws.apigatewayv2.Route(
                f"{name}-{route_slug(route_key)}",
                api_id=self.api.id,
                route_key=route_key,
                target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                opts=child,
            )
            for route_key in QUERY_ROUTES
        ]
        self.stage = aws.apigatewayv2.Stage(
            name,
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": args.throttle_rate_limit,
                "throttling_burst_limit": args.throttle_burst_limit,
            },
            access_log_settings={"destination_arn": self.access_log_group.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.routes),
        )
        self.permission = aws.lambda_.Permission(
            name,
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            # Any stage, method and path of this API: API Gateway only invokes for the routes above.
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )

        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url, "function_name": self.function.name})
