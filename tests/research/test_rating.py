"""The score-driven rating: it learns strengths and home edge, follows change, and predicts each
match only from the matches before it."""

from __future__ import annotations

from dataclasses import replace

import jax.numpy as jnp
import numpy as np
import pytest

from research.rating import START, Rating, _arrays, _filter, implied_rates
from services.fit.model import dixon_coles_log_tau, season_teams
from tests.fit.test_fit import CODES, TRUE_ATTACK, TRUE_DEFENCE, TRUE_HOME, synthetic_seasons


@pytest.mark.research
def test_the_rating_recovers_the_home_edge_and_the_order_of_strengths() -> None:
    fitted = Rating().fit(synthetic_seasons([TRUE_ATTACK] * 3, rounds=3), CODES)
    assert abs(fitted.home - TRUE_HOME) < 0.15
    assert np.corrcoef(fitted.attack, TRUE_ATTACK)[0, 1] > 0.8
    assert np.corrcoef(fitted.defence, TRUE_DEFENCE)[0, 1] > 0.8
    assert abs(sum(fitted.settings["blend"]) - 1) < 1e-6


@pytest.mark.research
def test_the_rating_follows_a_team_that_changed() -> None:
    changed = TRUE_ATTACK.copy()
    changed[0], changed[-1] = TRUE_ATTACK[-1], TRUE_ATTACK[0]  # the weakest attack became the best
    fitted = Rating().fit(synthetic_seasons([TRUE_ATTACK, TRUE_ATTACK, changed], rounds=3), CODES)
    assert fitted.attack[0] > fitted.attack[-1] + 0.2  # truth: 0.7 apart


@pytest.mark.research
def test_each_match_is_predicted_from_the_ratings_of_the_matches_before_it() -> None:
    window = synthetic_seasons([TRUE_ATTACK] * 2)
    seasons = sorted({m.season for m in window})
    rosters = [season_teams(window, s) for s in seasons]
    params = jnp.asarray(replace_start(step=0.1), jnp.float32)  # big steps: every match moves the ratings
    k = len(window) - 5  # a match of the second season, the one scored
    before = _arrays(window[:k], seasons, rosters, CODES)
    through = _arrays(window[: k + 1], seasons, rosters, CODES)
    changed = _arrays([*window[:k], replace(window[k], home_goals=window[k].home_goals + 3)], seasons, rosters, CODES)
    log_likelihood_before, (attack, defence) = _filter(params, before)
    h, a = CODES.index(window[k].home), CODES.index(window[k].away)
    home_rate = jnp.exp(params[0] + params[1] / 2 + attack[h] + defence[a])
    away_rate = jnp.exp(params[0] - params[1] / 2 + attack[a] + defence[h])
    for data, match in ((through, window[k]), (changed, replace(window[k], home_goals=window[k].home_goals + 3))):
        hg, ag = float(match.home_goals), float(match.away_goals)
        expected = (
            hg * jnp.log(home_rate)
            - home_rate
            - float(np.log(np.arange(1, hg + 1)).sum())
            + ag * jnp.log(away_rate)
            - away_rate
            - float(np.log(np.arange(1, ag + 1)).sum())
            + dixon_coles_log_tau(hg, ag, home_rate, away_rate, params[7])
        )
        assert np.isclose(float(_filter(params, data)[0] - log_likelihood_before), float(expected), atol=1e-3)


@pytest.mark.research
def test_a_team_new_to_the_league_starts_at_the_promoted_offset() -> None:
    matches = synthetic_seasons([TRUE_ATTACK] * 2)
    newcomers = [*CODES[1:], "NEW"]
    fitted = Rating().fit(matches, newcomers)  # the next season: CODES[0] went down, NEW came up
    new = fitted.team_codes.index("NEW")
    assert np.isclose(fitted.attack[new], fitted.settings["promoted_attack"], atol=1e-5)
    assert np.isclose(fitted.defence[new], fitted.settings["promoted_defence"], atol=1e-5)
    stayed = fitted.team_codes.index(CODES[-1])
    assert not np.isclose(fitted.attack[stayed], fitted.settings["promoted_attack"], atol=1e-3)


@pytest.mark.unit
def test_the_market_signal_inverts_prices_into_the_goal_rates_that_make_them() -> None:
    from scipy.stats import poisson

    truth = np.array([[1.5, 1.0], [0.8, 2.2], [2.6, 0.5]])
    goals = np.arange(20)
    prices = []
    for home_rate, away_rate in truth:
        grid = np.outer(poisson.pmf(goals, home_rate), poisson.pmf(goals, away_rate))
        p = np.array([np.tril(grid, -1).sum(), np.trace(grid), np.triu(grid, 1).sum()])
        prices.append(1 / (p * 1.05))  # a 5 % margin, removed proportionally
    assert np.allclose(implied_rates(np.array(prices)), truth, rtol=0.03)


def replace_start(step: float) -> np.ndarray:
    params = np.concatenate([START, [0.0, -0.7]])  # and a blend of goals, shots on target and corners
    params[2:4] = np.log(step)
    return params


@pytest.mark.research
def test_a_match_with_a_sending_off_moves_the_ratings_by_the_fitted_share_of_a_full_match() -> None:
    window = synthetic_seasons([TRUE_ATTACK] * 2)
    seasons = sorted({m.season for m in window})
    rosters = [season_teams(window, s) for s in seasons]
    k = len(window) - 5
    sent_off = [*window[:k], replace(window[k], numbers={"HR": 0.0, "AR": 1.0})]
    params = jnp.asarray(np.concatenate([replace_start(step=0.1), [0.0]]), jnp.float32)  # share sigmoid(0) = 1/2
    before = _filter(params, _arrays(window[:k], seasons, rosters, CODES, red_cards=True))[1]
    full = _filter(params, _arrays(window[: k + 1], seasons, rosters, CODES, red_cards=True))[1]
    halved = _filter(params, _arrays(sent_off, seasons, rosters, CODES, red_cards=True))[1]
    h, a = CODES.index(window[k].home), CODES.index(window[k].away)
    for side in (0, 1):  # attack, defence
        moved_full = np.asarray(full[side] - before[side])[[h, a]]
        moved_halved = np.asarray(halved[side] - before[side])[[h, a]]
        assert np.abs(moved_full).min() > 1e-4  # the match moved both teams
        assert np.allclose(moved_halved, moved_full / 2, atol=1e-5)
    # Without the option the cards are not read: the match counts in full.
    assert np.allclose(_filter(params, _arrays(sent_off, seasons, rosters, CODES))[1][0], full[0], atol=1e-6)


@pytest.mark.research
def test_the_rating_fits_a_share_for_sendings_off_and_for_total_shots_when_asked() -> None:
    matches = [
        replace(m, numbers={"HST": 4.0, "AST": 3.0, "HC": 5.0, "AC": 4.0, "HS": 12.0, "AS": 9.0, "HR": 0.0, "AR": 0.0})
        for m in synthetic_seasons([TRUE_ATTACK] * 3, rounds=2)
    ]
    plain = Rating().fit(matches, CODES).settings
    both = Rating(total_shots=True, red_cards=True).fit(matches, CODES).settings
    assert len(plain["blend"]) == 3 and plain["red_share"] == 1.0
    assert len(both["blend"]) == 4 and abs(sum(both["blend"]) - 1) < 1e-6
    assert 0 < both["red_share"] < 1
