"""The embedded local stack: moto in server mode on loopback as AWS, the Lambdas called in-process.

Everything flows as it does in AWS: results go to S3, the fit writes a posterior to S3, S3 notifies
SQS, a poller hands the SQS messages to the precompute handler as a Lambda event-source mapping
would (batch size 1, partial batch failures, redrive to a dead-letter queue), and an HTTP server on
127.0.0.1 turns real HTTP requests into API Gateway HTTP API (v2) events for the query handler.
"""

from __future__ import annotations

import base64
import collections
import io
import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from matchodds.core.items import EXPIRES_ATTRIBUTE, PARTITION_KEY, PRECOMPUTE_MAX_RECEIVES, SORT_KEY, pointer_key
from matchodds.core.keys import (
    CSV_SUFFIX,
    FIXTURES_PREFIX,
    POSTERIOR_PREFIX,
    POSTERIOR_SUFFIX,
    PRICING_MAX_RECEIVES,
    RESULTS_PREFIX,
    competition_name,
)
from matchodds.core.refits import FIT_TRIGGER_MAX_RECEIVES, LEDGER_KEY
from matchodds.core.settings import COMPETITIONS_VARIABLE
from services.fit_trigger.ledger import FitLedger

if TYPE_CHECKING:  # the stubs are a dev dependency
    from mypy_boto3_s3.type_defs import FilterRuleTypeDef, QueueConfigurationTypeDef
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger(__name__)
REGION = "us-east-1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway refuses a larger request payload itself
# The HTTP bridge's listen backlog. socketserver's default, 5, is fewer than the clients a load test or a
# page opens at once: while the accept loop waits its turn for the GIL, the kernel drops the SYNs beyond
# it and each client waits 1 s, then 3 s, to retry. Linux caps it at net.core.somaxconn (4096 here).
LISTEN_BACKLOG = 1024
# A request's header section, bounded as any front server bounds it (nginx's default is 32 KiB in 8 KiB lines;
# http.server alone took 100 lines of 64 KiB each, 6.4 MB held per connection). No client of the API needs a
# tenth of it; API Gateway itself takes 10,240 bytes of request line and header values, but browsers send a
# loopback page every cookie any local app set on 127.0.0.1, which can pass that.
# Lines counted as http.client counts them (it refuses a 101st), the blank line ending the section included.
MAX_HEADER_LINES = 100
MAX_HEADER_BYTES = 64 * 1024
# A connection that sends nothing for this long (before its request line, between keep-alive requests, or
# within a request) is closed: otherwise each one idle holds a server thread for good. Keep-alive clients
# that send one request after another (bench.load, a browser) never wait that long.
IDLE_TIMEOUT_SECONDS = 30.0
# How many query handler invocations the bridge runs at once: one, as one Lambda instance does; later
# requests wait their turn, in arrival order (in AWS each would have its own instance). A handler may keep
# per-invocation state in its module, as powertools' resolver keeps `app.current_event`: two invocations in
# threads of one process answered each other's requests (a 50-fixture POST got another client's fixtures).
QUERY_CONCURRENCY = 1
# Longer than the demo's batching window plus the trigger's work (a few DynamoDB calls).
FIT_TRIGGER_VISIBILITY_SECONDS = 60
SAMPLE_SEASON = Path(__file__).with_name("data") / "sample" / "E0-2024-25.csv"
# The served model fits the newest season with three before it, time-decayed: the demo ships all four.
SAMPLE_RESULTS = sorted(SAMPLE_SEASON.parent.glob("E0-*.csv"))
# Every season the project ships (data/football-data, credited there), for the demo's other leagues.
SHIPPED_SEASONS = Path(__file__).parents[1] / "data" / "football-data"
DEMO_SEASONS = 4


def shipped_results(competition: str, seasons: int = DEMO_SEASONS) -> list[Path]:
    """The newest `seasons` shipped season files of a competition (E0's from the demo's sample)."""
    if competition == "E0":
        return SAMPLE_RESULTS[-seasons:]
    files = sorted((SHIPPED_SEASONS / competition).glob("*.csv"))
    if not files:
        shipped = sorted(path.name for path in SHIPPED_SEASONS.iterdir() if path.is_dir())
        raise ValueError(f"no shipped seasons of {competition} under {SHIPPED_SEASONS} (shipped: {', '.join(shipped)})")
    return files[-seasons:]


def sample_round(competition: str) -> Path | None:
    """A shipped league's opening round with football-data's prices (README.md beside it), if the demo has one.

    The demo uploads it once the league is published, so GET /fixtures and the page show a round.
    """
    rounds = sorted(SAMPLE_SEASON.parent.glob(f"fixtures-{competition}-*.csv"))
    return rounds[-1] if rounds else None


def watch_versions(
    table: str,
    competitions: Callable[[], Sequence[str]],
    on_version: Callable[[str, str, list[str]], None],
    stop: threading.Event,
) -> threading.Thread:
    """Call `on_version(competition, version, team codes)` whenever a served competition's pointer names a new version.

    The codes are the new version's, from the very pointer item that names it: the query API's /teams answers
    through a pointer cache, and told the demo 20 teams of a version that had 21.
    """
    dynamodb = boto3.client("dynamodb")
    deserialize = TypeDeserializer().deserialize

    def watch() -> None:
        seen: dict[str, str] = {}
        while not stop.wait(1):
            for competition in competitions():
                key = {name: {"S": value} for name, value in pointer_key(competition).items()}
                try:
                    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
                except Exception:  # moto stopping under us at shutdown
                    return
                if item and seen.get(competition) != (version := item["version"]["S"]):
                    seen[competition] = version
                    teams = deserialize(item["teams"]) if "teams" in item else []
                    on_version(competition, version, [str(team["code"]) for team in teams])

    thread = threading.Thread(target=watch, name="version-watch", daemon=True)
    thread.start()
    return thread


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalNames:
    bucket: str = "matchodds-local"
    table: str = "matchodds-odds"
    queue: str = "matchodds-precompute"
    dead_letter_queue: str = "matchodds-precompute-dlq"
    pricing_queue: str = "matchodds-pricing"
    pricing_dead_letter_queue: str = "matchodds-pricing-dlq"
    fit_trigger_queue: str = "matchodds-fit-trigger"
    fit_trigger_dead_letter_queue: str = "matchodds-fit-trigger-dlq"
    fit_ledger: str = "matchodds-fit-ledger"


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def use_local_aws(endpoint: str) -> None:
    """Point every boto3 client in this process at the local endpoint, with dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = REGION


def provision(names: LocalNames, visibility_timeout: int = 2) -> dict[str, str]:
    """Create bucket, odds table, fit ledger, the precompute, pricing and fit-trigger queues with their dead-letter
    queues, and the S3 -> SQS notifications (posteriors/ to precompute, fixtures/ to pricing, results/ to the
    fit trigger)."""
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    s3.create_bucket(Bucket=names.bucket)
    dynamodb.create_table(
        TableName=names.table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=names.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_ATTRIBUTE}
    )
    queue_url, queue_arn, dlq_url = _queue_with_dead_letters(
        names.queue, names.dead_letter_queue, PRECOMPUTE_MAX_RECEIVES, visibility_timeout
    )
    pricing_url, pricing_arn, pricing_dlq_url = _queue_with_dead_letters(
        names.pricing_queue, names.pricing_dead_letter_queue, PRICING_MAX_RECEIVES, visibility_timeout
    )
    dynamodb.create_table(
        TableName=names.fit_ledger,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": LEDGER_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": LEDGER_KEY, "KeyType": "HASH"}],
    )
    # Held through the batching window, as AWS requires of a queue that feeds a batching Lambda.
    trigger_url, trigger_arn, trigger_dlq_url = _queue_with_dead_letters(
        names.fit_trigger_queue,
        names.fit_trigger_dead_letter_queue,
        FIT_TRIGGER_MAX_RECEIVES,
        max(visibility_timeout, FIT_TRIGGER_VISIBILITY_SECONDS),
    )
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                _created_under(queue_arn, POSTERIOR_PREFIX, POSTERIOR_SUFFIX),
                # The key rule's suffix, as infra's filters have it: a .CSV key is announced to no one.
                _created_under(pricing_arn, FIXTURES_PREFIX, CSV_SUFFIX),
                _created_under(trigger_arn, RESULTS_PREFIX, CSV_SUFFIX),
            ]
        },
    )
    return {
        "queue_url": queue_url,
        "queue_arn": queue_arn,
        "dlq_url": dlq_url,
        "pricing_queue_url": pricing_url,
        "pricing_queue_arn": pricing_arn,
        "pricing_dlq_url": pricing_dlq_url,
        "fit_trigger_queue_url": trigger_url,
        "fit_trigger_queue_arn": trigger_arn,
        "fit_trigger_dlq_url": trigger_dlq_url,
        "fit_ledger": names.fit_ledger,
    }


def _queue_with_dead_letters(
    name: str, dead_letter_name: str, max_receives: int, visibility_timeout: int
) -> tuple[str, str, str]:
    """(url, arn, dead-letter url) of a queue that moves a message to its dead-letter queue after max_receives."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=dead_letter_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue_url, queue_arn, dlq_url


def _created_under(queue_arn: str, prefix: str, suffix: str | None = None) -> QueueConfigurationTypeDef:
    """An S3 -> SQS notification of objects created under a prefix (and with a suffix)."""
    rules: list[FilterRuleTypeDef] = [{"Name": "prefix", "Value": prefix}]
    if suffix is not None:
        rules.append({"Name": "suffix", "Value": suffix})
    return {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": rules}}}


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


# How LocalFitTasks runs a fit: the container's command (tests put a stand-in here).
FIT_COMMAND = (sys.executable, "-m", "services.fit")


class LocalFitTasks:
    """What ECS RunTask is in AWS: each launched fit runs as its own `python -m services.fit` process, as
    the container would, one at a time (two cores cannot fit two leagues faster at once), in launch order.
    When one ends its lease is given back if it still holds it, as the fit trigger does on a task's stop."""

    def __init__(
        self, bucket: str, ledger: str, fit_args: Sequence[str] = (), command: Sequence[str] = FIT_COMMAND
    ) -> None:
        self.bucket, self.ledger, self.fit_args, self.command = bucket, ledger, list(fit_args), list(command)
        # Made here, not in the worker: boto3's default session may not make clients from two threads at once.
        self._leases = FitLedger(ledger, boto3.client("dynamodb"))
        self._launched: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._exits: dict[str, list[int]] = {}
        self._launches: dict[str, int] = {}
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="fit-tasks", daemon=True)
        self._thread.start()

    def launch(self, competition: str, holder: str) -> str:
        """Queue the competition's fit, holding `holder`'s lease; returns the run's name."""
        with self._changed:
            if self._closed:
                raise RuntimeError("the local stack is stopping: no more fits")
            self._launches[competition] = self._launches.get(competition, 0) + 1
            self._launched.put((competition, holder))
            self._changed.notify_all()
        return f"local fit of {competition}, lease {holder[:8]}"

    def _work(self) -> None:
        while (launched := self._launched.get()) is not None:
            competition, holder = launched
            command = [*self.command, "--bucket", self.bucket, "--competition", competition]
            command += ["--ledger", self.ledger, "--holder", holder, *self.fit_args]
            with self._changed:
                if self._closed:
                    return
                logger.info("fit of %s started", competition)
                # Its log goes to ours, as a task's goes to CloudWatch. Its own session: Ctrl-C at the terminal
                # reaches the demo, which stops the fit (close), not the fit with a traceback of its own.
                self._process = subprocess.Popen(command, start_new_session=True)
            status = self._process.wait()
            stopped = status != 0 and self.closing()  # terminated by close(): the stack is stopping
            level = logging.INFO if status == 0 or stopped else logging.ERROR
            logger.log(level, "fit of %s %s (exit %d)", competition, "stopped" if stopped else "ended", status)
            if not stopped:  # the stack's AWS goes away with it: no lease to keep
                self._give_back(competition, holder)
            with self._changed:
                self._process = None
                self._exits.setdefault(competition, []).append(status)
                self._changed.notify_all()

    def _give_back(self, competition: str, holder: str) -> None:
        """As a stopped task's ECS event does in AWS: an ended fit holds no lease, whatever its exit.

        A fit killed (SIGKILL: exit -9 here, 137 in a container) or crashed would otherwise block the
        competition's upload-started fits for FIT_LEASE_SECONDS; one that ended well gave it back already.
        Conditional on the holder, so a newer fit's lease is never dropped. Before the exit is recorded, so
        whoever waits on it sees the lease free."""
        try:
            self._leases.release(competition, holder)
        except (ClientError, BotoCoreError) as error:  # the lease lapses on its own; the worker goes on
            logger.warning("fit of %s ended; its lease %s could not be given back: %s", competition, holder[:8], error)

    def closing(self) -> bool:
        with self._changed:
            return self._closed

    def wait_launched(self, competition: str, launches: int = 1) -> None:
        """Block until the competition's fit has been launched `launches` times (by the fit trigger)."""
        with self._changed:
            while self._launches.get(competition, 0) < launches:
                if self._closed:
                    raise RuntimeError("the local stack stopped")
                self._changed.wait(1)

    def wait(self, competition: str, runs: int = 1) -> int:
        """Block until the competition's `runs`-th fit process has ended; returns its exit status."""
        with self._changed:
            while len(self._exits.get(competition, [])) < runs:
                if self._closed:
                    raise RuntimeError("the local stack stopped")
                self._changed.wait(1)
            return self._exits[competition][runs - 1]

    def close(self) -> None:
        """Stop the running fit (its lease lapses, as a stopped task's does) and start no other."""
        with self._changed:
            self._closed = True
            process = self._process
            self._changed.notify_all()
        self._launched.put(None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class LocalDeployment:
    """The competitions the local stack serves. In AWS a competition is added by listing it in the stack's
    `competitions` config and deploying; locally, results for any division are that step: the stack
    starts serving the competition and "redeploys" (`redeploy`, e.g. clearing the query's cached settings)."""

    def __init__(self, competitions: Sequence[str], redeploy: Callable[[], None] = lambda: None) -> None:
        self.competitions = list(dict.fromkeys(competitions))
        self.redeploy = redeploy
        self._lock = threading.Lock()
        os.environ[COMPETITIONS_VARIABLE] = ",".join(self.competitions)

    def serves(self, competition: str) -> bool:
        with self._lock:
            if competition not in self.competitions:
                logger.info(
                    "results for %s (%s), which this stack did not serve: serving it from now on "
                    "(a deployment in AWS lists it in its `competitions` config)",
                    competition,
                    competition_name(competition),
                )
                self.competitions.append(competition)
                os.environ[COMPETITIONS_VARIABLE] = ",".join(self.competitions)
                self.redeploy()
        return True


def wait_for_version(table: str, competition: str, timeout: float = 120.0, newer_than: str | None = None) -> str:
    """Block until the competition's pointer names a version (newer than `newer_than`); returns it."""
    dynamodb = boto3.client("dynamodb")
    key = {name: {"S": value} for name, value in pointer_key(competition).items()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = dynamodb.get_item(TableName=table, Key=key).get("Item")
        if item and (newer_than is None or item["version"]["S"] > newer_than):
            return str(item["version"]["S"])
        time.sleep(0.2)
    raise TimeoutError(f"no {competition} odds published within {timeout:.0f} s")


def http_api_event(method: str, target: str, headers: dict[str, str], body: bytes, client_ip: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for one HTTP request."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    now = time.time()
    lowered = {name.lower(): value for name, value in headers.items()}
    text_body: str | None = None
    encoded = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "queryStringParameters": {name: ",".join(values) for name, values in query.items()} or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text_body,
        "isBase64Encoded": encoded,
    }


def local_error_code(status: int) -> str:
    """The API's error code for a status the local server answers itself, before the handler."""
    if status in (413, 414, 431):
        return "too_large"
    if status < 500:
        return "bad_request"
    return HTTPStatus(status).phrase.lower().replace(" ", "_")


class TakeTurns:
    """At most `slots` holders at once; the others get a slot in the order they asked for one.

    threading.Semaphore lets a newcomer take a freed slot before the thread it woke, so under load one
    request can wait behind many that came after it; here a freed slot goes to the longest waiter.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, not {slots}")
        self._free = slots
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # set by the holder that hands its slot over

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class HeadersTooLarge(Exception):
    """A request's header section over MAX_HEADER_LINES lines or MAX_HEADER_BYTES bytes (answered 431)."""


class HeaderSection(io.BufferedIOBase):
    """The connection's reader as http.client.parse_headers sees it: lines until the budget is spent, then refusal.

    It never reads past the budget, so a client streaming headers costs at most MAX_HEADER_BYTES of memory.
    """

    def __init__(self, source: io.BufferedIOBase, most_lines: int, most_bytes: int) -> None:
        super().__init__()
        self._source, self._most_lines, self._most_bytes = source, most_lines, most_bytes
        self._lines = self._bytes = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1, /) -> bytes:
        """One header line, refused with HeadersTooLarge once the section passes either bound."""
        room = self._most_bytes - self._bytes + 1  # one byte past the budget tells "over" from "exactly at"
        line = self._source.readline(room if size is None or size < 0 else min(size, room))
        self._bytes += len(line)
        if self._bytes > self._most_bytes:
            raise HeadersTooLarge(f"the request's headers are over {self._most_bytes} bytes")
        self._lines += 1
        if self._lines > self._most_lines:
            raise HeadersTooLarge(f"the request has over {self._most_lines} header lines")
        return line


class LocalHTTPServer(ThreadingHTTPServer):
    """A thread per connection, none of which holds the process open, behind a backlog for many clients."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def serve_http_api(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    port: int,
    host: str = "127.0.0.1",
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
) -> ThreadingHTTPServer:
    """Serve the query handler on host:port in a background thread, as API Gateway would."""
    invocations = TakeTurns(QUERY_CONCURRENCY)

    class Bridge(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The version of a reply sent before the request's own is known (a malformed request line): with
        # http.server's HTTP/0.9 it went out with no status line nor headers, a bare JSON body.
        default_request_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for its own
        # delayed ACK (40 ms on Linux) before the body arrives.
        disable_nagle_algorithm = True
        # Each socket read and write waits at most this long; http.server then closes the connection.
        timeout = idle_timeout

        def handle(self) -> None:
            # A client that goes away mid-reply (a closed tab, a stopped curl) is routine for a server:
            # one line in the log, not socketserver's traceback on stderr.
            try:
                super().handle()
            except ConnectionError as error:
                request = getattr(self, "requestline", "") or "its request"
                client = self.client_address[0]
                logger.info("client %s disconnected during %r (%s)", client, request, type(error).__name__)

        def __getattr__(self, name: str) -> Any:
            # http.server answers a method without a do_<METHOD> (TRACE, CONNECT, a made-up one) with
            # its own 501 HTML page. Every method goes to the handler instead, whose JSON 405 or 404
            # is the API's answer.
            if name.startswith("do_"):
                return self._invoke
            raise AttributeError(name)

        def parse_request(self) -> bool:
            """http.server's parsing, with a request line that names its HTTP version and a bounded header section."""
            words = str(self.raw_requestline, "iso-8859-1").split()
            if len(words) == 2:
                # HTTP/0.9's form, which http.server takes and then answers with a bare body: API Gateway
                # speaks HTTP/1.0 at the oldest.
                self.command, self.request_version, self.close_connection = "", self.default_request_version, True
                self.requestline = " ".join(words)
                self.send_error(400, f"Bad request syntax ({self.requestline[:100]!r}): no HTTP version")
                return False
            connection = self.rfile
            self.rfile = HeaderSection(connection, MAX_HEADER_LINES, MAX_HEADER_BYTES)
            try:
                parsed = super().parse_request()
            except HeadersTooLarge as error:
                self.send_error(431, str(error))
                return False
            finally:
                self.rfile = connection
            if parsed and len(self.headers.get_all("Content-Length") or ()) > 1:
                # Two lengths, equal or not, are how a request is smuggled past a front server that reads
                # the other one (RFC 9112 section 6.3): refused, as is a Transfer-Encoding.
                self.send_error(400, "the request has more than one Content-Length header")
                return False
            return parsed

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own refusals (a malformed request line, headers too long) as the API's JSON errors."""
            self.log_error("code %d, message %s", code, message)
            self._reply(
                code,
                [("Content-Type", "application/json"), ("Connection", "close")],
                json.dumps({"error": local_error_code(code), "message": message or HTTPStatus(code).phrase}).encode(),
            )

        def _content_length(self) -> int | None:
            """The body's length in bytes; None once a header that gives no usable length is answered."""
            if "Transfer-Encoding" in self.headers:
                self.send_error(411, "send the body with a Content-Length; a chunked body is not read")
                return None
            given = (self.headers.get("Content-Length") or "0").strip()
            # Checked before int(): a 5000-digit length would make int() raise, a negative one would
            # make read() wait for the client to close.
            if not (given.isascii() and given.isdigit()):
                self.send_error(400, f"Content-Length {given[:20]!r} is not a number of bytes")
                return None
            digits = given.lstrip("0") or "0"
            if len(digits) > len(str(MAX_PAYLOAD_BYTES)) or int(digits) > MAX_PAYLOAD_BYTES:
                self.send_error(
                    413, f"Content-Length {digits[:20]} is over the {MAX_PAYLOAD_BYTES} bytes API Gateway accepts"
                )
                return None
            return int(digits)

        def _invoke(self) -> None:
            length = self._content_length()
            if length is None:
                return
            body = self.rfile.read(length) if length else b""
            # HEAD is GET without the body (RFC 9110 section 9.3.2), which _reply leaves out: the API has no
            # HEAD routes, and answered 405.
            method = "GET" if self.command == "HEAD" else self.command
            event = http_api_event(method, self.path, dict(self.headers.items()), body, self.client_address[0])
            try:
                with invocations:
                    response = handler(event, LambdaContext("matchodds-query"))
            except Exception:  # API Gateway answers 500 when the integration fails
                logger.exception("query handler raised")
                response = {
                    "statusCode": 500,
                    "body": json.dumps({"message": "Internal Server Error"}),
                    "headers": {"Content-Type": "application/json"},
                }
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
            headers = [(name, str(value)) for name, value in (response.get("headers") or {}).items()]
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers += [(name, str(value)) for value in values]
            headers += [("Set-Cookie", cookie) for cookie in response.get("cookies") or []]
            self._reply(int(response.get("statusCode", 200)), headers, data)

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            # A 304 has no body, and a length in it would be the 200's (RFC 9110 section 8.6): a 0 there misleads
            # a cache into storing an empty representation.
            if status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD" and status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.client_address[0], *args)

    server = LocalHTTPServer((host, port), Bridge)
    threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
    logger.info("HTTP API on http://%s:%d", host, server.server_port)  # port 0 picks a free one
    return server
