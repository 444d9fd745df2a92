"""The whole odds table of a version as precompute exported it (exports/<competition>/<version>.json and .csv),
for `GET /odds`: one S3 GetObject per version and format per warm Lambda, then served from memory.

An export is the same document `GET /odds` built from the items (services.precompute.exports makes it from
the very items it writes, through the same table_row), and a version's export never changes, so it is cached
by version: one version per competition (a new version replaces the old one's files). A file too large for
Lambda's synchronous reply is not read at all: the route answers with a redirect to a presigned URL of it. A
version without its file (written before exports existed, a failed export, or the seconds between the
pointer's flip and the export) is None, and the route reads the items as before; absence is remembered only
for MISSING_RETRY_SECONDS, so an export that arrives late is found.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from matchodds.core.keys import export_key
from services.query import clients

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
# Lambda's synchronous reply is at most 6 MB (6,291,456 bytes), measured on the reply as the runtime encodes it:
# the body is one JSON string in it, so every quote, backslash and newline of the file takes two bytes there and
# any non-ASCII character six. An export is answered inline when its body so encoded is at most INLINE_REPLY_BYTES,
# which leaves over 1 MB for the status and headers; a larger one is a redirect. A 24-team league's files (about
# 0.8 MB each) are inline; at 96 teams (13 MB each) they are redirects; the line falls near 40 teams for JSON.
INLINE_REPLY_BYTES = 5_000_000
PRESIGNED_URL_SECONDS = 300  # the redirect is followed at once; a URL that leaks stops working soon
MISSING_RETRY_SECONDS = 30.0
# Without s3:ListBucket (the query has none: least privilege), S3 answers a missing key with 403, not 404.
MISSING_CODES = {"NoSuchKey", "404", "AccessDenied", "403"}


@dataclass(frozen=True)
class Export:
    """One export file of a version: its key and size, and its text when it is small enough to answer inline."""

    key: str
    size: int
    text: str | None


class ExportReader:
    """The exports of the versions the query serves, read once per version and kept in memory."""

    def __init__(
        self,
        bucket: str,
        client: S3Client | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        inline_reply_bytes: int = INLINE_REPLY_BYTES,
    ) -> None:
        self.bucket, self._client, self.clock = bucket, client, clock
        self.inline_reply_bytes = inline_reply_bytes
        # competition -> (version, {format: Export, or the clock time until which it is taken as missing})
        self._cached: dict[str, tuple[str, dict[str, Export | float]]] = {}

    @property
    def cached_versions(self) -> dict[str, str]:
        """The version whose exports are kept, by competition: one each."""
        return {competition: version for competition, (version, _) in self._cached.items()}

    @property
    def client(self) -> S3Client:
        """The S3 client, made on first use: only GET /odds needs it, and making it loads S3's service model."""
        if self._client is None:
            self._client = clients.s3()
        return self._client

    def table(self, competition: str, version: str, export_format: str) -> Export | None:
        """The export of `version` in `export_format` (csv or json); None when it is missing."""
        cached_version, files = self._cached.get(competition, ("", {}))
        if cached_version != version:
            files = {}
            self._cached[competition] = (version, files)
        known = files.get(export_format)
        if isinstance(known, Export):
            return known
        if known is not None and known > self.clock():
            return None
        export = self._read(export_key(competition, version, export_format))
        files[export_format] = export if export is not None else self.clock() + MISSING_RETRY_SECONDS
        return export

    def _read(self, key: str) -> Export | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] not in MISSING_CODES:
                raise
            code = error.response["Error"]["Code"]
            logger.info("no export s3://%s/%s (%s): the items answer", self.bucket, key, code)
            return None
        body, size = response["Body"], response["ContentLength"]
        if size > self.inline_reply_bytes:  # at least as large once encoded: not read
            body.close()
            return Export(key, size, None)
        text = body.read().decode("utf-8")
        inline = len(json.dumps(text)) <= self.inline_reply_bytes
        return Export(key, size, text if inline else None)

    def url(self, export: Export, filename: str | None = None) -> str:
        """A presigned GET of the export, valid PRESIGNED_URL_SECONDS; `filename` makes browsers save it so."""
        params = {"Bucket": self.bucket, "Key": export.key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGNED_URL_SECONDS)
