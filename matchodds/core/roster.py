"""Which teams a competition's odds are served for: the season in play, never fewer than its league.

A results file knows only the teams that have played. After the opening match of a season it holds
two, and a fit that predicted "the teams of the newest season" published odds for those two alone:
every other fixture of the league became a 404. So the roster is the season's teams as
far as anything shows them, and, until the season has shown as many teams as the league had last
season, last season's teams as well: a relegated club stays priceable for a few days rather than a
promoted one going missing. Leagues also shrink (EPL 1995-96 went from 22 teams to 20, Ligue 1
2023-24 from 20 to 18), so last season's teams go once three of its rounds' worth of matches have
been played without them. An uploaded fixtures file names the season's teams before they play.

A fixtures file is anyone's upload, so it never changes a league its results already show (one
row naming Tamworth put a 21st club into a finished Premier League season; a 32-tie cup round filed under
E0 made a roster of 74). Once the season's results show the whole league (as many teams as last season's
league, or any at all when no earlier season is known, or SHOWN_AFTER_ROUNDS of its rounds played), the
roster is the results' teams alone: a team only a fixtures file names is never fitted nor listed, and
pricing prices its fixtures as an unknown team's. Before then fixtures may name the season's teams, but
never more than the league holds: the teams the results show first, then those the fixtures name most
often, last season's before others; the rest are left out with a warning that names them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from matchodds.core.results import Fixture, Match, season_of

# Where the teams came from, as the posterior's metadata records it.
FROM_RESULTS = "results"  # the season's results show the whole league
FROM_FIXTURES = "fixtures"  # the season's fixtures (and results) show the whole league
WITH_PREVIOUS = "with previous season"  # the season has not shown every team yet: last season's teams kept
# A club of last season's league not seen after this many of its rounds is gone (relegated, or the
# league shrank). A club starting late (E0 2020-21: four began a week after the rest) is seen by then.
SHOWN_AFTER_ROUNDS = 3

# Left-out teams named in the warning and the posterior's metadata; a cup round leaves out dozens.
LISTED_LEFT_OUT = 20

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Roster:
    """The teams to predict for one competition's season, and what named them."""

    season: str
    teams: tuple[str, ...]
    source: str
    league_size: int | None  # teams in the season before, when the data hold it
    # Teams a fixtures file of the season names that the roster leaves out (its league is full without
    # them): priced as unknown teams, never fitted.
    left_out: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        """The roster as the posterior's metadata keeps it."""
        described: dict[str, object] = {
            "season": self.season,
            "teams": len(self.teams),
            "source": self.source,
            "league_size": self.league_size,
        }
        if self.left_out:  # the first few, for whoever wonders why a fixture was priced as an unknown team's
            described["left_out"] = list(self.left_out[:LISTED_LEFT_OUT])
        return described


def season_roster(matches: Sequence[Match], fixtures: Sequence[Fixture] = ()) -> Roster:
    """The teams of the season in play: the newest season that results or fixtures reach.

    Fixtures of a season after the newest results name a new season (its promoted teams included);
    fixtures of an older season are ignored. A team only fixtures name joins only while the season's
    results do not show the whole league, and only up to the league's size (see the module's doc). While
    the teams seen are fewer than last season's league, and fewer than SHOWN_AFTER_ROUNDS of its rounds
    have been played, last season's teams are kept beside them.
    """
    if not matches and not fixtures:
        raise ValueError("no matches or fixtures to take a roster from")
    by_season: dict[str, set[str]] = {}
    played: dict[str, int] = {}
    for match in matches:
        by_season.setdefault(match.season, set()).update((match.home, match.away))
        played[match.season] = played.get(match.season, 0) + 1
    newest_results = max(by_season) if by_season else None
    fixture_seasons: dict[str, Counter[str]] = {}
    for fixture in fixtures:
        if fixture.date is None:  # a plain home,away row names no season
            continue
        fixture_seasons.setdefault(season_of(fixture.date), Counter()).update((fixture.home, fixture.away))
    season = max(s for s in (newest_results, *fixture_seasons) if s is not None)
    shown = by_season.get(season, set())
    earlier = [s for s in by_season if s < season]
    previous = by_season[max(earlier)] if earlier else None
    league_size = len(previous) if previous is not None else None
    early = played.get(season, 0) < SHOWN_AFTER_ROUNDS * len(previous or ()) / 2
    named = fixture_seasons.get(season, Counter())
    # Without an earlier season, the results' teams are the league once there are any.
    whole_league = bool(shown) if previous is None else len(shown) >= len(previous) or not early
    if whole_league:
        left_out = sorted(set(named) - shown)
        joined: set[str] = set()
    else:
        # The teams named most often first (a league's club has a season of fixtures, a cup opponent or a
        # typo one or two), then last season's clubs (of the league), then by code, for one answer.
        newcomers = sorted(set(named) - shown, key=lambda team: (-named[team], team not in (previous or ()), team))
        room = len(newcomers) if league_size is None else max(league_size - len(shown), 0)
        joined, left_out = set(newcomers[:room]), sorted(newcomers[room:])
    if left_out:
        logger.warning(
            "%d team(s) named only by %s fixtures left out of the roster, the league being %s: %s "
            "(their fixtures are priced as unknown teams)",
            len(left_out),
            season,
            f"shown by its results ({len(shown)} teams)" if whole_league else f"{league_size} teams",
            ", ".join(left_out[:LISTED_LEFT_OUT])
            + (f" and {len(left_out) - LISTED_LEFT_OUT} more" if len(left_out) > LISTED_LEFT_OUT else ""),
        )
    seen = shown | joined
    if previous is not None and len(seen) < len(previous) and early:
        return Roster(season, tuple(sorted(seen | previous)), WITH_PREVIOUS, league_size, tuple(left_out))
    source = FROM_FIXTURES if joined else FROM_RESULTS
    return Roster(season, tuple(sorted(seen)), source, league_size, tuple(left_out))
