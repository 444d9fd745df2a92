"""The environment the services read at start-up, in one place for every function and task.

The names are the ones `matchodds.contract.Settings.from_env` and `services.fit.main` read; the
contract exports no constants for them, so the infra tests check these against `Settings` itself.
"""

from __future__ import annotations

import pulumi

BUCKET_VARIABLE = "MATCHODDS_BUCKET"
TABLE_VARIABLE = "MATCHODDS_TABLE"
COMPETITION_VARIABLE = "MATCHODDS_COMPETITION"
SERVICE_NAME_VARIABLE = "POWERTOOLS_SERVICE_NAME"


def lambda_environment(
    bucket_name: pulumi.Input[str], table_name: pulumi.Input[str], service: str
) -> dict[str, pulumi.Input[str]]:
    return {BUCKET_VARIABLE: bucket_name, TABLE_VARIABLE: table_name, SERVICE_NAME_VARIABLE: service}


def fit_environment(bucket_name: pulumi.Input[str], competition: str) -> list[dict[str, pulumi.Input[str]]]:
    """The fit container's environment, in the task definition's name/value form."""
    return [
        {"name": BUCKET_VARIABLE, "value": bucket_name},
        {"name": COMPETITION_VARIABLE, "value": competition},
    ]
