"""The query reads DynamoDB's attributes without boto3: every type as boto3's TypeDeserializer reads it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from services.query.repository import _plain

pytestmark = pytest.mark.unit

ITEM = {
    "pk": {"S": "ODDS#E0#20250526T060000Z"},
    "schema": {"N": "2"},
    "odds": {"B": b"x\x9c\x03\x00\x00\x00\x00\x01"},
    "fitted": {"BOOL": True},
    "gone": {"NULL": True},
    "p": {"N": "0.123456"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "teams": {"L": [{"M": {"code": {"S": "ARS"}, "name": {"S": "Arsenal"}}}, {"N": "-1E+2"}]},
    "codes": {"SS": ["ARS", "CHE"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"a", b"b"]},
}


def test_every_attribute_type_reads_as_boto3_reads_it() -> None:
    ours = _plain(ITEM)
    theirs = {name: TypeDeserializer().deserialize(value) for name, value in ITEM.items()}
    assert ours == theirs
    assert isinstance(ours["p"], Decimal) and isinstance(ours["odds"], bytes)
