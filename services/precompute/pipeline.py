"""From one posterior object in S3 to a published odds version: read, validate, compute, write, flip, export."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matchodds.contract import (
    ASIAN_HANDICAP_QUARTERS,
    MARKETS_FIELD,
    OUTCOMES,
    OVER_UNDER_LINES,
    Posterior,
    decode_posterior,
    goals_label,
    handicap_label,
    odds_item,
    parse_posterior_key,
)
from services.precompute.exports import ExportWriter, export_bodies
from services.precompute.odds import FixtureMarkets, FixtureOdds, PredictionDraws, all_fixtures
from services.precompute.store import OddsWriter, Promotion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    competition: str
    version: str
    pairs: int
    promotion: Promotion
    exports: list[str] = field(default_factory=list)


def fixture_fields(fixture: FixtureOdds) -> dict[str, Any]:
    """The served numbers of one pairing, in the contract's field names."""
    odds_home, odds_draw, odds_away = fixture.fair_odds
    fields: dict[str, Any] = {
        "p_home": fixture.p_home,
        "p_draw": fixture.p_draw,
        "p_away": fixture.p_away,
        "odds_home": odds_home,
        "odds_draw": odds_draw,
        "odds_away": odds_away,
        "xg_home": fixture.xg_home,
        "xg_away": fixture.xg_away,
        "likely_score": f"{fixture.likely_score[0]}-{fixture.likely_score[1]}",
        "likely_score_p": fixture.likely_score_p,
    }
    if fixture.markets is not None:
        fields[MARKETS_FIELD] = market_fields(fixture, fixture.markets)
    return fields


def market_fields(fixture: FixtureOdds, markets: FixtureMarkets) -> dict[str, Any]:
    """The contract's markets map of one pairing (see MARKETS_FIELD in matchodds.contract)."""
    p_home, p_draw, p_away = fixture.p_home, fixture.p_draw, fixture.p_away
    decisive = p_home + p_away
    intervals = np.clip(markets.intervals, 0.0, 1.0).tolist()
    return {
        "intervals": dict(zip(OUTCOMES, intervals, strict=True)),
        "over": {goals_label(line): float(p) for line, p in zip(OVER_UNDER_LINES, markets.over, strict=True)},
        "btts": markets.btts,
        "double_chance": {"home_draw": p_home + p_draw, "home_away": decisive, "draw_away": p_draw + p_away},
        "draw_no_bet": {"home": p_home / decisive, "away": p_away / decisive},
        "asian_handicap": {
            handicap_label(quarters): [float(p) for p in outcomes]
            for quarters, outcomes in zip(ASIAN_HANDICAP_QUARTERS, markets.handicap, strict=True)
        },
        "correct_score": [float(p) for p in markets.correct_score.ravel()],
        "likeliest": [{"score": f"{home}-{away}", "p": p} for (home, away), p in markets.likeliest],
    }


def odds_items(posterior: Posterior) -> list[dict[str, Any]]:
    codes = posterior.team_codes
    return [
        odds_item(
            posterior.competition, posterior.version, codes[fixture.home], codes[fixture.away], fixture_fields(fixture)
        )
        for fixture in all_fixtures(PredictionDraws.from_posterior(posterior), markets=True)
    ]


def pointer_fields(posterior: Posterior, pairs: int) -> dict[str, Any]:
    """What readers learn from the pointer: the version's provenance and its teams."""
    window = posterior.meta["data_window"]
    return {
        "competition": posterior.competition,
        "fitted_at": posterior.meta["created_at"],
        "data_from": window["first_match"],
        "data_through": window["last_match"],
        "matches": window["matches"],
        "model": posterior.meta["model"]["name"],
        "pairs": pairs,
        "teams": [
            {"code": code, "name": name} for code, name in zip(posterior.team_codes, posterior.team_names, strict=True)
        ],
    }


def publish_posterior(
    bucket: str, key: str, s3: Any, writer: OddsWriter, exporter: ExportWriter | None = None
) -> Published | None:
    """Publish the odds of one posterior object; None for a key that is not a posterior.

    Exports go to `exporter` (by default the posterior's bucket) once the pointer names this version:
    after a promotion, or on a retry that finds it current already (the previous try may have
    stopped between the flip and the exports). A superseded version exports nothing, and `latest` is
    only written while the pointer still names this version.
    """
    parsed = parse_posterior_key(key)
    if parsed is None:
        logger.info("ignoring s3://%s/%s: not a posterior", bucket, key)
        return None
    blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    posterior = decode_posterior(blob)
    competition, version = posterior.competition, posterior.version
    if (competition, version) != parsed:
        raise ValueError(f"s3://{bucket}/{key} holds {competition} {version}, not {parsed}")
    items = odds_items(posterior)
    writer.write_items(items)
    pointer = pointer_fields(posterior, len(items))
    promotion = writer.promote(competition, version, pointer)
    logger.info("%s %s: %d pairs written, %s", competition, version, len(items), promotion.outcome)
    exports: list[str] = []
    if promotion.current_version == version:
        exporter = exporter or ExportWriter(bucket, s3)
        bodies = export_bodies(competition, version, pointer, items)
        exports = exporter.write(competition, version, bodies)
        if writer.current_version(competition) == version:
            exports += exporter.write_latest(competition, bodies)
        logger.info("%s %s: exported %s", competition, version, ", ".join(exports))
    return Published(competition, version, len(items), promotion, exports)
