"""The local AWS for benchmark children: moto in server mode on loopback, started as the demo starts it.

Only for child processes: it points every boto3 client of the process at moto (environment
variables), which the parent must not inherit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from entry.local.provision import LocalNames
from entry.local.stack import start_local_aws
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    names: LocalNames
    queues: dict[str, str]


@contextmanager
def moto_server_stack() -> Iterator[LocalStack]:
    """moto's server in a thread of this process, on a free loopback port, with the stack's resources."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    aws = start_local_aws(0)  # the demo's start: 0 binds any free port
    try:
        yield LocalStack(aws.url, aws.names, aws.queues)
    finally:
        aws.server.stop()


def put_posterior(bucket: str, posterior: Posterior, s3: Any | None = None) -> str:
    """Upload a posterior as the fit does; in the stack this is the S3 event that starts precompute."""
    key = posterior_key(posterior.competition, posterior.version)
    (s3 or boto3.client("s3")).put_object(Bucket=bucket, Key=key, Body=encode_posterior(posterior))
    return key
