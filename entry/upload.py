"""`matchodds upload`: results or fixtures files into the bucket, where the fit or the pricing Lambda reads them.

Every file is read and checked first (matchodds.core.uploads names the keys), and nothing is put unless
all of them are good. Without --bucket the files go to the local demo's AWS (moto, `make demo`) with its
dummy credentials; with --bucket, to that bucket through boto3's own configuration (credentials,
region, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from entry.local.provision import REGION, LocalNames
from matchodds.core.keys import ContractError
from matchodds.core.results import ResultsError, read_bytes
from matchodds.core.uploads import Upload, plan

if TYPE_CHECKING:  # the stubs are a dev dependency
    from mypy_boto3_s3 import S3Client

CONTENT_TYPE = "text/csv"


class UploadError(Exception):
    """A put that failed; the message names the object and the reason."""


class Unreachable(UploadError):
    """Nothing answered at the S3 endpoint."""


def plan_uploads(paths: Sequence[Path], competition: str | None = None, name: str | None = None) -> list[Upload]:
    """The objects the files make, every file read and checked before any is put."""
    return plan([(str(path), read_bytes(path)) for path in paths], competition, name)


def put(
    s3: S3Client, bucket: str, uploads: Sequence[Upload], announce: Callable[[Upload], None] | None = None
) -> list[str]:
    """Put each planned object in order (announcing each once it is in); the keys written."""
    keys = []
    for upload in uploads:
        try:
            s3.put_object(Bucket=bucket, Key=upload.key, Body=upload.body, ContentType=CONTENT_TYPE)
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise Unreachable(str(error)) from error
        except ClientError as error:
            reason = error.response.get("Error", {})
            raise UploadError(
                f"s3://{bucket}/{upload.key}: {reason.get('Code', 'refused')}: {reason.get('Message', '')}"
            ) from error
        except BotoCoreError as error:  # no credentials, a read timeout
            raise UploadError(f"s3://{bucket}/{upload.key}: {error}") from error
        keys.append(upload.key)
        if announce is not None:
            announce(upload)
    return keys


def upload_files(
    s3: S3Client, bucket: str, paths: Sequence[Path], competition: str | None = None, name: str | None = None
) -> list[str]:
    """Check every file, then put its objects: the keys written, named as `matchodds upload` names them."""
    return put(s3, bucket, plan_uploads(paths, competition, name))


def local_client(endpoint: str) -> S3Client:
    """An S3 client of the local demo's moto: its dummy credentials, one attempt, so a stack not running says so now."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=5, retries={"mode": "standard", "max_attempts": 1}),
    )


def run(args: argparse.Namespace) -> int:
    """`matchodds upload`: 0 all put, 1 the bucket could not take them, 2 a file refused (nothing put)."""
    try:
        uploads = plan_uploads(args.files, args.competition, args.name)
    except (ResultsError, ContractError) as error:
        print(f"matchodds upload: {error}; nothing uploaded", file=sys.stderr)
        return 2
    if args.bucket:
        bucket, s3, nothing_there = args.bucket, boto3.client("s3", endpoint_url=args.endpoint_url), None
    else:
        endpoint = args.endpoint_url or args.local_endpoint
        bucket, s3 = LocalNames().bucket, local_client(endpoint)
        nothing_there = f"no local stack at {endpoint}: start it with `make demo`, or give --bucket for AWS"

    def announce(upload: Upload) -> None:
        print(f"{upload.source} -> s3://{bucket}/{upload.key} ({upload.follows})", flush=True)

    try:
        put(s3, bucket, uploads, announce)
    except Unreachable as error:
        print(f"matchodds upload: {nothing_there or error}", file=sys.stderr)
        return 1
    except UploadError as error:
        print(f"matchodds upload: {error}", file=sys.stderr)
        return 1
    return 0
