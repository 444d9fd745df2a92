"""The suite's own rule (tests/conftest.py): a test without a tier marker stops the run, naming it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit
SUITE = """
import pytest

pytestmark = pytest.mark.unit


def test_marked_by_its_module():
    pass


@pytest.mark.e2e
def test_marked_twice():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, pytestconfig: pytest.Config) -> pytest.Pytester:
    """A pytest project with this suite's markers and its conftest's collection hook."""
    markers = "".join(f"    {line}\n" for line in pytestconfig.getini("markers"))
    pytester.makeini(f"[pytest]\naddopts = --strict-markers\nmarkers =\n{markers}")
    pytester.makeconftest("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    return pytester


def test_a_suite_whose_tests_all_carry_a_tier_runs(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_tiered=SUITE)
    suite.runpytest("-q").assert_outcomes(passed=2)


def test_a_test_without_a_tier_marker_stops_the_run_naming_it(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_tiered=SUITE, test_untiered="def test_forgotten():\n    pass\n")
    result = suite.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*1 tests carry no tier marker*", "*test_untiered.py::test_forgotten"])
    assert "test_marked" not in result.stderr.str()
