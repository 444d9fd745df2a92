"""The infra tier's shared fixture: the Pulumi program, run once per session under mocks."""

from __future__ import annotations

import pytest
from infra_mocks import Deployed, run_stack


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    return run_stack()
