"""The query's AWS clients, made from botocore alone.

boto3 is a layer over botocore that the query does not use (no resources, no S3 transfers), and its import (s3transfer
through boto3.compat, the resource factory and its docs) was a part of every cold start. The clients are those boto3
would make: region, endpoint (AWS_ENDPOINT_URL, as the local stack sets it) and credentials from the environment.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@cache
def session() -> botocore.session.Session:
    """One botocore session per process, as boto3's default session is: clients copy its event hooks when made."""
    return botocore.session.get_session()


def dynamodb() -> DynamoDBClient:
    """A DynamoDB client."""
    return cast("DynamoDBClient", client("dynamodb"))


def s3() -> S3Client:
    """An S3 client signing with Signature Version 4, which presigned URLs need in every region."""
    return cast("S3Client", client("s3", Config(signature_version="s3v4")))


def client(service: str, config: Config | None = None) -> Any:
    """A client of `service` on the process's session."""
    return session().create_client(service, config=config)
