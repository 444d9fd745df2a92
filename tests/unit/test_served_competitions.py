"""Which competitions a deployment serves (MATCHODDS_COMPETITIONS) and the names they are served under."""

from __future__ import annotations

import pytest

from matchodds.core.keys import COMPETITION_NAMES, COMPETITION_RE, DEFAULT_COMPETITIONS, competition_name
from matchodds.core.settings import COMPETITIONS_VARIABLE, Settings
from matchodds.core.teams import TeamTable

pytestmark = pytest.mark.unit
TABLE = {"MATCHODDS_TABLE": "odds"}


def test_without_the_variable_a_deployment_serves_the_five_shipped_leagues() -> None:
    assert Settings.from_env(TABLE, need=("table",)).competitions == ("E0", "D1", "F1", "I1", "SP1")
    assert Settings.from_env({**TABLE, COMPETITIONS_VARIABLE: ""}, need=("table",)).competitions == DEFAULT_COMPETITIONS
    # The five are the leagues the code table covers.
    assert {league for league, _ in TeamTable.load().codes_by_name} == set(DEFAULT_COMPETITIONS)


@pytest.mark.parametrize(
    ("value", "served"),
    [
        ("E0", ("E0",)),
        ("SC0,E1, N1 ,E0", ("SC0", "E1", "N1", "E0")),
        ("X9", ("X9",)),  # a division football-data may add: served under its code
    ],
)
def test_the_variable_lists_the_served_competitions_in_order(value: str, served: tuple[str, ...]) -> None:
    assert Settings.from_env({**TABLE, COMPETITIONS_VARIABLE: value}, need=("table",)).competitions == served


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("E0;D1", "'E0;D1' is not a competition code"),
        ("E0,,D1", "'' is not a competition code"),
        ("e0", "'e0' is not a competition code"),
        ("E0 D1", "'E0 D1' is not"),
        ("E0,D1,E0", "lists E0 more than once"),
        ("TOOLONGCODE", "'TOOLONGCODE' is not"),
    ],
)
def test_a_bad_list_fails_at_start_up_naming_the_variable(value: str, needle: str) -> None:
    with pytest.raises(ValueError, match="MATCHODDS_COMPETITIONS") as raised:
        Settings.from_env({**TABLE, COMPETITIONS_VARIABLE: value}, need=("table",))
    assert needle in str(raised.value)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(TABLE, need=("table",))
    with pytest.raises(AttributeError):
        settings.competitions = ("E0",)  # type: ignore[misc]


def test_every_division_has_a_name_and_an_unknown_code_is_served_under_itself() -> None:
    assert len(COMPETITION_NAMES) == 22
    assert all(COMPETITION_RE.match(code) for code in COMPETITION_NAMES)
    assert {code: competition_name(code) for code in ("E0", "SC3", "SP2", "T1", "X9")} == {
        "E0": "Premier League",
        "SC3": "Scottish League Two",
        "SP2": "Segunda División",
        "T1": "Süper Lig",
        "X9": "X9",
    }
