"""Shared fixtures: AWS served by moto, the local resources built from the shared contract, posteriors.

And the rule that every test carries its tier marker, so that `pytest -m <tier>` runs what it says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matchodds.core.keys import VERSION_FORMAT, VERSION_RE, new_version
from matchodds.core.posterior import POSTERIOR_FORMAT, Posterior
from services.fit import configure_jax

# The fit's tests run four chains on four CPU devices as the fit does: set before any test module imports JAX.
configure_jax()
pytest_plugins = ("pytester",)  # tests/unit/test_tiers.py runs the tier rule on a suite of its own
DATA = Path(__file__).parent / "data"
EVENTS = Path(__file__).parent / "events"
# The tiers of pyproject.toml's markers; a test outside all of them would run under no `-m` selection.
TIERS = ("unit", "integration", "e2e", "infra", "fit", "research", "browser", "bench_smoke", "fuzz")
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MATCHODDS_TABLE": "matchodds-odds",
    "MATCHODDS_BUCKET": "matchodds-local",
}


# Two xdist workers each take whole files. Files with tests of the slow tiers go out first, slowest
# tier first, and the many quick files fill in at the end: otherwise (xdist orders files by how many
# tests they hold) the few-test, minute-long files come last and one worker runs them alone.
SLOW_TIERS_FIRST = ("bench_smoke", "fit", "research", "e2e", "fuzz", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding slow-tier tests first, in SLOW_TIERS_FIRST's order; each file's tests keep theirs."""
    quick = len(SLOW_TIERS_FIRST)
    file_rank: dict[Path, int] = {}
    for item in items:
        ranks = [rank for rank, tier in enumerate(SLOW_TIERS_FIRST) if item.get_closest_marker(tier)]
        file_rank[item.path] = min(file_rank.get(item.path, quick), *ranks, quick)
    items.sort(key=lambda item: file_rank[item.path])


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":")[0].strip() for line in config.getini("markers")}
    if unregistered := [tier for tier in TIERS if tier not in registered]:
        raise pytest.UsageError(f"tier markers missing from pyproject.toml's markers: {', '.join(unregistered)}")


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    """A module (or class) with a test that carries no tier marker fails to collect, naming the test.

    A collection error rather than an exception from pytest_collection_modifyitems: under xdist the
    workers collect, and only a collection error reaches the report with its message."""
    report: pytest.CollectReport = yield
    if report.passed:
        untiered = [
            node.nodeid
            for node in report.result
            if isinstance(node, pytest.Item) and not any(node.get_closest_marker(tier) for tier in TIERS)
        ]
        if untiered:
            report.outcome = "failed"
            report.longrepr = f"no tier marker (one of {', '.join(TIERS)}) on:\n  " + "\n  ".join(untiered)
    return report


def set_aws_environment(patch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and the local names; no endpoint, so boto3 goes where moto intercepts it."""
    for name, value in AWS_ENVIRONMENT.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_aws_environment(monkeypatch)


@contextmanager
def provisioned_moto() -> Iterator[dict[str, str]]:
    """moto in-process with the local stack's resources, made by the same code the demo uses."""
    from moto import mock_aws

    from entry.local.provision import LocalNames, provision

    with mock_aws():
        names = LocalNames()
        queues = provision(names)
        yield {"bucket": names.bucket, "table": names.table, **queues}


@pytest.fixture
def aws(aws_env: None) -> Iterator[dict[str, str]]:
    """A fresh local AWS for each test (its environment undone with the test's own monkeypatch)."""
    with provisioned_moto() as resources:
        yield resources


@pytest.fixture(scope="module")
def module_aws() -> Iterator[dict[str, str]]:
    """One local AWS for a whole module, for modules whose tests only read what was published."""
    with pytest.MonkeyPatch.context() as patch:
        set_aws_environment(patch)
        with provisioned_moto() as resources:
            yield resources


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def make_posterior() -> Callable[..., Posterior]:
    def build(
        codes: tuple[str, ...] = ("ARS", "CHE", "LIV", "MCI"),
        attack: list[float] | None = None,
        defence: list[float] | None = None,
        home: float = 0.25,
        intercept: float = 0.3,
        chains: int = 2,
        draws: int = 50,
        spread: float = 0.05,
        competition: str = "E0",
        version: str | None = None,
        seed: int = 1,
    ) -> Posterior:
        rng = np.random.default_rng(seed)
        teams = len(codes)
        attack_mean = np.array(attack if attack is not None else np.linspace(-0.3, 0.3, teams))
        defence_mean = np.array(defence if defence is not None else np.linspace(0.2, -0.2, teams))
        shape = (chains, draws)
        posterior_draws = {
            "intercept": (intercept + spread * rng.standard_normal(shape)).astype(np.float32),
            "home": (home + spread * rng.standard_normal(shape)).astype(np.float32),
            "attack": (attack_mean + spread * rng.standard_normal((*shape, teams))).astype(np.float32),
            "defence": (defence_mean + spread * rng.standard_normal((*shape, teams))).astype(np.float32),
        }
        # A version is its creation time: the contract refuses one that is not its own created_at.
        created = datetime(2025, 5, 26, 6, 0, tzinfo=UTC)
        if version is not None and VERSION_RE.match(version):
            created = datetime.strptime(version, VERSION_FORMAT).replace(tzinfo=UTC)
        meta = {
            "format": POSTERIOR_FORMAT,
            "competition": competition,
            "version": version or new_version(created),
            "created_at": created.isoformat(),
            "model": {"name": "test", "settings": {}},
            "data_window": {
                "first_match": "2024-08-16",
                "last_match": "2025-05-25",
                "matches": 380,
                "seasons": ["2024-25"],
            },
            "seed": seed,
            "sampler": {"chains": chains, "samples": draws},
            "diagnostics": {"max_r_hat": 1.0, "min_bulk_ess": 1000.0, "divergences": 0},
        }
        return Posterior(posterior_draws, tuple(codes), tuple(f"Team {code}" for code in codes), meta)

    return build
