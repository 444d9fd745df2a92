"""Codes validated whole and in ASCII: no trailing newline, no Unicode digit, no letter upper-casing into one."""

from __future__ import annotations

import re

import pytest

from matchodds.core.keys import (
    COMPETITION_RE,
    TEAM_CODE_RE,
    VERSION_RE,
    ContractError,
    export_key,
    parse_posterior_key,
    posterior_key,
)
from services.query.protocol import ascii_code

pytestmark = pytest.mark.unit
VERSION = "20250526T060000Z"


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (COMPETITION_RE, "SP1", ["E0\n", "SP1\n", "E0\r", "\nE0"]),
        (TEAM_CODE_RE, "ARS", ["ARS\n", "AR\n", "ARS\r\n"]),
        (VERSION_RE, VERSION, [VERSION + "\n", "٢٠٢٥٠٥٢٦T060000Z", "20250526T06000٠Z"]),
    ],
)
def test_a_code_matches_whole_and_in_ascii(pattern: re.Pattern[str], good: str, bad: list[str]) -> None:
    assert pattern.match(good)
    assert [text for text in bad if pattern.match(text)] == []


@pytest.mark.parametrize("competition", ["E0\n", "E0\r"])
def test_keys_refuse_a_competition_with_a_line_break(competition: str) -> None:
    with pytest.raises(ContractError):
        posterior_key(competition, VERSION)
    with pytest.raises(ContractError):
        export_key(competition, VERSION, "csv")
    with pytest.raises(ContractError):
        export_key("E0", VERSION + "\n", "csv")


def test_a_posterior_key_with_a_trailing_newline_is_not_a_posterior() -> None:
    assert parse_posterior_key(f"posteriors/E0/{VERSION}.npz") == ("E0", VERSION)
    assert parse_posterior_key(f"posteriors/E0/{VERSION}.npz\n") is None
    assert parse_posterior_key(f"posteriors/E0\n/{VERSION}.npz") is None


@pytest.mark.parametrize(
    ("text", "pattern", "code"),
    [
        ("ars", TEAM_CODE_RE, "ARS"),
        ("e0", COMPETITION_RE, "E0"),
        ("ıps", TEAM_CODE_RE, None),  # dotless i: "ıps".upper() == "IPS"
        ("aß", TEAM_CODE_RE, None),  # "aß".upper() == "ASS"
        ("ß", COMPETITION_RE, None),  # "ß".upper() == "SS"
        ("ﬀa", TEAM_CODE_RE, None),  # the ligature: "ﬀa".upper() == "FFA"
        ("ars\n", TEAM_CODE_RE, None),
        ("e0\n", COMPETITION_RE, None),
    ],
)
def test_only_ascii_text_is_upper_cased_into_a_code(text: str, pattern: re.Pattern[str], code: str | None) -> None:
    assert ascii_code(text, pattern) == code
