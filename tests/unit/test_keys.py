"""The key rule (issue 31): one answer to "is this a results or fixtures file?" for every reader and writer.

The trigger, pricing, the fit, the local notifications and infra's filters all ask matchodds.core.keys, so
a key one of them counts and another skips (a sub-folder, ".CSV", a name with spaces) cannot exist.
"""

from __future__ import annotations

import pytest

from matchodds.core.keys import (
    CSV_SUFFIX,
    FILE_NAME_MAX_STEM,
    ContractError,
    fixtures_key,
    parse_fixtures_key,
    parse_results_key,
    results_key,
    safe_file_name,
)

pytestmark = pytest.mark.unit

# Keys no reader may count: each would be seen by some and missed by others under a looser rule.
NOT_FILE_KEYS = [
    "{p}/D1/sub/y.csv",  # a sub-folder: no notification filter nor listing agrees on it
    "{p}/E0/week.CSV",  # upper-case suffix: S3's case-sensitive filter never announces it
    "{p}/E0/week.Csv",
    "{p}/E0/week.txt",
    "{p}/E0/week",  # no suffix
    "{p}/E0/.csv",  # nothing before the suffix
    "{p}/E0/.hidden.csv",  # a leading dot
    "{p}/E0/-x.csv",  # a leading dash (an option to a shell, a formula to a sheet)
    "{p}/E0/week 38.csv",  # a space
    "{p}/E0/wéek.csv",  # non-ASCII
    "{p}/E0/week\n.csv",
    "{p}/E0/week.csv\n",  # \Z, not $
    "{p}/E0/٢٠٢٤.csv",  # Arabic-Indic digits are not [0-9]
    "{p}/e0/week.csv",  # a competition outside COMPETITION_RE
    "{p}/E0/",
    "{p}/E0",
    "{p}//week.csv",
    "{p}/E0//week.csv",
    "{p}/E0/" + "a" * (FILE_NAME_MAX_STEM + 1) + ".csv",
]


def test_a_results_key_is_a_competition_and_one_lower_case_csv_name() -> None:
    assert parse_results_key("results/E0/2024-25.csv") == "E0"
    assert parse_results_key("results/SC0/E0_part.2.csv") == "SC0"
    assert parse_results_key("results/E0/" + "a" * FILE_NAME_MAX_STEM + ".csv") == "E0"
    assert parse_results_key("fixtures/E0/2024-25.csv") is None


def test_a_fixtures_key_gives_its_competition_and_stem() -> None:
    assert parse_fixtures_key("fixtures/E0/week-38.csv") == ("E0", "week-38")
    assert parse_fixtures_key("fixtures/SP1/a.b.csv") == ("SP1", "a.b")
    assert parse_fixtures_key("results/E0/week.csv") is None


@pytest.mark.parametrize("template", NOT_FILE_KEYS)
def test_keys_outside_the_rule_are_no_ones_file(template: str) -> None:
    assert parse_results_key(template.format(p="results")) is None
    assert parse_fixtures_key(template.format(p="fixtures")) is None


@pytest.mark.parametrize("template", [t for t in NOT_FILE_KEYS if t.startswith("{p}/E0/") and t != "{p}/E0/"])
def test_writers_refuse_what_readers_would_skip(template: str) -> None:
    name = template.removeprefix("{p}/E0/")
    for key_of in (results_key, fixtures_key):
        with pytest.raises(ContractError, match="file name"):
            key_of("E0", name)


def test_writers_accept_what_readers_count() -> None:
    assert parse_results_key(results_key("E0", "2024-25.csv")) == "E0"
    assert parse_fixtures_key(fixtures_key("D1", "week_1.csv")) == ("D1", "week_1")
    with pytest.raises(ContractError):
        results_key("e0", "2024-25.csv")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("2024-25.csv", "2024-25.csv"),
        ("week.CSV", "week.csv"),  # week.csv and week.CSV are one file, as the priced key always made them
        ("week 38.csv", "week-38.csv"),
        ("week", "week.csv"),
        ("fixtures.txt", "fixtures.txt.csv"),
        ("..hidden.csv", "hidden.csv"),
        ("-=cmd.csv", "cmd.csv"),
        ("Ligue 1 (été).csv", "Ligue-1---t--.csv"),
        ("a/b.csv", "a-b.csv"),
        ("x" * 300 + ".CSV", "x" * FILE_NAME_MAX_STEM + CSV_SUFFIX),
    ],
)
def test_a_users_file_name_becomes_one_the_rule_accepts(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe
    assert parse_results_key(results_key("E0", safe_file_name(name))) == "E0"


@pytest.mark.parametrize("name", ["", ".csv", ".CSV", "---", "__.csv", "é.csv", "\n"])
def test_a_name_with_nothing_usable_is_refused(name: str) -> None:
    with pytest.raises(ContractError, match="no letter or digit"):
        safe_file_name(name)
