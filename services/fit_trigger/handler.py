"""Fit trigger Lambda: results uploads (S3 notifications through SQS, a minute's worth per batch) start fits.

A message whose competition's fit could not be started is reported back as a batch item failure, so
SQS delivers it again and, after the contract's receives, parks it in the dead-letter queue.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from adapters.fit_ledger import FitLedger
from matchodds.core.refits import FIT_LEDGER_VARIABLE
from matchodds.core.settings import log_our_records
from services.fit_trigger.launcher import EcsLauncher, Launcher
from services.fit_trigger.pipeline import Ledger, start_fits

logger = Logger(service="fit-trigger")
log_our_records()


@cache
def _dependencies() -> tuple[FitLedger, EcsLauncher]:
    table = os.environ.get(FIT_LEDGER_VARIABLE)
    if not table:
        raise RuntimeError(f"missing environment variable(s): {FIT_LEDGER_VARIABLE}")
    return FitLedger(table, boto3.client("dynamodb")), EcsLauncher.from_env(os.environ, boto3.client("ecs"))


def handle(
    event: dict[str, Any], ledger: Ledger, launcher: Launcher, serves: Callable[[str], bool]
) -> dict[str, list[dict[str, str]]]:
    """The Lambda's work with its dependencies handed in (the local stack hands in its own launcher)."""
    failed = start_fits(event.get("Records", []), ledger, launcher, serves)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    ledger, launcher = _dependencies()
    return handle(event, ledger, launcher, launcher.serves)
