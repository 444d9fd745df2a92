"""The query API called as API Gateway calls it, and a version published by precompute, both against moto."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import boto3
import pytest

from entry.local.lambda_context import LambdaContext
from matchodds.core.keys import posterior_key
from matchodds.core.posterior import Posterior, encode_posterior
from services.precompute.pipeline import publish_posterior
from services.precompute.store import OddsWriter
from services.query import clients, handler
from services.query.exports import ExportReader
from services.query.repository import OddsReader
from tests.conftest import load_event

CONTEXT = LambdaContext("matchodds-query")
PUBLISHED_VERSION = "20250526T060000Z"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def invoke(
    method: str, path: str, query_string: str = "", body: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """One HTTP API (payload 2.0) request through the query Lambda's handler."""
    event = copy.deepcopy(load_event("http-odds.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = query_string
    event["queryStringParameters"] = dict(parse_qsl(query_string, keep_blank_values=True)) or None
    event["headers"] = {**event["headers"], **{name.lower(): value for name, value in (headers or {}).items()}}
    if body is not None:
        event["body"] = body
    response = handler.lambda_handler(event, CONTEXT)
    raw = response.get("body") or ""
    data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    reply_headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    if reply_headers.get("content-encoding") == "gzip":
        data = gzip.decompress(data)
    return Reply(response["statusCode"], reply_headers, data.decode("utf-8"))


def count_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """AWS calls by service and operation ("s3:GetObject"), whatever client the handler makes."""
    calls: dict[str, int] = {}
    real = clients.client

    def counting_client(*args: Any, **kwargs: Any) -> Any:
        client = real(*args, **kwargs)
        prefix = client.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            calls[f"{prefix}:{model.name}"] = calls.get(f"{prefix}:{model.name}", 0) + 1

        client.meta.events.register(f"before-call.{prefix}.*", count)
        return client

    monkeypatch.setattr(clients, "client", counting_client)
    return calls


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def served_by(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str], clock: Clock, **export_options: Any) -> OddsReader:
    """The handler's repository replaced by one on `clock`, its exports read with `export_options`."""
    exports = ExportReader(aws["bucket"], clock=clock, **export_options)
    reader = OddsReader(aws["table"], clients.dynamodb(), clock, exports=exports)
    monkeypatch.setattr(handler, "reader", cache(lambda: reader))
    return reader


@pytest.fixture
def api(aws: dict[str, str]) -> Iterator[Callable[..., Reply]]:
    handler.reader.cache_clear()
    yield invoke
    handler.reader.cache_clear()


def publish(aws: dict[str, str], posterior: Posterior) -> None:
    key = posterior_key(posterior.competition, posterior.version)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws["bucket"], Key=key, Body=encode_posterior(posterior))
    publish_posterior(aws["bucket"], key, s3, OddsWriter(aws["table"], boto3.client("dynamodb")))


def publish_four_teams(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Posterior:
    """The version most tests read: ARS, CHE, LIV and MCI, published through precompute."""
    posterior = make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version=PUBLISHED_VERSION)
    publish(aws, posterior)
    return posterior


@pytest.fixture
def published(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Posterior:
    return publish_four_teams(aws, make_posterior)
