"""The stored odds item (matchodds.core.items, layout 2): one read unit, the served numbers unchanged, layout 1
still read."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from matchodds.core.grid import PredictionDraws, all_fixtures
from matchodds.core.items import (
    ODDS_ATTRIBUTE,
    ODDS_SCHEMA,
    ODDS_SCHEMA_ATTRIBUTE,
    SORT_KEY,
    item_size,
    odds_from_item,
    odds_item,
)
from matchodds.core.keys import ContractError
from matchodds.core.markets import (
    ASIAN_HANDICAP_QUARTERS,
    CORRECT_SCORE_MAX_GOALS,
    LIKELIEST_SCORES,
    MARKETS_FIELD,
    OVER_UNDER_LINES,
    goals_label,
    handicap_label,
)
from matchodds.core.posterior import Posterior
from services.precompute.pipeline import fixture_fields
from tests.odds_layout_v1 import odds_item_v1

pytestmark = pytest.mark.unit
READ_UNIT_BYTES = 4096  # one strongly consistent read unit covers an item of up to 4 KB
VERSION = "20250526T060000Z"
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def through_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """An item as a reader gets it back: serialised for the wire, then deserialised by boto3."""
    return {name: _deserializer.deserialize(_serializer.serialize(value)) for name, value in item.items()}


def pairings(posterior: Posterior) -> Iterator[tuple[str, str, dict[str, Any]]]:
    codes = posterior.team_codes
    for fixture in all_fixtures(PredictionDraws.from_posterior(posterior), markets=True):
        yield codes[fixture.home], codes[fixture.away], fixture_fields(fixture)


def test_every_pairing_reads_back_exactly_as_from_layout_1(make_posterior: Callable[..., Posterior]) -> None:
    """Same keys, same order, same numbers and the same types (a market's whole 0 or 1 an int, as before)."""
    for home, away, fields in pairings(make_posterior(spread=0.3)):
        new = odds_from_item(through_dynamodb(odds_item("E0", VERSION, home, away, fields)))
        old = odds_from_item(through_dynamodb(odds_item_v1("E0", VERSION, home, away, fields)))
        assert json.dumps(new) == json.dumps(old)
        assert (new["home"], new["away"]) == (home, away)


def test_whole_numbers_keep_their_type_and_tiny_ones_their_digits(make_posterior: Callable[..., Posterior]) -> None:
    home, away, fields = next(pairings(make_posterior()))
    markets = fields[MARKETS_FIELD]
    markets["btts"], markets["over"]["0.5"], markets["correct_score"][-1] = 1.0, 0.99999999, 1.234567891e-9
    fields["odds_home"] = 123.4567891
    for layout in (odds_item, odds_item_v1):
        back = odds_from_item(through_dynamodb(layout("E0", VERSION, home, away, fields)))
        assert back[MARKETS_FIELD]["btts"] == 1 and isinstance(back[MARKETS_FIELD]["btts"], int)
        assert back[MARKETS_FIELD]["over"]["0.5"] == 1 and isinstance(back[MARKETS_FIELD]["over"]["0.5"], int)
        assert back[MARKETS_FIELD]["correct_score"][-1] == 1.23457e-9
        assert back["odds_home"] == 123.456789


def test_the_item_is_its_keys_a_schema_version_and_one_binary_attribute(
    make_posterior: Callable[..., Posterior],
) -> None:
    home, away, fields = next(pairings(make_posterior()))
    item = odds_item("E0", VERSION, home, away, fields)
    assert set(item) == {"pk", SORT_KEY, ODDS_SCHEMA_ATTRIBUTE, ODDS_ATTRIBUTE}
    assert item[ODDS_SCHEMA_ATTRIBUTE] == ODDS_SCHEMA and isinstance(item[ODDS_ATTRIBUTE], bytes)
    assert set(_serializer.serialize(item[ODDS_ATTRIBUTE])) == {"B"}


def worst_case_fields(rng: random.Random) -> dict[str, Any]:
    """Every number as long as stored numbers get (six random significant digits and an exponent), so that
    compression finds as little to share as real odds would ever leave it."""

    def number() -> float:
        return float(f"{rng.uniform(1, 9.99999):.5f}e-{rng.randint(5, 9)}")

    markets = {
        "intervals": {outcome: [number(), number()] for outcome in ("home", "draw", "away")},
        "over": {goals_label(line): number() for line in OVER_UNDER_LINES},
        "btts": number(),
        "double_chance": {name: number() for name in ("home_draw", "home_away", "draw_away")},
        "draw_no_bet": {"home": number(), "away": number()},
        "asian_handicap": {handicap_label(q): [number() for _ in range(5)] for q in ASIAN_HANDICAP_QUARTERS},
        "correct_score": [number() for _ in range((CORRECT_SCORE_MAX_GOALS + 1) ** 2)],
        "likeliest": [{"score": f"{rng.randint(10, 99)}-{rng.randint(10, 99)}", "p": number()}] * LIKELIEST_SCORES,
    }
    served = {name: rng.uniform(1000, 9999.999999) for name in ("odds_home", "odds_draw", "odds_away")}
    served |= {name: number() for name in ("p_home", "p_draw", "p_away", "xg_home", "xg_away", "likely_score_p")}
    return {**served, "likely_score": "99-99", MARKETS_FIELD: markets}


def test_even_a_worst_case_item_is_one_read_unit() -> None:
    rng = random.Random(0)
    for _ in range(50):
        item = odds_item("SC0", VERSION, "AAA", "ZZZ", worst_case_fields(rng))
        assert item_size({**item, "expires_at": 2_000_000_000}) <= READ_UNIT_BYTES


def test_a_real_posteriors_items_are_a_fraction_of_a_read_unit(make_posterior: Callable[..., Posterior]) -> None:
    for home, away, fields in pairings(make_posterior(spread=0.3)):
        new, old = odds_item("E0", VERSION, home, away, fields), odds_item_v1("E0", VERSION, home, away, fields)
        assert item_size(new) < min(item_size(old), READ_UNIT_BYTES // 3)


def test_item_size_counts_as_dynamodb_does() -> None:
    # Names and values: a string its UTF-8 bytes, a number 1 byte per two significant digits plus 1, binary its
    # raw bytes, a map or list 3 bytes plus 1 per element.
    assert item_size({"pk": "ab", "né": "é"}) == 2 + 2 + 3 + 2
    assert item_size({"n": Decimal("0.123457"), "m": 100, "b": b"\x00" * 10}) == 1 + 4 + 1 + 2 + 1 + 10
    assert item_size({"m": {"k": [1, "x"]}}) == 1 + 3 + (1 + (3 + 2 + 1 + 1 + 1) + 1)


def test_layout_1_items_without_markets_still_read() -> None:
    fields = {"p_home": 0.5, "p_draw": 0.3, "p_away": 0.2, "odds_home": 2.0, "odds_draw": 3.33, "odds_away": 5.0}
    fields |= {"xg_home": 1.5, "xg_away": 1.0, "likely_score": "1-0", "likely_score_p": 0.12}
    for layout in (odds_item, odds_item_v1):
        odds = odds_from_item(through_dynamodb(layout("E0", VERSION, "ARS", "CHE", fields)))
        assert odds == {"home": "ARS", "away": "CHE", **fields, MARKETS_FIELD: None}


def test_an_unknown_layout_or_a_number_that_is_not_finite_is_a_contract_error(
    make_posterior: Callable[..., Posterior],
) -> None:
    home, away, fields = next(pairings(make_posterior()))
    item = odds_item("E0", VERSION, home, away, fields)
    with pytest.raises(ContractError, match=r"layout 3; this reader knows 1 and 2"):
        odds_from_item({**item, ODDS_SCHEMA_ATTRIBUTE: Decimal(3)})
    fields[MARKETS_FIELD]["btts"] = float("nan")
    with pytest.raises(ContractError, match=f"odds for {home} v {away} hold a number that is not finite"):
        odds_item("E0", VERSION, home, away, fields)
