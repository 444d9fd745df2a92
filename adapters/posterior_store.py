"""The one client of the posterior store (posteriors/ in the bucket): checked reads, write-once publishing, warm starts.

The fit writes each posterior once under its version's key and never overwrites one (If-None-Match: *);
precompute reads the object an event announced, and only that object (If-Match on its ETag, its
VersionId compared, its size checked before a byte of the body is read); the next fit starts warm from
the posterior whose odds are served. The format of the bytes is matchodds.core.posterior's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from adapters.odds_table import OddsTable
from matchodds.core.items import pointer_key
from matchodds.core.keys import ContractError, parse_posterior_key, posterior_key, posterior_prefix
from matchodds.core.posterior import MAX_POSTERIOR_BYTES, Posterior, encode_posterior

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef

logger = logging.getLogger("matchodds.fit")  # the warm start's choice is the fit's to log


class PosteriorChanged(RuntimeError):
    """The object under a version's key is not the one its event announced, or not the one it was published from."""


@dataclass(frozen=True)
class PosteriorObject:
    """One object in S3: where it is and, when known, which bytes (ETag unquoted; VersionId on a versioned bucket)."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def source(self) -> dict[str, str]:
        """What the pointer records of it."""
        fields = {"bucket": self.bucket, "key": self.key, "etag": self.etag, "version_id": self.version_id}
        return {name: value for name, value in fields.items() if value is not None}


def read_posterior(s3: S3Client, announced: PosteriorObject) -> tuple[bytes, PosteriorObject]:
    """The bytes of the announced object and which object they are (its ETag and VersionId as S3 reports them).

    The read is conditional on the event's ETag, and the VersionId read must be the event's, so what is
    computed is the object the event describes; an object overwritten since is refused (PosteriorChanged),
    as is one too large to be a posterior, before its body is read. (The read names no VersionId: that
    would need s3:GetObjectVersion, and comparing the one S3 reports proves the same.)
    """
    request: GetObjectRequestTypeDef = {"Bucket": announced.bucket, "Key": announced.key}
    if announced.etag:
        request["IfMatch"] = f'"{announced.etag}"'
    try:
        response = s3.get_object(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] not in {"PreconditionFailed", "412"}:
            raise
        raise PosteriorChanged(
            f"{announced} is no longer the object its event announced (ETag {announced.etag}): it was overwritten"
        ) from error
    body = response["Body"]
    read = PosteriorObject(
        announced.bucket, announced.key, response["ETag"].strip('"'), response.get("VersionId") or None
    )
    if announced.version_id and read.version_id != announced.version_id:
        body.close()
        raise PosteriorChanged(
            f"{announced} is now object version {read.version_id}, not {announced.version_id} that its event "
            f"announced: it was overwritten"
        )
    if response["ContentLength"] > MAX_POSTERIOR_BYTES:
        body.close()
        raise ContractError(
            f"{announced} is {response['ContentLength']:,} bytes, more than a posterior's {MAX_POSTERIOR_BYTES:,}"
        )
    return body.read(), read


def read_bytes(s3: S3Client, bucket: str, key: str) -> bytes:
    """The bytes of a posterior object, as stored (the warm start reads the one warm_start_key names)."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def publish(posterior: Posterior, bucket: str, s3: S3Client) -> str:
    """Write the posterior as a new object; an existing key is never overwritten."""
    key = posterior_key(posterior.competition, posterior.version)
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=encode_posterior(posterior),
            IfNoneMatch="*",
            ContentType="application/octet-stream",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in {"PreconditionFailed", "ConditionalRequestConflict"}:
            raise RuntimeError(f"s3://{bucket}/{key} exists already; posteriors are never overwritten") from error
        raise
    return f"s3://{bucket}/{key}"


def newest_posterior_key(s3: S3Client, bucket: str, competition: str) -> str | None:
    """The key of the competition's newest posterior in the bucket (versions sort by time), if any.

    Only keys the contract reads as a posterior of the competition count: any other object under the prefix
    (a junk name whose "digits" are Arabic-Indic sorts above every version) is never a warm start."""
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=posterior_prefix(competition))
        for item in page.get("Contents", [])
        if (parsed := parse_posterior_key(item["Key"])) is not None and parsed[0] == competition
    ]
    return max(keys, default=None)


def served_posterior_key(odds: OddsTable, competition: str) -> str | None:
    """The key of the posterior whose odds are served: the version the competition's pointer names, or None
    before any was promoted. ClientError and ContractError (a pointer naming no version) go to the caller."""
    item = odds.get(pointer_key(competition), consistent=True)
    if item is None:
        return None
    version = item.get("version")
    if not isinstance(version, str):
        raise ContractError(f"the pointer of {competition} in {odds.name} names no version")
    return posterior_key(competition, version)


def warm_start_key(s3: S3Client, bucket: str, competition: str, odds: OddsTable | None) -> str | None:
    """The posterior a fit starts warm from: the served one (the pointer's version) when the odds table is
    known, else (no table, no pointer yet, a table it cannot read) the newest posterior in the bucket."""
    if odds is not None:
        try:
            served = served_posterior_key(odds, competition)
        except (ClientError, ContractError) as error:
            logger.warning(
                "the served version of %s is not readable, taking the newest posterior: %s", competition, error
            )
        else:
            if served is not None:
                return served
            logger.info("no served version of %s yet: taking the newest posterior", competition)
    return newest_posterior_key(s3, bucket, competition)
