"""The markets every fixture carries, as stored and served: lines, handicaps, score grid size, labels, and the
order of a pairing's market numbers, which matchodds.core.grid.market_numbers writes and market_map reads."""

from __future__ import annotations

from itertools import accumulate
from typing import Any, Protocol


class LikeliestScores(Protocol):
    """What market_map reads of a pairing's computed markets (matchodds.core.grid.FixtureMarkets, which is numpy's:
    the query reads this module without numpy)."""

    @property
    def likeliest(self) -> tuple[tuple[tuple[int, int], float], ...]: ...


# The markets of a pairing, as market_map gives them (in a layout-2 item they travel inside the one
# compressed `odds` document, in a layout-1 item as a map attribute beside ODDS_FIELDS; items written
# before markets existed lack them, and readers then serve the 1X2 numbers alone). Probabilities only:
# fair prices are derived on the way out by fair_price and handicap_price.
#   intervals       {"home"|"draw"|"away": [low, high]}, the CREDIBLE_MASS interval over the draws
#   over            {"0.5": P(total goals > 0.5), ...} for OVER_UNDER_LINES
#   btts            P(both teams score)
#   double_chance   {"home_draw", "home_away", "draw_away"}: P of either outcome
#   draw_no_bet     {"home", "away"}: P(that side wins | no draw)
#   asian_handicap  {"-2.5": [win, half_win, push, half_loss, loss], ...}: the HOME side at each line
#                   (the home team's handicap, ASIAN_HANDICAP_QUARTERS); the away side is its mirror
#   correct_score   P of each score 0..CORRECT_SCORE_MAX_GOALS a side, row-major by home goals
#   likeliest       [{"score": "1-1", "p": ...}, ...], the LIKELIEST_SCORES likeliest scores
MARKETS_FIELD = "markets"
MARKET_KEYS = (
    "intervals",
    "over",
    "btts",
    "double_chance",
    "draw_no_bet",
    "asian_handicap",
    "correct_score",
    "likeliest",
)
OVER_UNDER_LINES = (0.5, 1.5, 2.5, 3.5, 4.5)
ASIAN_HANDICAP_QUARTERS = tuple(range(-10, 11))  # home handicaps -2.5 ... +2.5 in quarter goals
HANDICAP_OUTCOMES = ("win", "half_win", "push", "half_loss", "loss")
CORRECT_SCORE_MAX_GOALS = 6
LIKELIEST_SCORES = 10
CREDIBLE_MASS = 0.9
OUTCOMES = ("home", "draw", "away")
DOUBLE_CHANCE = ("home_draw", "home_away", "draw_away")
PRICE_PLACES = 6
STORED_DIGITS = 6  # significant digits of stored market numbers: a 1e-9 score keeps its price


def goals_label(line: float) -> str:
    """An over/under line as a key: 2.5 -> "2.5"."""
    return f"{line:g}"


def handicap_label(quarters: int) -> str:
    """A home handicap in quarter goals as a key: -3 -> "-0.75", 0 -> "0", 2 -> "+0.5"."""
    return "0" if quarters == 0 else f"{quarters / 4:+g}"


# Where each market's numbers are in a row of market_numbers, in the contract's order (MARKET_KEYS).
MARKET_WIDTHS = {
    "intervals": 2 * len(OUTCOMES),
    "over": len(OVER_UNDER_LINES),
    "btts": 1,
    "double_chance": len(DOUBLE_CHANCE),
    "draw_no_bet": 2,
    "asian_handicap": len(ASIAN_HANDICAP_QUARTERS) * len(HANDICAP_OUTCOMES),
    "correct_score": (CORRECT_SCORE_MAX_GOALS + 1) ** 2,
    "likeliest": LIKELIEST_SCORES,
}
MARKET_ENDS = dict(zip(MARKET_WIDTHS, accumulate(MARKET_WIDTHS.values()), strict=True))
_OVER_LABELS = tuple(map(goals_label, OVER_UNDER_LINES))
_HANDICAP_LABELS = tuple(map(handicap_label, ASIAN_HANDICAP_QUARTERS))


def market_map(numbers: list[Any], markets: LikeliestScores) -> dict[str, Any]:
    """The contract's markets map of one pairing from its row of market_numbers (rounded or not) and its markets'
    likeliest scores."""
    start = 0
    part: dict[str, list[Any]] = {}
    for key, end in MARKET_ENDS.items():
        part[key] = numbers[start:end]
        start = end
    intervals, handicap = part["intervals"], part["asian_handicap"]
    outcomes = len(HANDICAP_OUTCOMES)
    return {
        "intervals": {outcome: intervals[2 * at : 2 * at + 2] for at, outcome in enumerate(OUTCOMES)},
        "over": dict(zip(_OVER_LABELS, part["over"], strict=True)),
        "btts": part["btts"][0],
        "double_chance": dict(zip(DOUBLE_CHANCE, part["double_chance"], strict=True)),
        "draw_no_bet": dict(zip(("home", "away"), part["draw_no_bet"], strict=True)),
        "asian_handicap": {
            label: handicap[at * outcomes : (at + 1) * outcomes] for at, label in enumerate(_HANDICAP_LABELS)
        },
        "correct_score": part["correct_score"],
        "likeliest": [
            {"score": f"{home}-{away}", "p": p}
            for ((home, away), _), p in zip(markets.likeliest, part["likeliest"], strict=True)
        ],
    }
