"""Which competitions one deployment serves: the stack's `competitions` config, read in one place.

The fit fans out to each of them and the query function is told the same list, so both read it
through `served_competitions`, and a bad code stops `pulumi preview` with its name instead of
reaching an S3 prefix or an IAM grant.
"""

from __future__ import annotations

from typing import Any

import pulumi

from matchodds.core.keys import COMPETITION_RE, DEFAULT_COMPETITIONS  # the five leagues whose seasons ship

__all__ = ["DEFAULT_COMPETITIONS", "served_competitions"]
COMPETITIONS_KEY = "competitions"
# Before issue 20 a stack served one competition; a stack that still sets only this key keeps it.
LEGACY_COMPETITION_KEY = "competition"


def served_competitions(config: pulumi.Config) -> list[str]:
    """The division codes this stack serves, in config order: `competitions`, else `competition`, else the five."""
    listed: Any = config.get_object(COMPETITIONS_KEY)
    single = config.get(LEGACY_COMPETITION_KEY)
    if listed is not None and single is not None:
        raise ValueError(
            f"set {COMPETITIONS_KEY!r} or the older {LEGACY_COMPETITION_KEY!r}, not both: "
            f"`pulumi config rm {LEGACY_COMPETITION_KEY}` and list {single!r} in {COMPETITIONS_KEY!r}"
        )
    if listed is None:
        listed = [single] if single is not None else list(DEFAULT_COMPETITIONS)
    if not isinstance(listed, list) or not listed:
        raise ValueError(f"{COMPETITIONS_KEY} {listed!r} is not a non-empty list of competition codes such as E0")
    for code in listed:
        if not isinstance(code, str) or not COMPETITION_RE.match(code):
            raise ValueError(f"competition {code!r} is not a competition code such as E0 or SP1")
    duplicates = sorted({code for code in listed if listed.count(code) > 1})
    if duplicates:
        raise ValueError(f"{COMPETITIONS_KEY} lists {', '.join(duplicates)} more than once")
    return list(listed)
