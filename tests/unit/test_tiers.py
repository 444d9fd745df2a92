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
    """A pytest project with this suite's markers and its conftest's tier rule."""
    markers = "".join(f"    {line}\n" for line in pytestconfig.getini("markers"))
    pytester.makeini(f"[pytest]\naddopts = --strict-markers\nmarkers =\n{markers}")
    pytester.makeconftest("from tests.conftest import pytest_configure, pytest_make_collect_report  # noqa: F401\n")
    return pytester


def test_a_suite_whose_tests_all_carry_a_tier_runs(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_tiered=SUITE)
    suite.runpytest("-q").assert_outcomes(passed=2)


def test_a_test_without_a_tier_marker_stops_the_run_naming_it(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_tiered=SUITE, test_untiered="def test_forgotten():\n    pass\n")
    result = suite.runpytest("-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error: nothing runs
    result.stdout.fnmatch_lines(
        ["*ERROR collecting test_untiered.py*", "*no tier marker*", "*test_untiered.py::test_forgotten"]
    )
    assert "test_marked" not in result.stdout.str() and result.parseoutcomes() == {"errors": 1}


def test_a_marker_missing_from_the_registered_ones_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    unit: only this one\n")
    pytester.makeconftest("from tests.conftest import pytest_configure  # noqa: F401\n")
    pytester.makepyfile(test_tiered=SUITE)
    result = pytester.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tier markers missing from pyproject.toml's markers: integration, e2e*"])
