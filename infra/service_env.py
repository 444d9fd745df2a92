"""The environment the services read at start-up, in one place for every function and task.

The names are the ones `matchodds.core.settings.Settings.from_env` and `services.fit.main` read; the
contract exports no constants for most of them, so the infra tests check these against `Settings` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, LambdaPackage
from matchodds.core.settings import COMPETITIONS_VARIABLE

BUCKET_VARIABLE = "MATCHODDS_BUCKET"
TABLE_VARIABLE = "MATCHODDS_TABLE"
COMPETITION_VARIABLE = "MATCHODDS_COMPETITION"
SERVICE_NAME_VARIABLE = "POWERTOOLS_SERVICE_NAME"


def lambda_environment(
    bucket_name: pulumi.Input[str], table_name: pulumi.Input[str], service: str, competitions: Sequence[str] = ()
) -> dict[str, pulumi.Input[str]]:
    """A function's variables; `competitions`, the ones the query serves, only for a function that reads them."""
    served = {COMPETITIONS_VARIABLE: ",".join(competitions)} if competitions else {}
    return {BUCKET_VARIABLE: bucket_name, TABLE_VARIABLE: table_name, SERVICE_NAME_VARIABLE: service, **served}


def fit_environment(bucket_name: pulumi.Input[str], competition: str) -> list[dict[str, pulumi.Input[str]]]:
    """The fit container's environment, in the task definition's name/value form."""
    return [
        {"name": BUCKET_VARIABLE, "value": bucket_name},
        {"name": COMPETITION_VARIABLE, "value": competition},
    ]


def lambda_function(
    name: str,
    package: LambdaPackage,
    code: Path,
    memory_mb: int,
    timeout_seconds: int,
    role: Any,
    log_group: aws.cloudwatch.LogGroup,
    bucket_name: pulumi.Input[str],
    table_name: pulumi.Input[str],
    parent: pulumi.Resource,
    reserved_concurrency: int | None = None,
    competitions: Sequence[str] = (),
    environment: dict[str, pulumi.Input[str]] | None = None,
) -> aws.lambda_.Function:
    """A service's function: the shared runtime, architecture, environment and logging, its own sizing.

    `reserved_concurrency` caps (and sets aside) the function's concurrent executions; None leaves
    it on the account's unreserved pool. `environment` adds a service's own variables to the shared ones.
    """
    return aws.lambda_.Function(
        name,
        runtime=LAMBDA_RUNTIME,
        architectures=[LAMBDA_ARCHITECTURE],
        handler=package.handler,
        code=pulumi.FileArchive(str(code)),
        memory_size=memory_mb,
        timeout=timeout_seconds,
        role=role.arn,
        environment={
            "variables": {
                **lambda_environment(bucket_name, table_name, package.name, competitions),
                **(environment or {}),
            }
        },
        logging_config={"log_format": "Text", "log_group": log_group.name},
        reserved_concurrent_executions=reserved_concurrency,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role.policy]),
    )
