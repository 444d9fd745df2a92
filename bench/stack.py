"""The local AWS for benchmark children: moto in server mode on loopback, provisioned as the demo does.

Only for child processes: it points every boto3 client of the process at moto (environment
variables), which the parent must not inherit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from matchodds import local
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    names: local.LocalNames
    queues: dict[str, str]


@contextmanager
def moto_server_stack() -> Iterator[LocalStack]:
    """moto's server in a thread of this process, on a free loopback port, with the stack's resources."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    port = local.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        local.use_local_aws(endpoint)
        names = local.LocalNames()
        os.environ["MATCHODDS_BUCKET"], os.environ["MATCHODDS_TABLE"] = names.bucket, names.table
        yield LocalStack(endpoint, names, local.provision(names))
    finally:
        server.stop()


def put_posterior(bucket: str, posterior: Posterior, s3: Any | None = None) -> str:
    """Upload a posterior as the fit does; in the stack this is the S3 event that starts precompute."""
    key = posterior_key(posterior.competition, posterior.version)
    (s3 or boto3.client("s3")).put_object(Bucket=bucket, Key=key, Body=encode_posterior(posterior))
    return key
