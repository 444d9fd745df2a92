"""From one posterior object in S3 to a published odds version: read, validate, compute, write, flip, export."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from adapters.posterior_store import PosteriorChanged, PosteriorObject, read_posterior
from matchodds.core.documents import posterior_provenance
from matchodds.core.grid import FixtureMarkets, FixtureOdds, PredictionDraws, all_fixtures, market_numbers
from matchodds.core.items import TABLE_FIELD, odds_fields, odds_item, table_item
from matchodds.core.keys import EVENT_BUS_VARIABLE, ContractError, parse_posterior_key, table_export_key
from matchodds.core.markets import MARKETS_FIELD, market_map
from matchodds.core.posterior import Posterior, decode_posterior
from matchodds.core.projection import project_posterior
from matchodds.core.rounding import stored_numbers
from services.precompute.events import OddsPublisher, odds_published_detail
from services.precompute.exports import ExportTable, ExportWriter, season_table_bodies
from services.precompute.store import BATCH_SIZE, OddsWriter, Promotion

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
SOURCE_FIELD = "source"  # the pointer's record of the S3 object a version was computed from


@dataclass(frozen=True)
class Published:
    competition: str
    version: str
    pairs: int
    promotion: Promotion
    exports: list[str] = field(default_factory=list)


def fixture_fields(fixture: FixtureOdds) -> dict[str, Any]:
    """The served numbers of one pairing, in the contract's field names, markets as computed (odds_item rounds)."""
    fields = odds_fields(fixture)
    if fixture.markets is not None:
        fields[MARKETS_FIELD] = market_fields(fixture, fixture.markets)
    return fields


def market_fields(fixture: FixtureOdds, markets: FixtureMarkets) -> dict[str, Any]:
    """The contract's markets map of one pairing (see MARKETS_FIELD in matchodds.core.markets)."""
    return market_map(market_numbers([fixture])[0].tolist(), markets)


def odds_items(posterior: Posterior, fixtures: Iterable[FixtureOdds] | None = None) -> Iterator[dict[str, Any]]:
    """The stored item of each fixture (by default every pairing of the posterior's, with every market), as made.

    A writer's batch (BATCH_SIZE) of fixtures at a time: their market numbers rounded to the stored digits at
    once (stored_numbers), the same numbers odds_item would round one by one, in a fraction of the time.
    """
    codes = posterior.team_codes
    if fixtures is None:
        fixtures = all_fixtures(PredictionDraws.from_posterior(posterior), markets=True)
    remaining = iter(fixtures)
    while chunk := list(islice(remaining, BATCH_SIZE)):
        with_markets = [fixture for fixture in chunk if fixture.markets is not None]
        rows = iter(stored_numbers(market_numbers(with_markets)) if with_markets else [])
        for fixture in chunk:
            fields = odds_fields(fixture)
            if fixture.markets is not None:
                fields[MARKETS_FIELD] = market_map(next(rows), fixture.markets)
            yield odds_item(
                posterior.competition,
                posterior.version,
                codes[fixture.home],
                codes[fixture.away],
                fields,
                markets_stored=True,
            )


def season_table(posterior: Posterior) -> dict[str, Any] | None:
    """The season table with its projection (the stored document), or None when the posterior records no season.

    Part of the version, like its odds: the season record was checked with the posterior, so a projection
    that fails is a defect of this version, raised (retried, then dead-lettered) before anything is written.
    """
    projection = project_posterior(posterior)
    if projection is None:
        logger.info("%s %s records no season: no table", posterior.competition, posterior.version)
        return None
    names = dict(zip(posterior.team_codes, posterior.team_names, strict=True))
    return projection.document(names)


def pointer_fields(posterior: Posterior, pairs: int, read: PosteriorObject) -> dict[str, Any]:
    """What readers learn from the pointer: the version's provenance (the object it was read from) and its teams."""
    return {
        "competition": posterior.competition,
        SOURCE_FIELD: read.source(),
        **posterior_provenance(posterior.meta),
        "pairs": pairs,
        "teams": [
            {"code": code, "name": name} for code, name in zip(posterior.team_codes, posterior.team_names, strict=True)
        ],
    }


def refuse_if_changed(pointer: dict[str, Any] | None, version: str, read: PosteriorObject) -> None:
    """Raise PosteriorChanged when `version` is current but was published from other bytes than `read`.

    A version's key is written once; an object under it whose ETag (or VersionId) differs from the
    one recorded when the version was promoted would change the served odds under the same version.
    """
    if pointer is None or pointer["version"] != version:
        return
    recorded = pointer.get(SOURCE_FIELD)
    if recorded is None:
        raise PosteriorChanged(
            f"{read} is version {version}, current, but its pointer records no ETag (promoted before ETags "
            f"were recorded), so this object cannot be shown to be the one published; refusing it"
        )
    same_version_id = not (recorded.get("version_id") and read.version_id) or recorded["version_id"] == read.version_id
    if recorded.get("etag") != read.etag or not same_version_id:
        raise PosteriorChanged(
            f"{read} (ETag {read.etag}, VersionId {read.version_id}) is not the object version {version} was "
            f"published from (ETag {recorded.get('etag')}, VersionId {recorded.get('version_id')}): "
            f"the key was overwritten; the published odds stay"
        )


def publish_posterior(
    bucket: str,
    key: str,
    s3: S3Client,
    writer: OddsWriter,
    exporter: ExportWriter | None = None,
    *,
    etag: str | None = None,
    version_id: str | None = None,
    publisher: OddsPublisher | None = None,
) -> Published | None:
    """Publish the odds of one posterior object; None for a key that is not a posterior.

    `etag` and `version_id` are the event's: the object is read only if it is still that one. A
    version is refused (raised, so that SQS retries it and dead-letters it) when it is later than
    the writer's clock allows, or when it is the current version but its object is not the one it
    was published from; neither touches items, pointer or exports.

    Exports go to `exporter` (by default the posterior's bucket) once the pointer names this version:
    after a promotion, or on a retry that finds it current already (the previous try may have
    stopped between the flip and the exports). A superseded version exports nothing, and `latest` is
    only written while the pointer still names this version.

    Then, while it is still current, an "Odds published" event goes to `publisher` (none: skipped
    with a log line, as locally); a failed put raises after the promotion (see services.precompute.events).

    A posterior that records its season also gets its season table (season_table): one item written with
    the odds items, before the flip, and exports <version>-table.csv and .json (and latest-table.*)
    beside the odds exports. The event names the odds exports.
    """
    parsed = parse_posterior_key(key)
    if parsed is None:
        logger.info("ignoring s3://%s/%s: not a posterior", bucket, key)
        return None
    blob, read = read_posterior(s3, PosteriorObject(bucket, key, etag.strip('"') if etag else None, version_id))
    posterior = decode_posterior(blob, now=datetime.fromtimestamp(writer.clock(), UTC))
    competition, version = posterior.competition, posterior.version
    if (competition, version) != parsed:
        raise ContractError(f"{read} holds {competition} {version}, not {parsed}")
    refuse_if_changed(writer.current_pointer(competition), version, read)
    # Every score grid is checked before the first write, so the fixtures are kept (about 7 KiB each, an
    # item 28 KiB) and each item is made as the writer takes it, its export row with it: no list of items.
    fixtures = list(all_fixtures(PredictionDraws.from_posterior(posterior), markets=True))
    season = season_table(posterior)  # part of the version: projected before anything is written
    pointer = {**pointer_fields(posterior, len(fixtures), read), TABLE_FIELD: season is not None}
    export = ExportTable(competition, version, pointer)
    pairs = writer.write_items(map(export.add, odds_items(posterior, fixtures)))
    del fixtures
    if season is not None:
        writer.write_items([table_item(competition, version, season)])
    promotion = writer.promote(competition, version, pointer)
    if promotion.outcome == "already-current":  # another run may have promoted other bytes since the check
        refuse_if_changed(writer.current_pointer(competition), version, read)
    logger.info("%s %s: %d pairs written, %s", competition, version, pairs, promotion.outcome)
    exports: list[str] = []
    if promotion.current_version == version:
        exporter = exporter or ExportWriter(bucket, s3)
        bodies = export.bodies()
        del export
        exports = exporter.write(competition, version, bodies)
        tables = season_table_bodies(competition, version, pointer, season) if season else {}
        table_exports = exporter.write(competition, version, tables, table_export_key)
        still_current = writer.current_version(competition) == version
        if still_current:
            exports += exporter.write_latest(competition, bodies)
            table_exports += exporter.write_latest(competition, tables, table_export_key)
        logger.info("%s %s: exported %s", competition, version, ", ".join(exports + table_exports))
        if still_current and publisher is not None:
            publisher.publish(odds_published_detail(competition, version, str(pointer["data_through"]), exports))
        elif still_current:
            logger.info("%s %s: no event bus (%s unset); no event published", competition, version, EVENT_BUS_VARIABLE)
        exports += table_exports
    return Published(competition, version, pairs, promotion, exports)
