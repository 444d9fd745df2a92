"""Prices one fixtures object: reads it, looks up the current odds of its fixtures, writes priced/ CSV and JSON.

A competition with no odds yet is still priced: every row says so in its note and the files are
written. Nothing would come of retrying (the next version can be a week away, longer than any SQS
retention); the user reads why in the file itself and uploads again once odds are out. A file that
cannot be read gets `<name>.error.json` naming the line, and FixturesUnreadable fails the record, so
SQS retries it and then moves it to the dead-letter queue, where the alarm sees it.

The dated fixtures of a competition with odds are also stored in the table, each bookmaker's prices
with them, for GET /fixtures (a plain home,away file gives no dates: it is priced, not stored).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from matchodds.core.items import fixture_item
from matchodds.core.keys import parse_fixtures_key, priced_key
from matchodds.core.pricing import (
    OddsSource,
    PricedFile,
    not_published_source,
    price_columns,
    price_file,
    priced_csv,
    priced_document,
    stored_source,
)
from matchodds.core.results import FixturesFile, ResultsError, decode, parse_any_fixtures
from services.pricing.store import StoredOdds

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
ERROR_CODE = "unreadable_fixtures"


class FixturesUnreadable(ValueError):
    """A fixtures file that cannot be read; its error file is written, the record fails."""


def price_object(bucket: str, key: str, s3: S3Client, odds: StoredOdds) -> list[str]:
    """Price the fixtures object at `key`; returns the keys written (none for a key outside fixtures/<c>/)."""
    parsed = parse_fixtures_key(key)
    if parsed is None:
        logger.warning("s3://%s/%s is not a fixtures file of a competition; ignored", bucket, key)
        return []
    competition, name = parsed
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        fixtures = parse_any_fixtures(decode(body), key, competition)
    except ResultsError as error:
        error_key = priced_key(competition, name, "error.json")
        document = {"error": ERROR_CODE, "message": str(error), "line": error.line}
        s3.put_object(Bucket=bucket, Key=error_key, Body=_json(document), ContentType="application/json")
        raise FixturesUnreadable(f"{error} (written to s3://{bucket}/{error_key})") from error
    pointer = odds.pointer(competition)
    source = _source(competition, fixtures_pairs(fixtures, competition), odds, pointer)
    written = _write(bucket, competition, name, price_file(fixtures, source, competition), s3)
    if pointer is None:
        logger.info("%s has no odds yet: its fixtures are priced, not stored for GET /fixtures", competition)
    else:
        _record(competition, name, fixtures, odds)
    return written


def _record(competition: str, name: str, fixtures: FixturesFile, odds: StoredOdds) -> None:
    columns = price_columns(fixtures.header)
    dated = [f for f in fixtures.fixtures if f.competition == competition and f.date is not None]
    moved = odds.record_fixtures(competition, [fixture_item(competition, f, columns, name) for f in dated])
    logger.info(
        "stored %d dated fixtures of %s for GET /fixtures (%d moved from another day)", len(dated), competition, moved
    )


def fixtures_pairs(fixtures: FixturesFile, competition: str) -> list[tuple[str, str]]:
    """The (home, away) pairs of the competition's rows, each once, in file order."""
    pairs = [(f.home, f.away) for f in fixtures.fixtures if f.competition == competition]
    return list(dict.fromkeys(pairs))


def _source(
    competition: str, pairs: list[tuple[str, str]], odds: StoredOdds, pointer: dict[str, Any] | None
) -> OddsSource:
    if pointer is None:
        return not_published_source(f"no odds have been published for competition {competition} yet")
    version = str(pointer["version"])
    teams = [team["code"] for team in pointer["teams"]]
    known = [pair for pair in pairs if all(code in teams for code in pair)]
    return stored_source(version, teams, odds.odds(competition, version, known))


def _write(bucket: str, competition: str, name: str, priced: PricedFile, s3: S3Client) -> list[str]:
    csv_key, json_key = priced_key(competition, name, "csv"), priced_key(competition, name, "json")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=priced_csv(priced).encode("utf-8"), ContentType="text/csv")
    document = {"competition": competition, **priced_document(priced)}
    s3.put_object(Bucket=bucket, Key=json_key, Body=_json(document), ContentType="application/json")
    logger.info(
        "priced %d fixtures of %s (%d unpriced) into %s and %s",
        len(priced.rows),
        competition,
        priced.unpriced,
        csv_key,
        json_key,
    )
    return [csv_key, json_key]


def _json(document: object) -> bytes:
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
