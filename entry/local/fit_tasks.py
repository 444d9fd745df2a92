"""What ECS and a deployment are in AWS, locally: fits run as processes, and the competitions served.

LocalFitTasks stands where the fit trigger launches an ECS task; LocalDeployment where a stack's
`competitions` config and a deploy add a league.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from adapters.fit_ledger import FitLedger
from matchodds.core.keys import competition_name
from matchodds.core.settings import COMPETITIONS_VARIABLE

logger = logging.getLogger(__name__)
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
