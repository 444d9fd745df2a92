"""Writes a version's whole odds table to S3 as CSV and JSON, and the `latest` copies of both.

The files are made from the very items written to DynamoDB, through the contract's table_row, so a
download holds the same numbers as `GET /odds?competition=...`. They are made a row at a time while
the items are written (ExportTable), each row kept only as its CSV line and JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from matchodds.core.documents import (
    TABLE_CSV_HEADER,
    season_table_csv,
    season_table_document,
    table_csv_line,
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
JSON_SEPARATORS = (",", ":")
FIXTURES_END = b"[]}"  # how the table document with no rows ends: its fixtures are its last member


class ExportTable:
    """One version's CSV and JSON files, a row added with each item written; `bodies` once every item is in.

    An item is about 28 KiB of Python objects and its row's text about 3 KiB, so rows are kept as
    text (CSV line, JSON) by pairing, and the files are put together, sorted by (home, away), at the end.
    """

    def __init__(self, competition: str, version: str, pointer: dict[str, Any]) -> None:
        self.competition, self.version = competition, version
        self.names = {team["code"]: team["name"] for team in pointer["teams"]}
        empty = table_document(competition, {**pointer, "version": version}, [])
        self.json_head = json.dumps(empty, separators=JSON_SEPARATORS).encode("utf-8")
        if not self.json_head.endswith(FIXTURES_END):
            raise RuntimeError("the table document's fixtures are no longer its last member; ExportTable needs them so")
        self.rows: dict[tuple[str, str], tuple[bytes, bytes]] = {}

    def add(self, item: dict[str, Any]) -> dict[str, Any]:
        """Keep the row of one written item; returns the item, so that it can sit in the writer's stream."""
        row = table_row(self.competition, self.version, odds_from_item(item), self.names)
        text = json.dumps(row, separators=JSON_SEPARATORS).encode("utf-8")
        self.rows[(row["home"], row["away"])] = (table_csv_line(row).encode("utf-8"), text)
        return item

    def bodies(self) -> dict[str, bytes]:
        """The CSV and JSON files, by format: the same bytes as the whole table serialised at once."""
        ordered = [self.rows[pair] for pair in sorted(self.rows)]
        csv_body = b"".join([TABLE_CSV_HEADER.encode("utf-8"), *(line for line, _ in ordered)])
        fixtures = b",".join(text for _, text in ordered)
        return {"csv": csv_body, "json": b"".join([self.json_head[: -len(FIXTURES_END)], b"[", fixtures, b"]}"])}


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
