"""The query function is told which competitions it serves: the `competitions` config list, checked at preview."""

from __future__ import annotations

import json

import pytest
from infra_mocks import CONFIG, Deployed, run_stack

from infra.query_api import served_competitions
from matchodds.core.keys import DEFAULT_COMPETITIONS
from matchodds.core.settings import COMPETITIONS_VARIABLE, SINGLE_THREADED_BLAS, Settings

pytestmark = pytest.mark.infra
FUNCTION = "aws:lambda/function:Function"


def variables(stack: Deployed, function: str) -> dict[str, str]:
    return dict(stack.one(FUNCTION, function).inputs["environment"]["variables"])


@pytest.fixture(scope="module")
def listed() -> Deployed:
    """A stack that lists its competitions, one of them a division the code table lacks."""
    return run_stack({**CONFIG, "competitions": json.dumps(["SC0", "E0", "N1"])})


@pytest.fixture(scope="module")
def fitting_another() -> Deployed:
    """A stack from before the list: only the older `competition` key, a division outside the default five."""
    return run_stack({**CONFIG, "competition": "N1"})


def test_by_default_the_query_serves_the_five_shipped_leagues(deployed: Deployed) -> None:
    query = variables(deployed, "query")
    assert Settings.from_env(query).competitions == DEFAULT_COMPETITIONS
    assert query[COMPETITIONS_VARIABLE] == "E0,D1,F1,I1,SP1"
    assert COMPETITIONS_VARIABLE not in variables(deployed, "precompute")  # it serves nothing


def test_precompute_runs_numpys_blas_on_one_thread(deployed: Deployed) -> None:
    """The score grids' matrix products are slower on OpenBLAS's busy-waiting threads on a Lambda's share of a CPU."""
    assert SINGLE_THREADED_BLAS.items() <= variables(deployed, "precompute").items()
    assert SINGLE_THREADED_BLAS == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_the_competitions_list_is_what_the_query_serves(listed: Deployed) -> None:
    assert Settings.from_env(variables(listed, "query")).competitions == ("SC0", "E0", "N1")


def test_a_stack_with_only_the_older_key_serves_what_its_fit_publishes(fitting_another: Deployed) -> None:
    assert Settings.from_env(variables(fitting_another, "query")).competitions == ("N1",)


@pytest.mark.parametrize(
    ("competitions", "needle"),
    [
        ("E0,D1", "give a list of competition codes"),
        (["E0", 1], "give a list of competition codes"),
        (["E0", "sc0"], "'sc0' is not a competition code"),
        (["E0", "E0"], "lists E0 more than once"),
    ],
)
def test_a_bad_list_is_refused_at_preview(competitions: object, needle: str) -> None:
    with pytest.raises(ValueError, match="competitions") as refused:
        served_competitions(competitions)  # type: ignore[arg-type]
    assert needle in str(refused.value)
