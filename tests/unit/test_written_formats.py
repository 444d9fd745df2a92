"""Each shared format's writer against its reader, both from the core: the odds fields and the market numbers a
version's items are written from, read back as stored, and the fixture document the query serves from them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from matchodds.core.documents import fixture_document
from matchodds.core.grid import PredictionDraws, all_fixtures, market_numbers
from matchodds.core.items import ODDS_FIELDS, odds_fields, odds_from_item, odds_item
from matchodds.core.markets import MARKET_KEYS, MARKET_WIDTHS, MARKETS_FIELD, market_map
from matchodds.core.posterior import Posterior

pytestmark = pytest.mark.unit


def test_the_market_numbers_read_back_as_the_markets_they_were_written_from(
    make_posterior: Callable[..., Posterior],
) -> None:
    fixtures = list(all_fixtures(PredictionDraws.from_posterior(make_posterior(spread=0.1)), markets=True))[:3]
    numbers = market_numbers(fixtures)
    assert numbers.shape == (len(fixtures), sum(MARKET_WIDTHS.values()))
    for fixture, row in zip(fixtures, numbers.tolist(), strict=True):
        assert fixture.markets is not None
        markets = market_map(row, fixture.markets)
        assert tuple(markets) == MARKET_KEYS
        assert markets["btts"] == fixture.markets.btts
        assert markets["correct_score"] == fixture.markets.correct_score.reshape(-1).tolist()
        assert [entry["p"] for entry in markets["likeliest"]] == [p for _, p in fixture.markets.likeliest]


def test_odds_fields_are_stored_and_served_as_written(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior(spread=0.1)
    codes, names = posterior.team_codes, dict(zip(posterior.team_codes, posterior.team_names, strict=True))
    fixture = next(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))
    assert fixture.markets is not None
    fields = odds_fields(fixture)
    assert set(fields) == set(ODDS_FIELDS)
    fields[MARKETS_FIELD] = market_map(market_numbers([fixture])[0].tolist(), fixture.markets)
    home, away = codes[fixture.home], codes[fixture.away]
    stored = odds_from_item(odds_item("E0", posterior.version, home, away, fields))
    assert (
        stored["p_home"] == pytest.approx(fields["p_home"], abs=1e-6)
        and stored["likely_score"] == fields["likely_score"]
    )
    document = fixture_document(stored, names)
    assert document["home"] == {"code": home, "name": names[home]}
    assert document["probabilities"] == {"home": stored["p_home"], "draw": stored["p_draw"], "away": stored["p_away"]}
    assert document["fair_odds"]["home"] == pytest.approx(1 / fixture.p_home, rel=1e-5)
    assert document["markets"]["both_teams_to_score"]["yes"]["probability"] == pytest.approx(
        fixture.markets.btts, rel=1e-5
    )
