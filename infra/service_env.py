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
from matchodds.core.refits import FIT_LEDGER_VARIABLE
from matchodds.core.settings import COMPETITIONS_VARIABLE

BUCKET_VARIABLE = "MATCHODDS_BUCKET"
TABLE_VARIABLE = "MATCHODDS_TABLE"
COMPETITION_VARIABLE = "MATCHODDS_COMPETITION"
SERVICE_NAME_VARIABLE = "POWERTOOLS_SERVICE_NAME"


def lambda_environment(
    bucket_name: pulumi.Input[str] | None,
    table_name: pulumi.Input[str] | None,
    service: str,
    competitions: Sequence[str] = (),
) -> dict[str, pulumi.Input[str]]:
    """A function's variables: the bucket and the odds table for a function that reads them (None: one that
    does not), and `competitions`, the ones the query serves, only for a function that reads them."""
    variables: dict[str, pulumi.Input[str]] = {SERVICE_NAME_VARIABLE: service}
    if bucket_name is not None:
        variables[BUCKET_VARIABLE] = bucket_name
    if table_name is not None:
        variables[TABLE_VARIABLE] = table_name
    if competitions:
        variables[COMPETITIONS_VARIABLE] = ",".join(competitions)
    return variables


def fit_environment(
    bucket_name: pulumi.Input[str],
    competition: str,
    ledger_table_name: pulumi.Input[str],
    table_name: pulumi.Input[str] | None = None,
) -> list[dict[str, pulumi.Input[str]]]:
    """The fit container's environment, in the task definition's name/value form.

    The ledger is named on every task; a task the trigger started also carries its lease's holder (a
    container override at RunTask), and only such a task touches the ledger. The odds table, when given,
    is where the fit reads its competition's pointer: the served version it starts warm from."""
    variables: list[dict[str, pulumi.Input[str]]] = [
        {"name": BUCKET_VARIABLE, "value": bucket_name},
        {"name": COMPETITION_VARIABLE, "value": competition},
        {"name": FIT_LEDGER_VARIABLE, "value": ledger_table_name},
    ]
    if table_name is not None:
        variables.append({"name": TABLE_VARIABLE, "value": table_name})
    return variables


def lambda_function(
    name: str,
    package: LambdaPackage,
    code: Path,
    memory_mb: int,
    timeout_seconds: int,
    role: Any,
    log_group: aws.cloudwatch.LogGroup,
    bucket_name: pulumi.Input[str] | None,
    table_name: pulumi.Input[str] | None,
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
