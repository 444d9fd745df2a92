"""What every benchmark shares: child processes that report one JSON result, summaries, the machine.

A child prints its result as one line `BENCH-RESULT {...}` on stdout, with its own peak resident
memory (getrusage of the process itself, so each run's peak is its own); the parent times the whole
process from spawn to exit and keeps the command, so every figure in the report can be reproduced.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH-RESULT "
CHILD_TIMEOUT_SECONDS = 900


class BenchError(RuntimeError):
    """A benchmark child failed; the message carries its command and the end of its stderr."""


@dataclass(frozen=True)
class ChildRun:
    result: dict[str, Any]
    process_s: float  # spawn to exit, measured by the parent: interpreter start and imports included
    command: str


def child_command(module: str, args: Sequence[str], cpus: str | None = None) -> list[str]:
    """The child's command; with `cpus` (a taskset list such as "0" or "0,1") pinned to those CPUs."""
    pinned = ["taskset", "-c", cpus] if cpus else []
    return [*pinned, sys.executable, "-m", module, *args]


def display_command(module: str, args: Sequence[str], cpus: str | None = None) -> str:
    """The command as a reader types it from the repository root (venv python, relative paths)."""
    shown = [relative(arg) for arg in args]
    pinned = ["taskset", "-c", cpus] if cpus else []
    return shlex.join([*pinned, ".venv/bin/python", "-m", module, *shown])


def relative(arg: str) -> str:
    path = Path(arg)
    if path.is_absolute() and path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    return arg


@contextmanager
def announcing_child(
    command: Sequence[str], prefix: str, stop_seconds: float = 30
) -> Iterator[tuple[dict[str, Any], subprocess.Popen[str], IO[str]]]:
    """A child that serves until its stdin closes: yields the JSON it prints after `prefix` once ready, the
    process and its stderr (a temporary file); BenchError with the end of that stderr if it ends before."""
    with (
        tempfile.TemporaryFile(mode="w+") as log,
        subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        ) as process,
    ):
        assert process.stdin is not None and process.stdout is not None
        try:
            ready = next((line for line in process.stdout if line.startswith(prefix)), None)
            if ready is None:
                log.seek(0)
                raise BenchError(f"`{shlex.join(command)}` ended before it was ready:\n{log.read()[-3000:]}")
            yield json.loads(ready[len(prefix) :]), process, log
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                process.terminate()


def run_child(
    module: str,
    args: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = CHILD_TIMEOUT_SECONDS,
    cpus: str | None = None,
) -> ChildRun:
    """Run one measurement in a fresh process (pinned to `cpus` when given) and return what it reported."""
    command = child_command(module, args, cpus)
    start = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    process_s = time.perf_counter() - start
    shown = display_command(module, args, cpus)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-25:])
        raise BenchError(f"`{shown}` exited with {completed.returncode}:\n{tail}")
    return ChildRun(parse_result(completed.stdout, shown), process_s, shown)


def parse_result(stdout: str, command: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise BenchError(f"`{command}` printed no {RESULT_PREFIX.strip()} line")
    return dict(json.loads(lines[-1][len(RESULT_PREFIX) :]))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_result(result: dict[str, Any]) -> None:
    """The child's last word: its result and its own peak memory (unless it measured that itself), on one line."""
    print(RESULT_PREFIX + json.dumps({"peak_rss_mb": round(peak_rss_mb(), 1), **result}), flush=True)


class PhasePeaks:
    """The peak resident memory of each phase of a run, from Linux's high-water mark, reset at each phase's start.

    Writing 5 to /proc/self/clear_refs sets the mark (and getrusage's ru_maxrss with it) back to the
    current resident size, so the process's peak is the largest of the phases', which `overall` keeps.
    """

    CLEAR_REFS = Path("/proc/self/clear_refs")

    def __init__(self) -> None:
        self.overall = peak_rss_mb()
        self.phases: dict[str, float] = {}
        self.current: str | None = None

    def start(self, phase: str | None) -> None:
        """End the phase running (recording its peak) and start `phase` (None: only end it)."""
        if self.current is not None:
            self.phases[self.current] = round(peak_rss_mb(), 1)
            self.overall = max(self.overall, peak_rss_mb())
        self.current = phase
        if phase is not None:
            self.CLEAR_REFS.write_text("5")


def summary(values: Iterable[float]) -> dict[str, float]:
    """Median and spread (min, max) of repeated measurements."""
    numbers = [float(value) for value in values]
    if not numbers:
        raise ValueError("no measurements to summarise")
    return {"median": statistics.median(numbers), "min": min(numbers), "max": max(numbers), "n": len(numbers)}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q % of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of request latencies, in milliseconds."""
    ms = [value * 1000 for value in seconds]
    return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms), "n": len(ms)}


class CallMarks:
    """When AWS SDK calls start, get their response and finish, from botocore's event hooks.

    Register on an event system (`boto3.DEFAULT_SESSION.events`, or a botocore session) before the clients are
    made: clients copy their session's hooks when they are created.
    """

    STAGES = ("before-call", "before-parse", "after-call")

    def __init__(self) -> None:
        self.marks: list[tuple[str, str, float]] = []

    def watch(self, events: Any, service: str, operation: str) -> None:
        for stage in self.STAGES:
            events.register(f"{stage}.{service}.{operation}", self._recorder(stage))

    def _recorder(self, stage: str) -> Any:
        def record(event_name: str, **_: Any) -> None:
            self.marks.append((stage, event_name.rsplit(".", 1)[-1], time.perf_counter()))

        return record

    def clear(self) -> None:
        self.marks.clear()

    def times(self, stage: str, operation: str) -> list[float]:
        return [at for seen, op, at in self.marks if seen == stage and op == operation]

    def first(self, stage: str, operation: str) -> float:
        return self.times(stage, operation)[0]

    def last_before(self, stage: str, operation: str, limit: float) -> float:
        return max(at for at in self.times(stage, operation) if at <= limit)

    def stand_in_seconds(self, operation: str | None = None, until: float = math.inf) -> float:
        """Time from each request sent to its response received: the emulated service (and signing)."""
        chosen = [(seen, at) for seen, op, at in self.marks if operation in (None, op) and at <= until]
        sent = sorted(at for seen, at in chosen if seen == "before-call")
        answered = sorted(at for seen, at in chosen if seen == "before-parse")
        return sum(end - start for start, end in zip(sent, answered, strict=True))


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _cpu_ticks() -> dict[int, tuple[int, str]]:
    """CPU ticks used so far (user + system) and the command line of every process we may read."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        ticks[int(entry.name)] = (int(fields[11]) + int(fields[12]), command)
    return ticks


def busy_processes(seconds: float = 2.0, threshold: float = 0.2) -> list[dict[str, Any]]:
    """Other processes that used more than `threshold` of a core over `seconds`: what else loads the machine."""
    if not Path("/proc/self/stat").exists():
        return []
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    per_second = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (used, command) in after.items():
        share = (used - before.get(pid, (used, ""))[0]) / per_second / seconds
        if pid != os.getpid() and share > threshold:
            busy.append({"pid": pid, "cpu_share": round(share, 2), "command": command[:160]})
    return sorted(busy, key=lambda entry: -entry["cpu_share"])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or None


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("numpy", "jax", "jaxlib", "numpyro", "boto3", "moto")},
        "commit": _git_commit(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": load_average(),
    }
