"""The whole local stack started in one call: moto as AWS, the Lambdas fed by their queues, the fits, HTTP.

Everything flows as it does in AWS: results go to S3, S3 notifies the fit trigger's queue, the fit
writes a posterior to S3, S3 notifies precompute's queue, precompute publishes the odds and the
query handler answers HTTP through the bridge. `matchodds demo` runs it; the benchmarks start its
local AWS alone (start_local_aws).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from boto3.dynamodb.types import TypeDeserializer

from entry.local.event_sources import EventSourceMapping
from entry.local.fit_tasks import LocalDeployment, LocalFitTasks
from entry.local.http_bridge import serve_http_api
from entry.local.provision import LocalNames, provision, use_local_aws
from entry.local.sample_data import sample_round
from entry.upload import upload_files
from matchodds.core.items import pointer_key
from matchodds.core.refits import FIT_TRIGGER_BATCH_SIZE
from matchodds.core.settings import SINGLE_THREADED_BLAS

if TYPE_CHECKING:  # moto is imported when a stack starts, not with this module
    from http.server import ThreadingHTTPServer

    from moto.server import ThreadedMotoServer


@dataclass
class LocalAWS:
    """moto in server mode on loopback, provisioned; `server.stop()` ends it."""

    server: ThreadedMotoServer
    url: str
    names: LocalNames
    queues: dict[str, str]  # provision's queue URLs and ARNs


def start_local_aws(port: int) -> LocalAWS:
    """Start moto's server on 127.0.0.1:port (0: any free one), point this process's boto3 at it, provision it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"  # port 0 binds any free one
        use_local_aws(url)
        names = LocalNames()
        os.environ["MATCHODDS_BUCKET"], os.environ["MATCHODDS_TABLE"] = names.bucket, names.table
        return LocalAWS(server, url, names, provision(names))
    except BaseException:
        server.stop()
        raise


@dataclass
class RunningStack:
    """A started local stack; `close` stops it in reverse order."""

    api_url: str
    moto_url: str
    names: LocalNames
    pollers: list[EventSourceMapping]  # precompute, pricing, fit trigger: each fed by S3 events through SQS
    fit_tasks: LocalFitTasks
    deployment: LocalDeployment
    http_server: ThreadingHTTPServer
    moto_server: ThreadedMotoServer

    def close(self) -> None:
        """Stop serving HTTP, the pollers, the fits, then moto."""
        self.http_server.shutdown()
        for poller in self.pollers:
            poller.stop()
        self.fit_tasks.close()
        self.moto_server.stop()


def start_stack(
    api_port: int,
    moto_port: int,
    uploads: Sequence[tuple[str, Sequence[Path]]],
    fit_args: Sequence[str],
    upload_window: float = 5.0,
) -> RunningStack:
    """Start moto, provision, upload each competition's results (the first first), let S3 events drive the
    fits and precompute, and serve HTTP once the first competition is published; the others follow."""
    # precompute runs in this process, as in its Lambda: numpy's BLAS on one thread, which BLAS reads when numpy
    # is first imported (nothing imported so far has); an environment that says otherwise is kept
    for name, value in SINGLE_THREADED_BLAS.items():
        os.environ.setdefault(name, value)
    aws = start_local_aws(moto_port)
    moto_server, moto_url, names, queues = aws.server, aws.url, aws.names, aws.queues

    from adapters.fit_ledger import FitLedger
    from services.fit_trigger.handler import handle as trigger_fits
    from services.precompute.handler import lambda_handler as precompute_handler
    from services.pricing.handler import lambda_handler as pricing_handler
    from services.query.handler import lambda_handler as query_handler
    from services.query.handler import reader as query_reader

    # The competitions served are those whose results the demo uploads, in that order; results for
    # another division later add it (what a config change and a deploy do in AWS).
    deployment = LocalDeployment([competition for competition, _ in uploads], redeploy=query_reader.cache_clear)
    fit_tasks = LocalFitTasks(names.bucket, names.fit_ledger, fit_args)
    ledger = FitLedger(names.fit_ledger, boto3.client("dynamodb"))
    pollers = [
        EventSourceMapping(queues["queue_url"], queues["queue_arn"], precompute_handler),
        EventSourceMapping(
            queues["pricing_queue_url"], queues["pricing_queue_arn"], pricing_handler, "matchodds-pricing"
        ),
        EventSourceMapping(
            queues["fit_trigger_queue_url"],
            queues["fit_trigger_queue_arn"],
            lambda event, _: trigger_fits(event, ledger, fit_tasks, deployment.serves),
            "matchodds-fit-trigger",
            batch_size=FIT_TRIGGER_BATCH_SIZE,
            batching_window=upload_window,
        ),
    ]
    for poller in pollers:
        poller.start()
    # One write, newline included: print() writes the text and its end apart when stdout is unbuffered, and
    # a poller's log line (stderr, the same pipe under a test) landed between them once, glued to the URL.
    print(f"local AWS (moto) on {moto_url}\n", end="", flush=True)

    def stop() -> None:
        for poller in pollers:
            poller.stop()
        fit_tasks.close()
        moto_server.stop()

    # Named as `matchodds upload` names them (results/<c>/<season>.csv), so an upload of a season replaces it.
    s3 = boto3.client("s3")
    (first, first_paths), *others = uploads
    keys = upload_files(s3, names.bucket, first_paths, first)
    print(f"uploaded {first} results to s3://{names.bucket}/{', '.join(keys)}: its fit starts", flush=True)
    fit_tasks.wait_launched(first)  # the first league's fit goes first; the others queue behind it
    for competition, paths in others:
        keys = upload_files(s3, names.bucket, paths, competition)
        print(f"uploaded {competition} results ({len(keys)} files): its fit follows", flush=True)
    try:
        status = fit_tasks.wait(first)
    except BaseException:
        stop()
        raise
    if status != 0:
        stop()
        raise SystemExit(f"the fit of {first} did not publish (exit {status}); see the messages above")
    version = wait_for_version(names.table, first)
    print(f"precompute published {first} version {version}", flush=True)
    upload_sample_round(names.bucket, first)
    http_server = serve_http_api(query_handler, api_port)
    # The bound port, not the asked one: --port 0 takes any free port, as the tests do.
    api_url = f"http://127.0.0.1:{http_server.server_port}"
    return RunningStack(api_url, moto_url, names, pollers, fit_tasks, deployment, http_server, moto_server)


def upload_sample_round(bucket: str, competition: str) -> None:
    """A round for the page and GET /fixtures, once the league is published: priced and stored by the pricing Lambda."""
    if (round_ := sample_round(competition)) is not None:
        keys = upload_files(boto3.client("s3"), bucket, [round_])
        print(f"uploaded {competition}'s sample round to s3://{bucket}/{', '.join(keys)}", flush=True)


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
