"""Issue 31: a fit killed while it held its lease blocked upload-started fits of its competition for an hour.

The local stack's launcher runs each fit as a process and sees it end: it gives the lease back, conditional
on its holder. The fits here are stand-ins (the real one needs the sampler) that die as a killed task does.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from adapters.fit_ledger import FitLedger, entry_from_item, read_request
from entry.local.event_sources import EventSourceMapping
from entry.local.fit_tasks import LocalFitTasks
from services.fit_trigger.handler import handle
from tests.integration.test_fit_trigger import drain, upload

pytestmark = pytest.mark.integration

# A fit process that is SIGKILLed mid-fit (the OOM killer, `kill -9`), and one whose container exits 137.
KILLED = (sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(signal.SIGKILL)})")
EXITS_137 = (sys.executable, "-c", "raise SystemExit(137)")


def _entry(aws: dict[str, str], competition: str = "E0") -> Any:
    item = boto3.client("dynamodb").get_item(**read_request(aws["fit_ledger"], competition)).get("Item")
    return entry_from_item(competition, item)


@pytest.fixture
def tasks(aws: dict[str, str], request: pytest.FixtureRequest) -> Iterator[LocalFitTasks]:
    fit_tasks = LocalFitTasks(aws["bucket"], aws["fit_ledger"], command=request.param)
    yield fit_tasks
    fit_tasks.close()


@pytest.mark.parametrize(("tasks", "status"), [(KILLED, -signal.SIGKILL), (EXITS_137, 137)], indirect=["tasks"])
def test_a_killed_fit_leaves_the_lease_free_and_the_next_upload_starts_a_fit(
    aws: dict[str, str], tasks: LocalFitTasks, status: int
) -> None:
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"))
    poller = EventSourceMapping(
        aws["fit_trigger_queue_url"],
        aws["fit_trigger_queue_arn"],
        lambda event, _: handle(event, ledger, tasks, lambda _: True),
        "matchodds-fit-trigger",
        batch_size=100,
    )
    upload(aws, "results/E0/2024-25.csv")
    drain(poller)
    assert tasks.wait("E0") == status
    assert _entry(aws).holder is None  # given back at once, not after FIT_LEASE_SECONDS
    upload(aws, "results/E0/next.csv")
    drain(poller)
    tasks.wait_launched("E0", 2)
    assert tasks.wait("E0", 2) == status


@pytest.mark.parametrize("tasks", [EXITS_137], indirect=True)
def test_a_killed_fit_never_gives_back_a_newer_fits_lease(aws: dict[str, str], tasks: LocalFitTasks) -> None:
    now = [1_000_000.0]
    ledger = FitLedger(aws["fit_ledger"], boto3.client("dynamodb"), clock=lambda: now[0], lease_seconds=3600)
    assert ledger.claim("E0", "old")
    now[0] += 3601  # the old fit's lease lapsed and a newer fit took over before the old one died
    assert ledger.claim("E0", "new")
    tasks.launch("E0", "old")
    assert tasks.wait("E0") == 137
    assert _entry(aws).holder == "new"
