"""The odds item as precompute wrote it before layout 2 (matchodds.core.items, ODDS_SCHEMA): every served
field an attribute and the markets a nested map. Kept here, as written then, to show that readers still
take a version stored so and serve it unchanged; nothing writes it any more."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from matchodds.core.items import ODDS_FIELDS, odds_key, to_dynamo_number
from matchodds.core.markets import MARKET_KEYS, MARKETS_FIELD, STORED_DIGITS


def odds_item_v1(competition: str, version: str, home: str, away: str, odds: dict[str, Any]) -> dict[str, Any]:
    """The stored item of one ordered pairing in layout 1 (the writer before 2026-12, verbatim less its checks)."""
    item: dict[str, Any] = {**odds_key(competition, version, home, away), "home": home, "away": away}
    for name in ODDS_FIELDS:
        value = odds[name]
        item[name] = value if isinstance(value, str) else to_dynamo_number(value)
    markets = odds.get(MARKETS_FIELD)
    if markets is not None:
        item[MARKETS_FIELD] = _to_dynamo_tree({key: markets[key] for key in MARKET_KEYS})
    return item


def _to_dynamo_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _to_dynamo_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo_tree(item) for item in value]
    if isinstance(value, str):
        return value
    return Decimal(f"{float(value):.{STORED_DIGITS}g}")
