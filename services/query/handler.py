"""Query Lambda: the HTTP API's entry point. Light on purpose (no numpy): it reads DynamoDB, and the exports in S3."""

from __future__ import annotations

from functools import cache
from typing import Any

from matchodds.core.settings import Settings
from services.query import clients
from services.query.app import app, logger
from services.query.exports import ExportReader
from services.query.repository import OddsReader


@cache
def reader() -> OddsReader:
    """One repository per warm Lambda, made on first use so that settings and test doubles come first."""
    settings = Settings.from_env(need=("table", "bucket"))
    exports = ExportReader(settings.bucket)  # its S3 client is made by the first request that reads an export
    return OddsReader(settings.table, clients.dynamodb(), competitions=settings.competitions, exports=exports)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    app.append_context(reader=reader())
    return app.resolve(event, context)
