"""Precompute's items are the ones it wrote before their markets were rounded all at once (stored_numbers):
the same text, so the same digits, types, keys and key order for every reader."""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from matchodds.core.grid import PredictionDraws, all_fixtures
from matchodds.core.items import ODDS_ATTRIBUTE, SORT_KEY, odds_item
from matchodds.core.markets import STORED_DIGITS
from matchodds.core.posterior import Posterior
from matchodds.core.rounding import stored_numbers
from services.precompute.pipeline import fixture_fields, odds_items

pytestmark = pytest.mark.unit
# The decompressed items of pinned_posterior as the writer made them before stored_numbers (one JSON line per
# item: its sort key and its text). A change to what is served, on purpose, rewrites this file.
PINNED_ITEMS = Path(__file__).parents[1] / "data" / "items" / "golden.jsonl"


def pinned_posterior(make_posterior: Callable[..., Posterior]) -> Posterior:
    """Four teams far apart (scores of 1e-6 and less), wide draws, with Dixon-Coles' rho, as the served model."""
    posterior = make_posterior(
        codes=("ARS", "CHE", "LIV", "MCI"), attack=[-1.0, 0.0, 0.4, 1.0], spread=0.35, draws=100, seed=22
    )
    rho = np.random.default_rng(22).normal(-0.05, 0.03, posterior.draws["intercept"].shape).astype(np.float32)
    return replace(posterior, draws={**posterior.draws, "rho": rho})


def item_texts(items: list[dict]) -> list[dict[str, str]]:
    return [{"sk": item[SORT_KEY], "odds": zlib.decompress(item[ODDS_ATTRIBUTE]).decode("ascii")} for item in items]


def test_items_are_the_pinned_text(make_posterior: Callable[..., Posterior]) -> None:
    pinned = [json.loads(line) for line in PINNED_ITEMS.read_text().splitlines()]
    assert item_texts(list(odds_items(pinned_posterior(make_posterior)))) == pinned


def test_items_are_those_rounded_number_by_number(make_posterior: Callable[..., Posterior]) -> None:
    """odds_items (a batch's markets rounded at once) against odds_item rounding each number of fixture_fields."""
    for spread in (0.05, 0.35):
        posterior = make_posterior(codes=tuple(f"T{index:02d}" for index in range(8)), spread=spread, draws=200)
        fixtures = list(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))
        codes = posterior.team_codes
        one_by_one = [
            odds_item(posterior.competition, posterior.version, codes[f.home], codes[f.away], fixture_fields(f))
            for f in fixtures
        ]
        assert list(odds_items(posterior, fixtures)) == one_by_one


def formatted(value: float) -> int | float:
    """A reader of layout 1's number: STORED_DIGITS significant digits as text, an int when whole."""
    text = f"{value:.{STORED_DIGITS}g}"
    return int(text) if text.lstrip("-").isdigit() else float(text)


def test_stored_numbers_are_the_formatted_digits() -> None:
    rng = np.random.default_rng(22)
    magnitudes = 10.0 ** rng.uniform(-20, 8, 20_000)
    signs = rng.choice([-1.0, 1.0], magnitudes.size)
    # halves of the last digit in decimal, most of them a float a hair either side of it; the next power's edge
    halves = [float(f"{digits}5e{power}") for digits in (100000, 123456, 999999, 500000) for power in range(-24, 1)]
    edges = [float(f"{nines}e{power}") for nines in ("9.999995", "9.9999949999", "9.99999") for power in (-5, -1, 5)]
    special = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-17, 1e-18, 2.5e-6, 999999.4, 999999.5, 1e6, 123456.0, 1e22]
    special += [math.inf, -math.inf, math.nan, 0.1 + 0.2, 1 / 3, 2 / 3, 5e-324]
    numbers = np.concatenate([signs * magnitudes, halves, edges, special, rng.uniform(0, 1, 20_000)])
    assert stored_numbers(np.array([[0.25, 1.0], [0.0, 1e-5]])) == [[0.25, 1], [0, 1e-05]]  # the shape kept
    for value, kept in zip(numbers.tolist(), stored_numbers(numbers), strict=True):
        expected = formatted(value)
        assert type(kept) is type(expected) and repr(kept) == repr(expected), value
