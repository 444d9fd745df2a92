"""Which teams a competition's odds are served for: the season in play, never fewer than its league.

A results file knows only the teams that have played. After the opening match of a season it holds
two, and a fit that predicted "the teams of the newest season" published odds for those two alone:
every other fixture of the league became a 404 (issue 18). So the roster is the season's teams as
far as anything shows them, and, until the season has shown as many teams as the league had last
season, last season's teams as well: a relegated club stays priceable for a few days rather than a
promoted one going missing. Leagues also shrink (EPL 1995-96 went from 22 teams to 20, Ligue 1
2023-24 from 20 to 18), so last season's teams go once three of its rounds' worth of matches have
been played without them. An uploaded fixtures file names the season's teams before they play.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Roster:
    """The teams to predict for one competition's season, and what named them."""

    season: str
    teams: tuple[str, ...]
    source: str
    league_size: int | None  # teams in the season before, when the data hold it

    def describe(self) -> dict[str, object]:
        """The roster as the posterior's metadata keeps it."""
        return {"season": self.season, "teams": len(self.teams), "source": self.source, "league_size": self.league_size}


def season_roster(matches: Sequence[Match], fixtures: Sequence[Fixture] = ()) -> Roster:
    """The teams of the season in play: the newest season that results or fixtures reach.

    Fixtures of a season after the newest results name a new season (its promoted teams included);
    fixtures of an older season are ignored. While the teams seen are fewer than last season's
    league, and fewer than SHOWN_AFTER_ROUNDS of its rounds have been played, last season's teams
    are kept beside them.
    """
    if not matches and not fixtures:
        raise ValueError("no matches or fixtures to take a roster from")
    by_season: dict[str, set[str]] = {}
    played: dict[str, int] = {}
    for match in matches:
        by_season.setdefault(match.season, set()).update((match.home, match.away))
        played[match.season] = played.get(match.season, 0) + 1
    newest_results = max(by_season) if by_season else None
    fixture_seasons: dict[str, set[str]] = {}
    for fixture in fixtures:
        if fixture.date is None:  # a plain home,away row names no season
            continue
        fixture_seasons.setdefault(season_of(fixture.date), set()).update((fixture.home, fixture.away))
    season = max(s for s in (newest_results, *fixture_seasons) if s is not None)
    from_fixtures = fixture_seasons.get(season, set())
    seen = by_season.get(season, set()) | from_fixtures
    earlier = [s for s in by_season if s < season]
    previous = by_season[max(earlier)] if earlier else None
    source = FROM_FIXTURES if from_fixtures else FROM_RESULTS
    early = played.get(season, 0) < SHOWN_AFTER_ROUNDS * len(previous or ()) / 2
    if previous is not None and len(seen) < len(previous) and early:
        return Roster(season, tuple(sorted(seen | previous)), WITH_PREVIOUS, len(previous))
    return Roster(season, tuple(sorted(seen)), source, len(previous) if previous is not None else None)
