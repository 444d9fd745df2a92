"""Writes a version's whole odds table to S3 as CSV and JSON, and the `latest` copies of both.

The files are made from the very items written to DynamoDB, through the contract's table_row, so a
download holds the same numbers as `GET /odds?competition=...`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from matchodds.core.documents import (
    season_table_csv,
    season_table_document,
    table_csv,
    table_document,
    table_row,
)
from matchodds.core.items import odds_from_item
from matchodds.core.keys import LATEST_EXPORT, export_key

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PutObjectRequestTypeDef

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
LATEST_CACHE_CONTROL = "max-age=300"  # `latest` changes weekly; a version's own files never change


def export_bodies(
    competition: str, version: str, pointer: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, bytes]:
    """The CSV and JSON files of one version's odds items, by format."""
    names = {team["code"]: team["name"] for team in pointer["teams"]}
    rows = [table_row(competition, version, odds_from_item(item), names) for item in items]
    rows.sort(key=lambda row: (row["home"], row["away"]))
    document = table_document(competition, {**pointer, "version": version}, rows)
    return {
        "csv": table_csv(rows).encode("utf-8"),
        "json": json.dumps(document, separators=(",", ":")).encode("utf-8"),
    }


def season_table_bodies(
    competition: str, version: str, pointer: dict[str, Any], stored: dict[str, Any]
) -> dict[str, bytes]:
    """The CSV and JSON files of one version's season table, the same document GET /table serves."""
    document = season_table_document(competition, {**pointer, "version": version}, stored)
    return {
        "csv": season_table_csv(document).encode("utf-8"),
        "json": json.dumps(document, separators=(",", ":")).encode("utf-8"),
    }


ExportKey = Callable[[str, str, str], str]


class ExportWriter:
    """The S3 side of the exports: versioned files, then the `latest` copies."""

    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket, self.client = bucket, client

    def write(self, competition: str, version: str, bodies: dict[str, bytes], key: ExportKey = export_key) -> list[str]:
        """Put each format under the version's own key (`key` names it: odds or season table); returns the keys."""
        return [self._put(key(competition, version, fmt), fmt, body) for fmt, body in bodies.items()]

    def write_latest(self, competition: str, bodies: dict[str, bytes], key: ExportKey = export_key) -> list[str]:
        """Replace the competition's `latest` files; returns the keys."""
        return [
            self._put(key(competition, LATEST_EXPORT, fmt), fmt, body, cache_control=LATEST_CACHE_CONTROL)
            for fmt, body in bodies.items()
        ]

    def _put(self, key: str, export_format: str, body: bytes, cache_control: str | None = None) -> str:
        request: PutObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": CONTENT_TYPES[export_format],
        }
        if cache_control:
            request["CacheControl"] = cache_control
        self.client.put_object(**request)
        return key
