"""The infra tier's shared fixtures: the Pulumi program, run once per session under mocks (twice: two configs)."""

from __future__ import annotations

import pytest
from infra_mocks import RECONFIGURED, Deployed, run_stack


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    return run_stack()


@pytest.fixture(scope="session")
def reconfigured() -> Deployed:
    """The same program with non-default config (infra_mocks.RECONFIGURED)."""
    return run_stack(RECONFIGURED)
