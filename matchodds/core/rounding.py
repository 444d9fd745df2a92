"""The stored digits of many odds items' market numbers at once, with numpy: what matchodds.core.items rounds
one number at a time (stored_number), for precompute's batches of items. Apart from items.py, which the query
and pricing Lambdas import and which has no numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from matchodds.core.items import stored_number
from matchodds.core.markets import STORED_DIGITS

# The powers of ten that are exact floats (made from ints, not by pow). A float times one of them is within half
# a unit in the last place of the exact product, below 6e-11 for products below 10^6, so a product whose fraction
# is farther than _HALF_MARGIN from a half rounds to the same integer as the exact product would.
_POWERS_OF_TEN = np.array([float(10**places) for places in range(23)])
_HALF_MARGIN = 1e-9


def stored_numbers(values: np.ndarray) -> list[Any]:
    """Every number of `values` as stored_number keeps it, at once: `values.tolist()` of the stored numbers.

    Each number's STORED_DIGITS significant digits are the integer nearest to it times 10^places, its places
    from its decimal exponent; that integer divided by 10^places (exact up to 10^22) is the very float that
    Python reads back from those digits. Where the product's rounding could decide the last digit (a half
    within 1e-9), the exponent was misjudged (the integer is not STORED_DIGITS digits), or the number is
    not finite, outside 1e-17..1e6 or 0, the number is formatted by stored_number (a few in a million).
    """
    numbers = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # log10(0), inf - inf: those numbers are not fast
        places = (STORED_DIGITS - 1) - np.floor(np.log10(np.abs(numbers)))
        fast = np.isfinite(places) & (places >= 0) & (places < len(_POWERS_OF_TEN))
        scale = _POWERS_OF_TEN[np.where(fast, places, 0.0).astype(np.intp)]
        scaled = numbers * scale
        digits = np.rint(scaled)
        whole_digits = np.abs(digits)
        fast &= (whole_digits >= 10 ** (STORED_DIGITS - 1)) & (whole_digits < 10**STORED_DIGITS)
        fast &= np.abs(np.abs(scaled - digits) - 0.5) > _HALF_MARGIN
    rounded = digits / scale
    zero = numbers == 0  # "0" or "-0": the int 0
    rounded[zero] = 0.0
    fast |= zero
    whole = fast & (rounded == np.trunc(rounded))  # below 1e6: written without an exponent, read as an int
    stored = rounded.astype(object)
    stored[whole] = rounded[whole].astype(np.int64).astype(object)
    for position in np.flatnonzero(~fast):
        stored.flat[position] = stored_number(float(numbers.flat[position]))
    result: list[Any] = stored.tolist()
    return result
