"""The markets every fixture carries, as stored and served: lines, handicaps, score grid size, labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


# The markets of a pairing, one map attribute beside ODDS_FIELDS (items written before markets
# existed lack it; readers then serve the 1X2 numbers alone). Probabilities only: fair prices are
# derived on the way out by fair_price and handicap_price, so the item stays small (about 3 KB).
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


