"""From one posterior object in S3 to a published odds version: read, validate, compute, write, flip."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from matchodds.contract import Posterior, decode_posterior, odds_item, parse_posterior_key
from services.precompute.odds import FixtureOdds, PredictionDraws, all_fixtures
from services.precompute.store import OddsWriter, Promotion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    competition: str
    version: str
    pairs: int
    promotion: Promotion


def fixture_fields(fixture: FixtureOdds) -> dict[str, Any]:
    """The served numbers of one pairing, in the contract's field names."""
    odds_home, odds_draw, odds_away = fixture.fair_odds
    return {
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


def odds_items(posterior: Posterior) -> list[dict[str, Any]]:
    codes = posterior.team_codes
    return [
        odds_item(
            posterior.competition, posterior.version, codes[fixture.home], codes[fixture.away], fixture_fields(fixture)
        )
        for fixture in all_fixtures(PredictionDraws.from_posterior(posterior))
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
            {"code": code, "name": name}
            for code, name in zip(posterior.team_codes, posterior.team_names, strict=True)
        ],
    }


def publish_posterior(bucket: str, key: str, s3: Any, writer: OddsWriter) -> Published | None:
    """Publish the odds of one posterior object; None for a key that is not a posterior."""
    parsed = parse_posterior_key(key)
    if parsed is None:
        logger.info("ignoring s3://%s/%s: not a posterior", bucket, key)
        return None
    blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    posterior = decode_posterior(blob)
    if (posterior.competition, posterior.version) != parsed:
        raise ValueError(f"s3://{bucket}/{key} holds {posterior.competition} {posterior.version}, not {parsed}")
    items = odds_items(posterior)
    writer.write_items(items)
    promotion = writer.promote(posterior.competition, posterior.version, pointer_fields(posterior, len(items)))
    logger.info("%s %s: %d pairs written, %s", posterior.competition, posterior.version, len(items), promotion.outcome)
    return Published(posterior.competition, posterior.version, len(items), promotion)
