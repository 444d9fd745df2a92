"""AWS answered inside the benchmark's process and kept nowhere: precompute's own cost, without a stand-in's.

moto keeps every item and export in the process that serves them and parses each one in Python, so
its memory and time would be counted as precompute's. Here botocore's `before-send` hook answers each
request once botocore has built and signed it, exactly as it would go on the wire, and keeps only the
pointer, the posterior to be read and counts. An operation it does not know is an error: nothing
reaches the network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

READ_CHUNK = 2**20


class _Raw(io.BytesIO):
    """A response body as botocore reads one from urllib3."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(READ_CHUNK):
            yield chunk


def _reply(request: AWSPreparedRequest, body: bytes = b"", headers: dict[str, str] | None = None) -> AWSResponse:
    return AWSResponse(request.url, 200, {"Content-Length": str(len(body)), **(headers or {})}, _Raw(body))


def _body_bytes(request: AWSPreparedRequest) -> int:
    """How many bytes a request's body holds, read through and dropped when it is a stream."""
    body = request.body
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray | str):
        return len(body)
    total = 0
    while chunk := body.read(READ_CHUNK):
        total += len(chunk)
    return total


@dataclass
class SinkAws:
    """DynamoDB and S3 for one precompute run: the posterior in, counts out."""

    objects: dict[str, bytes]  # S3 objects that may be read, by key
    pointer: dict[str, Any] | None = None  # the pointer item as DynamoDB's wire format holds it
    items_written: int = 0
    put_bytes: dict[str, int] = field(default_factory=dict)  # S3 key -> bytes sent

    def attach(self, events: Any) -> None:
        """Answer every request of the clients made from these events (register before making them)."""
        events.register("before-send", self.answer)

    def answer(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse:
        _, service, operation = event_name.split(".")[:3]
        if service == "dynamodb":
            reply = self._dynamodb(operation, json.loads(request.body or b"{}"))
            return _reply(request, json.dumps(reply).encode(), {"Content-Type": "application/x-amz-json-1.0"})
        if service == "s3" and operation == "GetObject":
            blob = self.objects[unquote(urlsplit(request.url).path).split("/", 2)[2]]
            return _reply(request, blob, {"ETag": '"posterior"', "Content-Type": "application/octet-stream"})
        if service == "s3" and operation == "PutObject":
            key = unquote(urlsplit(request.url).path).split("/", 2)[2]
            sent = request.headers.get("x-amz-decoded-content-length")
            self.put_bytes[key] = int(sent) if sent else _body_bytes(request)
            if sent:
                _body_bytes(request)
            return _reply(request, headers={"ETag": f'"{len(self.put_bytes)}"'})
        raise NotImplementedError(f"the benchmark's AWS does not answer {service} {operation}")

    def _dynamodb(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetItem":
            return {"Item": self.pointer} if self.pointer else {}
        if operation == "PutItem":  # the conditional pointer flip: the first version is always promoted
            previous, self.pointer = self.pointer, request["Item"]
            return {"Attributes": previous} if previous else {}
        if operation == "BatchWriteItem":
            self.items_written += sum(len(requests) for requests in request["RequestItems"].values())
            return {"UnprocessedItems": {}}
        raise NotImplementedError(f"the benchmark's AWS does not answer dynamodb {operation}")
