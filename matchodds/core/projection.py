"""The season ahead: the rest of a season simulated from every posterior draw, and the final table's odds.

Simulation i plays the remaining fixtures with draw i mod n_draws (every draw used, each about equally
often). Each match's score is drawn exactly from that draw's Dixon-Coles distribution: the correction
changes only the 0-0, 0-1, 1-0 and 1-1 cells and leaves their total unchanged, so a score drawn from
the two independent Poissons keeps its cell unless it falls in that block, where the cell is drawn
again from the block's corrected probabilities. Tables are ranked by each league's rules (LEAGUE_RULES),
head-to-head as a mini-league of the teams level on the criteria before it, exactly; what the rules
leave after the modelled criteria (away goals, fair play, a play-off, lots) is a random draw.
Everything is arrays over (simulations, matches) or (simulations, teams): no loop per match or season.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matchodds.core.grid import PredictionDraws, low_score_taus
from matchodds.core.markets import CREDIBLE_MASS
from matchodds.core.posterior import Posterior
from matchodds.core.season import SEASON_META_KEY, SeasonRecord

DEFAULT_SIMULATIONS = 10_000
MAX_SIMULATIONS = 100_000
POINTS_FOR = {"win": 3, "draw": 1}
# The criteria a table can be ranked by, most important first in each league's rules.
POINTS, GOAL_DIFFERENCE, GOALS_FOR = "points", "goal_difference", "goals_for"
HEAD_TO_HEAD_POINTS, HEAD_TO_HEAD_GOAL_DIFFERENCE = "head_to_head_points", "head_to_head_goal_difference"
HEAD_TO_HEAD = (HEAD_TO_HEAD_POINTS, HEAD_TO_HEAD_GOAL_DIFFERENCE)
REMAINING_FROM_FIXTURES = "fixtures"
REMAINING_FROM_ROUND_ROBIN = "double round robin"


@dataclass(frozen=True)
class LeagueRules:
    """A league's zones (places counted from the top or the bottom) and how it ranks teams level on points.

    europe: Champions League places by league position (league phase or qualifying); relegation: places
    relegated directly; playoff: the relegation play-off places just above them.
    """

    tie_breaks: tuple[str, ...] = (POINTS, GOAL_DIFFERENCE, GOALS_FOR)
    title: int = 1
    europe: int = 0
    relegation: int = 0
    playoff: int = 0

    def zones(self) -> dict[str, int]:
        return {"title": self.title, "europe": self.europe, "relegation": self.relegation, "playoff": self.playoff}


# The rules of the 2024-25 seasons (docs/projections.md gives the sources and what is simplified).
LEAGUE_RULES = {
    "E0": LeagueRules((POINTS, GOAL_DIFFERENCE, GOALS_FOR, HEAD_TO_HEAD_POINTS), europe=4, relegation=3),
    "D1": LeagueRules((POINTS, GOAL_DIFFERENCE, GOALS_FOR, *HEAD_TO_HEAD), europe=4, relegation=2, playoff=1),
    "F1": LeagueRules((POINTS, GOAL_DIFFERENCE, *HEAD_TO_HEAD, GOALS_FOR), europe=4, relegation=2, playoff=1),
    "SP1": LeagueRules((POINTS, *HEAD_TO_HEAD, GOAL_DIFFERENCE, GOALS_FOR), europe=4, relegation=3),
    "I1": LeagueRules((POINTS, *HEAD_TO_HEAD, GOAL_DIFFERENCE, GOALS_FOR), europe=4, relegation=3),
}
DEFAULT_RULES = LeagueRules()  # any other league: the title only, points then goal difference then goals


def league_rules(competition: str) -> LeagueRules:
    return LEAGUE_RULES.get(competition, DEFAULT_RULES)


@dataclass(frozen=True)
class Results:
    """Matches between the teams of a league by index: home, away (and goals once played), each (matches,)."""

    home: np.ndarray
    away: np.ndarray
    home_goals: np.ndarray | None = None
    away_goals: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.home.shape[0])


def remaining_fixtures(n_teams: int, played: Results, named: Results | None = None) -> tuple[Results, str]:
    """The fixtures left, and where they came from.

    The named fixtures when they hold every pairing of the double round robin not played yet (a whole
    schedule, which may have more); else that double round robin less the matches played (a weekly
    fixtures file names only a week of it).
    """
    home, away = np.nonzero(~np.eye(n_teams, dtype=bool))
    unplayed = np.ones((n_teams, n_teams), dtype=bool)
    unplayed[played.home, played.away] = False
    unplayed &= ~np.eye(n_teams, dtype=bool)
    if named is not None and named.size:
        covered = np.zeros_like(unplayed)
        covered[named.home, named.away] = True
        if not np.any(unplayed & ~covered):
            return Results(named.home, named.away), REMAINING_FROM_FIXTURES
    keep = unplayed[home, away]
    return Results(home[keep], away[keep]), REMAINING_FROM_ROUND_ROBIN


def sample_scores(
    draws: PredictionDraws, home: np.ndarray, away: np.ndarray, draw_index: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Goals (simulations, matches) of the fixtures (posterior team indices), simulation s from draw draw_index[s]."""
    home_rate, away_rate = (np.ascontiguousarray(rate.T)[draw_index] for rate in draws.rates(home, away))
    home_goals, away_goals = rng.poisson(home_rate), rng.poisson(away_rate)
    if draws.rho is not None:
        low = np.flatnonzero((home_goals <= 1) & (away_goals <= 1))
        lh, la = home_rate.ravel()[low], away_rate.ravel()[low]
        rho = draws.rho[draw_index[low // home_rate.shape[1]]]
        # Each cell's probability up to the common factor e^-(lh + la): tau x lh^home goals x la^away goals.
        tau_00, tau_01, tau_10, tau_11 = low_score_taus(lh, la, rho)
        to_01 = tau_00 + tau_01 * la
        to_10 = to_01 + tau_10 * lh
        u = rng.random(lh.shape) * (to_10 + tau_11 * lh * la)
        cell = (u > tau_00).astype(np.int64) + (u > to_01) + (u > to_10)  # 0..3: 0-0, 0-1, 1-0, 1-1
        np.put(home_goals, low, cell // 2)
        np.put(away_goals, low, cell % 2)
    return home_goals, away_goals


def _incidence(teams: np.ndarray, n_teams: int) -> np.ndarray:
    """(matches, teams): 1 where the match's side is the team."""
    incidence: np.ndarray = np.zeros((teams.shape[0], n_teams))
    incidence[np.arange(teams.shape[0]), teams] = 1.0
    return incidence


def _pair_sums(home_values: np.ndarray, away_values: np.ndarray, matches: Results, n_teams: int) -> np.ndarray:
    """(rows, teams, teams): the sum of the row team's values in its matches against the column team."""
    rows = home_values.shape[0]
    flat_home = matches.home * n_teams + matches.away
    flat_away = matches.away * n_teams + matches.home
    sums = np.zeros((rows, n_teams * n_teams))
    if np.unique(flat_home).size == flat_home.size:  # each ordered pairing once, as in a round robin: no collisions
        sums[:, flat_home] = home_values
        sums[:, flat_away] += away_values
    else:
        np.add.at(sums.T, flat_home, home_values.T)
        np.add.at(sums.T, flat_away, away_values.T)
    return sums.reshape(rows, n_teams, n_teams)


@dataclass(frozen=True)
class Tables:
    """Tables of matches between a league's teams, in one or many simulations (rows).

    points, goals_for, goals_against: (rows, teams); the head-to-head matrices are made only for the rows
    that need them (head_to_head), since in most leagues few tables have teams level before them.
    """

    matches: Results
    home_goals: np.ndarray  # (rows, matches)
    away_goals: np.ndarray
    points: np.ndarray
    goals_for: np.ndarray
    goals_against: np.ndarray

    def head_to_head(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(points, goal difference) of each team against each other: (rows, teams, teams) each, or
        (1, teams, teams) for a table of one row (the matches played, the same in every simulation)."""
        home_goals, away_goals = self.home_goals, self.away_goals
        if home_goals.shape[0] > 1:
            home_goals, away_goals = home_goals[rows], away_goals[rows]
        n_teams = self.points.shape[1]
        points = _pair_sums(_points(home_goals, away_goals), _points(away_goals, home_goals), self.matches, n_teams)
        margin = (home_goals - away_goals).astype(np.float64)
        return points, _pair_sums(margin, -margin, self.matches, n_teams)


def _points(goals_for: np.ndarray, goals_against: np.ndarray) -> np.ndarray:
    points: np.ndarray = POINTS_FOR["win"] * (goals_for > goals_against) + POINTS_FOR["draw"] * (
        goals_for == goals_against
    )
    return points.astype(np.float64)


def tables(n_teams: int, matches: Results) -> Tables:
    """The tables of matches whose goals are (simulations, matches), or (matches,) for the matches played."""
    assert matches.home_goals is not None and matches.away_goals is not None
    home_goals, away_goals = np.atleast_2d(matches.home_goals), np.atleast_2d(matches.away_goals)
    home, away = _incidence(matches.home, n_teams), _incidence(matches.away, n_teams)

    def per_team(home_values: np.ndarray, away_values: np.ndarray) -> np.ndarray:
        total: np.ndarray = home_values.astype(np.float64) @ home + away_values.astype(np.float64) @ away
        return total

    return Tables(
        matches,
        home_goals,
        away_goals,
        per_team(_points(home_goals, away_goals), _points(away_goals, home_goals)),
        per_team(home_goals, away_goals),
        per_team(away_goals, home_goals),
    )


@dataclass(frozen=True)
class Standings:
    """Points, goals for and against (rows, teams), and where the head-to-head matrices come from."""

    points: np.ndarray
    goals_for: np.ndarray
    goals_against: np.ndarray
    parts: tuple[Tables, ...]

    @classmethod
    def of(cls, *parts: Tables) -> Standings:
        """The standings of every part's matches together (the played ones broadcast over the simulations)."""
        return cls(
            sum((part.points for part in parts), np.zeros(())),
            sum((part.goals_for for part in parts), np.zeros(())),
            sum((part.goals_against for part in parts), np.zeros(())),
            parts,
        )

    @property
    def goal_difference(self) -> np.ndarray:
        difference: np.ndarray = self.goals_for - self.goals_against
        return difference

    def head_to_head(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points, difference = zip(*(part.head_to_head(rows) for part in self.parts), strict=True)
        return sum(points, np.zeros(())), sum(difference, np.zeros(()))


def rank(table: Standings, tie_breaks: Sequence[str], last: np.ndarray) -> np.ndarray:
    """The position (0 = top) of each team in each row of `table`: (rows, teams).

    `last` decides what the criteria leave level (a random draw, or a fixed order). A head-to-head criterion
    is the mini-league of the teams level with each other on every criterion before the first such one;
    it is computed only for the rows where some teams are level so far.
    """
    keys: list[np.ndarray] = []
    head_to_head: dict[str, np.ndarray] = {}
    for criterion in tie_breaks:
        if criterion not in HEAD_TO_HEAD:
            keys.append(
                {POINTS: table.points, GOAL_DIFFERENCE: table.goal_difference, GOALS_FOR: table.goals_for}[criterion]
            )
            continue
        if not head_to_head:
            level = np.ones((*table.points.shape, table.points.shape[-1]), dtype=bool)
            for key in keys:
                level &= key[:, :, None] == key[:, None, :]
            rows = np.nonzero(level.sum(axis=(1, 2)) > level.shape[-1])[0]  # more than the diagonal: a tie
            pair_points, pair_difference = table.head_to_head(rows)
            for name, pairs in ((HEAD_TO_HEAD_POINTS, pair_points), (HEAD_TO_HEAD_GOAL_DIFFERENCE, pair_difference)):
                head_to_head[name] = np.zeros(table.points.shape)
                head_to_head[name][rows] = (pairs * level[rows]).sum(axis=-1)
        keys.append(head_to_head[criterion])
    order = np.lexsort([np.broadcast_to(last, table.points.shape), *(-key for key in reversed(keys))], axis=-1)
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.broadcast_to(np.arange(order.shape[-1]), order.shape), axis=-1)
    return positions


@dataclass(frozen=True)
class SeasonProjection:
    """A season's current table and its simulated end, teams in the season record's order."""

    record: SeasonRecord
    rules: LeagueRules
    current: Standings  # one row: the table of the matches played
    current_positions: np.ndarray  # (teams,)
    played: np.ndarray  # matches played by each team
    won: np.ndarray
    drawn: np.ndarray
    simulations: int
    seed: int
    remaining_matches: int
    remaining_from: str
    final_points: np.ndarray  # (simulations, teams)
    final_positions: np.ndarray  # (simulations, teams), 0 = top

    def position_probabilities(self) -> np.ndarray:
        """(teams, positions): P(team finishes in position); every row and every column sums to 1."""
        n_teams = self.final_positions.shape[1]
        index = np.arange(n_teams)[None, :] * n_teams + self.final_positions
        counts = np.bincount(index.ravel(), minlength=n_teams * n_teams).reshape(n_teams, n_teams)
        probabilities: np.ndarray = counts / self.simulations
        return probabilities

    def zone_probabilities(self) -> dict[str, np.ndarray | None]:
        """P(title), P(europe), P(playoff), P(relegation) per team; None for a zone the league has not."""
        positions = self.position_probabilities()
        n_teams, rules = positions.shape[1], self.rules
        bottom = n_teams - rules.relegation

        def places(first: int, last: int) -> np.ndarray | None:
            return positions[:, max(first, 0) : max(last, 0)].sum(axis=1) if last > first else None

        return {
            "p_title": places(0, rules.title),
            "p_europe": places(0, rules.europe),
            "p_playoff": places(bottom - rules.playoff, bottom),
            "p_relegation": places(bottom, n_teams),
        }

    def document(self, names: dict[str, str]) -> dict[str, Any]:
        """The table with its projection as stored and served (GET /table's body less competition and model)."""
        teams = self.record.teams
        positions = self.position_probabilities()
        zones = self.zone_probabilities()
        tail = (1 - CREDIBLE_MASS) / 2
        low, high = np.quantile(self.final_points, [tail, 1 - tail], axis=0, method="inverted_cdf")
        expected_points = self.final_points.mean(axis=0)
        expected_position = (self.final_positions + 1).mean(axis=0)
        current = self.current
        rows = []
        for team in np.argsort(self.current_positions, kind="stable"):
            scored, conceded = int(current.goals_for[0, team]), int(current.goals_against[0, team])
            won, drawn = int(self.won[team]), int(self.drawn[team])
            played = int(self.played[team])
            rows.append(
                {
                    "position": int(self.current_positions[team]) + 1,
                    "code": teams[team],
                    "name": names.get(teams[team], teams[team]),
                    "played": played,
                    "won": won,
                    "drawn": drawn,
                    "lost": played - won - drawn,
                    "goals_for": scored,
                    "goals_against": conceded,
                    "goal_difference": scored - conceded,
                    "points": int(current.points[0, team]),
                    "projection": {
                        "expected_points": round(float(expected_points[team]), 2),
                        "points_interval": {"low": int(low[team]), "high": int(high[team])},
                        "expected_position": round(float(expected_position[team]), 2),
                        **{
                            name: None if values is None else round(float(values[team]), 4)
                            for name, values in zones.items()
                        },
                        "positions": [round(float(p), 4) for p in positions[team]],
                    },
                }
            )
        through = self.record.through
        return {
            "season": self.record.season,
            "through": through.isoformat() if through else None,
            "simulations": self.simulations,
            "seed": self.seed,
            "remaining_matches": self.remaining_matches,
            "remaining_from": self.remaining_from,
            "zones": self.rules.zones(),
            "tie_breaks": list(self.rules.tie_breaks),
            "interval_mass": CREDIBLE_MASS,
            "teams": rows,
        }


def played_results(record: SeasonRecord) -> Results:
    """The season's played matches by index into its teams."""
    index = {code: position for position, code in enumerate(record.teams)}
    return Results(
        np.array([index[m.home] for m in record.played], dtype=np.intp),
        np.array([index[m.away] for m in record.played], dtype=np.intp),
        np.array([m.home_goals for m in record.played], dtype=np.int64),
        np.array([m.away_goals for m in record.played], dtype=np.int64),
    )


def named_results(record: SeasonRecord) -> Results:
    """The season's named fixtures by index into its teams."""
    index = {code: position for position, code in enumerate(record.teams)}
    return Results(
        np.array([index[f.home] for f in record.fixtures], dtype=np.intp),
        np.array([index[f.away] for f in record.fixtures], dtype=np.intp),
    )


def project_season(
    draws: PredictionDraws,
    team_codes: Sequence[str],
    record: SeasonRecord,
    rules: LeagueRules,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int = 0,
) -> SeasonProjection:
    """Simulate the rest of `record`'s season `simulations` times; the same draws, record and seed give the same."""
    if not 1 <= simulations <= MAX_SIMULATIONS:
        raise ValueError(f"simulations must be 1 to {MAX_SIMULATIONS:,}, not {simulations}")
    n_teams = len(record.teams)
    to_posterior = np.array([list(team_codes).index(code) for code in record.teams], dtype=np.intp)
    played = played_results(record)
    remaining, remaining_from = remaining_fixtures(n_teams, played, named_results(record))
    played_table = tables(n_teams, played)
    rng = np.random.default_rng(seed)
    n_draws = int(draws.intercept.shape[0])
    draw_index = np.arange(simulations) % n_draws
    home_goals, away_goals = sample_scores(
        draws, to_posterior[remaining.home], to_posterior[remaining.away], draw_index, rng
    )
    simulated = tables(n_teams, Results(remaining.home, remaining.away, home_goals, away_goals))
    final = Standings.of(played_table, simulated)
    final_positions = rank(final, rules.tie_breaks, rng.random((simulations, n_teams)))
    current = Standings.of(played_table)
    fixed_order = -np.arange(n_teams, dtype=np.float64)  # teams level on every criterion: the record's order
    current_positions = rank(current, rules.tie_breaks, fixed_order)[0]
    assert played.home_goals is not None and played.away_goals is not None
    margin = played.home_goals - played.away_goals
    won = np.bincount(np.concatenate([played.home[margin > 0], played.away[margin < 0]]), minlength=n_teams)
    drawn = np.bincount(np.concatenate([played.home[margin == 0], played.away[margin == 0]]), minlength=n_teams)
    return SeasonProjection(
        record,
        rules,
        current,
        current_positions,
        np.bincount(np.concatenate([played.home, played.away]), minlength=n_teams),
        won,
        drawn,
        simulations,
        seed,
        remaining.size,
        remaining_from,
        final.points,
        final_positions,
    )


def projection_seed(version: str) -> int:
    """The seed of a version's projection: its digits, so a version always projects the same table."""
    return int("".join(character for character in version if character.isdigit()) or "0")


def project_posterior(
    posterior: Posterior, simulations: int = DEFAULT_SIMULATIONS, seed: int | None = None
) -> SeasonProjection | None:
    """The projection of the season a posterior records (seeded by its version unless told); None if it records none."""
    if SEASON_META_KEY not in posterior.meta:
        return None
    record = SeasonRecord.from_meta(posterior.meta[SEASON_META_KEY], posterior.team_codes)
    return project_season(
        PredictionDraws.from_posterior(posterior),
        posterior.team_codes,
        record,
        league_rules(posterior.competition),
        simulations,
        projection_seed(posterior.version) if seed is None else seed,
    )
