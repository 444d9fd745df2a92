"""The odds table's own (de)serialiser, which keeps boto3 out of the query's cold start, against boto3's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from adapters.odds_table import RetryPolicy, plain, stored

pytestmark = pytest.mark.unit

PLAIN: dict[str, Any] = {
    "pk": "ODDS#E0#20250526T060000Z",
    "schema": 2,
    "odds": b"x\x9c\x03\x00",
    "fitted": True,
    "gone": None,
    "p": Decimal("0.123456"),
    "big": Decimal("12345678901234567890123456789012345678"),
    "teams": [{"code": "ARS", "name": "Arsenal"}, Decimal("-1E+2")],
    "codes": {"ARS", "CHE"},
    "numbers": {Decimal("1"), Decimal("2.5")},
}


def test_items_are_stored_as_boto3_stores_them_and_read_back() -> None:
    ours = stored(PLAIN)
    theirs = {name: TypeSerializer().serialize(value) for name, value in PLAIN.items()}
    assert {name: value for name, value in ours.items() if name not in ("codes", "numbers")} == {
        name: value for name, value in theirs.items() if name not in ("codes", "numbers")
    }
    for name in ("codes", "numbers"):  # sets: the same members in any order
        assert {kind: sorted(entries) for kind, entries in ours[name].items()} == {
            kind: sorted(entries) for kind, entries in theirs[name].items()
        }
    assert plain(ours) == {**PLAIN, "schema": Decimal(2)}
    assert plain(ours) == {name: TypeDeserializer().deserialize(value) for name, value in ours.items()}


def test_a_float_or_an_inexact_number_is_refused_as_boto3_refuses_it() -> None:
    with pytest.raises(TypeError):
        stored({"p": 0.5})
    with pytest.raises(ArithmeticError):
        stored({"p": Decimal("1." + "1" * 40)})


def test_the_retry_policy_doubles_its_pauses_up_to_its_cap() -> None:
    pauses: list[float] = []
    policy = RetryPolicy(sleep=pauses.append)
    for attempt in range(policy.attempts):
        policy.pause(attempt)
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
