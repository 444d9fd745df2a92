"""Lambda's SQS event-source mapping, locally: a poller thread per queue that hands its messages to a handler.

As in AWS: batches gathered for a window, partial batch failures left in the queue for SQS to
deliver again, and finally to park in the dead-letter queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3

from entry.local.lambda_context import LambdaContext
from entry.local.provision import REGION

if TYPE_CHECKING:  # the stubs are a dev dependency
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger(__name__)


class EventSourceMapping:
    """Delivers SQS messages to a Lambda handler as Lambda's event-source mapping does: batches of up to
    `batch_size`, gathered for up to `batching_window` seconds after the first message, partial batch
    failures left in the queue for SQS to deliver again (and finally to park in the dead-letter queue)."""

    def __init__(
        self,
        queue_url: str,
        queue_arn: str,
        handler: Callable[[dict[str, Any], Any], Mapping[str, Any]],
        function_name: str = "matchodds-precompute",
        batch_size: int = 1,
        batching_window: float = 0.0,
    ) -> None:
        self.queue_url, self.queue_arn, self.handler = queue_url, queue_arn, handler
        self.function_name, self.batch_size, self.batching_window = function_name, batch_size, batching_window
        self.sqs = boto3.client("sqs")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _receive(self, most: int, wait_seconds: int) -> list[MessageTypeDef]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, most)),  # SQS hands out ten at most per call
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def poll_once(self, wait_seconds: int = 1) -> int:
        """Gather one batch, invoke the handler, delete what did not fail; returns the messages seen."""
        messages = self._receive(self.batch_size, wait_seconds)
        if not messages:
            return 0
        window_ends = time.monotonic() + self.batching_window
        while len(messages) < self.batch_size and not self._stop.is_set():
            left = window_ends - time.monotonic()
            if left <= 0:
                break
            messages += self._receive(self.batch_size - len(messages), min(1, max(0, int(left))))
            if left < 1:
                time.sleep(max(0.0, window_ends - time.monotonic()))
        # A message received again within the window (its visibility ran out) is one record, as in Lambda.
        messages = list({message["MessageId"]: message for message in messages}.values())
        event = {"Records": [self._record(message) for message in messages]}
        response = self.handler(event, LambdaContext(self.function_name))
        failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] in failed:
                logger.warning("%s failed on message %s; SQS will retry it", self.function_name, message["MessageId"])
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _record(self, message: MessageTypeDef) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception:  # the poller must outlive one bad delivery, as Lambda does
                    logger.exception("%s poller error", self.function_name)
                    time.sleep(1)

        self._thread = threading.Thread(target=loop, name=f"{self.function_name}-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
