"""What the query reads, without I/O: DynamoDB's attributes as boto3 reads them, only the attributes the odds need,
and the served texts it keeps bounded by their size."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from adapters.odds_table import plain as _plain
from matchodds.core.items import EXPIRES_ATTRIBUTE, ODDS_READ_ATTRIBUTES, PARTITION_KEY, odds_from_item, odds_item
from matchodds.core.posterior import Posterior
from services.query.repository import TextCache
from tests.odds_layout_v1 import odds_item_v1
from tests.unit.test_odds_layout import VERSION, pairings, through_dynamodb

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


def test_the_attributes_read_are_all_that_either_layout_needs(make_posterior: Callable[..., Posterior]) -> None:
    """A ProjectionExpression of ODDS_READ_ATTRIBUTES leaves out only the keys' partition and the expiry."""
    for home, away, fields in list(pairings(make_posterior()))[:3]:
        for layout in (odds_item, odds_item_v1):
            item = through_dynamodb({**layout("E0", VERSION, home, away, fields), EXPIRES_ATTRIBUTE: 2_000_000_000})
            assert set(item) - set(ODDS_READ_ATTRIBUTES) <= {PARTITION_KEY, EXPIRES_ATTRIBUTE}
            projected = {name: value for name, value in item.items() if name in ODDS_READ_ATTRIBUTES}
            assert odds_from_item(projected) == odds_from_item(item)


def test_the_kept_texts_drop_the_least_recently_used_past_their_bound() -> None:
    texts = TextCache(max_chars=25)
    for away in ("AAA", "BBB", "CCC"):
        texts.put(("E0", "v1", "ARS", away), "x" * 10)
    assert len(texts) == 2 and texts.chars == 20 and texts.get(("E0", "v1", "ARS", "AAA")) is None
    assert texts.get(("E0", "v1", "ARS", "BBB")) == "x" * 10  # used: CCC is now the least recent
    texts.put(("E0", "v2", "ARS", "BBB"), "y" * 10)
    assert texts.get(("E0", "v1", "ARS", "CCC")) is None and texts.get(("E0", "v2", "ARS", "BBB")) == "y" * 10
    texts.put(("E0", "v2", "ARS", "BBB"), "z" * 5)  # a key kept again counts once
    assert texts.chars == 15 and len(texts) == 2
