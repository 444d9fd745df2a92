"""Prices one fixtures object: reads it, looks up the current odds of its fixtures, writes priced/ CSV and JSON.

A competition with no odds yet is still priced: every row says so in its note and the files are
written. Nothing would come of retrying (the next version can be a week away, longer than any SQS
retention); the user reads why in the file itself and uploads again once odds are out. A file that
cannot be used (unreadable, too large, an impossible date) gets `<name>.error.json` naming the problem and
its line, and FixturesUnreadable fails the record, so SQS retries it and then moves it to the dead-letter
queue, where the alarm sees it. Pricing always leaves one or the other: priced files, or an error file.
Errors of AWS itself (throttling) fail the record without an error file, to be retried.

The dated fixtures of a competition with odds are also stored in the table, each bookmaker's prices
with them and our odds as priced, for GET /fixtures (a plain home,away file gives no dates: it is priced, not
stored). A fixture that cannot be stored leaves the others stored, and an error file names it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from matchodds.core.items import fixture_item, upload_order
from matchodds.core.keys import ContractError, parse_fixtures_key, priced_key
from matchodds.core.pricing import (
    OddsSource,
    Pair,
    PricedFile,
    not_published_source,
    price_columns,
    price_file,
    priced_csv,
    priced_document,
    stored_source,
)
from matchodds.core.results import (
    MAX_FILE_BYTES,
    FixturesFile,
    ResultsError,
    check_file_size,
    decode,
    parse_any_fixtures,
)
from services.pricing.store import StoredOdds

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
ERROR_CODE = "unreadable_fixtures"
UNSTORED_CODE = "unstored_fixtures"


class FixturesUnreadable(ValueError):
    """A fixtures file that cannot be read; its error file is written, the record fails."""


# What is wrong with the file itself, whatever the code that found it: the parser's ResultsError (line, size,
# dates), a ContractError of an item, or a ValueError or OverflowError of a date's arithmetic. Each gets the
# file's error.json and fails the record; errors of AWS (throttling, a table that kept refusing: ClientError,
# OddsUnreadable, FixturesUnwritten) are no fault of the file, and fail the record without one, to be retried.
FILE_PROBLEMS = (ValueError, OverflowError)


def price_object(
    bucket: str, key: str, s3: S3Client, odds: StoredOdds, uploaded: datetime | None = None, sequencer: str = ""
) -> list[str]:
    """Price the fixtures object at `key`; returns the keys written (none for a key outside fixtures/<c>/).

    `uploaded` (the S3 event's time; the object's LastModified without it) and `sequencer` order this upload
    against others of the same fixtures: a stored fixture is replaced only by an upload at least as new."""
    parsed = parse_fixtures_key(key)
    if parsed is None:
        logger.warning("s3://%s/%s is not a fixtures file of a competition; ignored", bucket, key)
        return []
    competition, name = parsed
    try:
        fixtures, modified = _read(bucket, key, s3, competition)
        order = upload_order(uploaded or modified, key, sequencer)
        pointer = odds.pointer(competition)
        source, priced_odds = _source(competition, fixtures_pairs(fixtures, competition), odds, pointer)
        priced = price_file(fixtures, source, competition)
        bodies = _bodies(competition, priced)
    except FILE_PROBLEMS as error:
        raise _refused(bucket, key, error, s3) from error
    written = _write(bucket, competition, name, priced, bodies, s3)
    if pointer is None:
        logger.info("%s has no odds yet: its fixtures are priced, not stored for GET /fixtures", competition)
        return written
    unstored = _record(competition, name, fixtures, odds, order, str(pointer["version"]), priced_odds)
    if unstored:
        # The file is priced and its other fixtures stored; a retry would change nothing, so the record
        # succeeds, and the error file says which fixtures GET /fixtures will not have.
        message = f"{key}: {len(unstored)} fixture(s) priced but not stored for GET /fixtures"
        document = {"error": UNSTORED_CODE, "message": message, "line": None, "fixtures": unstored}
        written.append(_write_error(bucket, key, document, s3))
        logger.error("%s: %s", message, "; ".join(entry["message"] for entry in unstored))
    return written


def _read(bucket: str, key: str, s3: S3Client, competition: str) -> tuple[FixturesFile, datetime]:
    """(the file parsed, its LastModified); its size is checked on its ContentLength before a byte is read."""
    response = s3.get_object(Bucket=bucket, Key=key)
    body = response["Body"]
    try:
        check_file_size(key, response["ContentLength"])
        text = decode(body.read(MAX_FILE_BYTES + 1))  # and no more, should the object differ from its length
    finally:
        body.close()
    return parse_any_fixtures(text, key, competition), response["LastModified"]


def _refused(bucket: str, key: str, error: Exception, s3: S3Client) -> FixturesUnreadable:
    """Write the file's error.json naming the problem (and its line when known); the error that fails the record."""
    line = error.line if isinstance(error, ResultsError) else None
    message = str(error) if isinstance(error, ResultsError) else f"{key}: {error}"
    document = {"error": ERROR_CODE, "message": message, "line": line}
    error_key = _write_error(bucket, key, document, s3)
    return FixturesUnreadable(f"{message} (written to s3://{bucket}/{error_key})")


def _write_error(bucket: str, key: str, document: dict[str, Any], s3: S3Client) -> str:
    """Write the error file of the fixtures file at `key` (priced/<competition>/<name>.error.json); its key."""
    competition, name = _parsed(key)
    error_key = priced_key(competition, name, "error.json")
    s3.put_object(Bucket=bucket, Key=error_key, Body=_json(document), ContentType="application/json")
    return error_key


def _record(
    competition: str,
    name: str,
    fixtures: FixturesFile,
    odds: StoredOdds,
    order: str,
    version: str,
    priced_odds: dict[Pair, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Store the competition's dated fixtures with our odds of them; the ones that could not be, with why."""
    columns = price_columns(fixtures.header)
    items, unstored = [], []
    for fixture in fixtures.fixtures:
        if fixture.competition != competition or fixture.date is None:
            continue
        try:
            items.append(
                fixture_item(
                    competition,
                    fixture,
                    columns,
                    name,
                    uploaded=order,
                    version=version,
                    odds=priced_odds.get((fixture.home, fixture.away)),
                )
            )
        except FILE_PROBLEMS as error:
            problem = f"{fixture.home} v {fixture.away} on {fixture.date.isoformat()}: {error}"
            unstored.append({"home": fixture.home, "away": fixture.away, "message": problem})
    try:
        recorded = odds.record_fixtures(competition, items)
    except FILE_PROBLEMS as error:  # about the items themselves: a retry would fail the same way
        problem = f"none of the {len(items)} other dated fixtures could be stored: {error}"
        return [*unstored, {"home": None, "away": None, "message": problem}]
    logger.info(
        "stored %d dated fixtures of %s for GET /fixtures (%d moved from another day, %d left to a newer upload)",
        recorded.stored,
        competition,
        recorded.moved,
        len(recorded.superseded),
    )
    return unstored


def fixtures_pairs(fixtures: FixturesFile, competition: str) -> list[tuple[str, str]]:
    """The (home, away) pairs of the competition's rows, each once, in file order."""
    pairs = [(f.home, f.away) for f in fixtures.fixtures if f.competition == competition]
    return list(dict.fromkeys(pairs))


def _source(
    competition: str, pairs: list[tuple[str, str]], odds: StoredOdds, pointer: dict[str, Any] | None
) -> tuple[OddsSource, dict[Pair, dict[str, Any]]]:
    """The source the file is priced from, and the stored odds it holds by pair."""
    if pointer is None:
        return not_published_source(f"no odds have been published for competition {competition} yet"), {}
    version = str(pointer["version"])
    teams = [team["code"] for team in pointer["teams"]]
    known = [pair for pair in pairs if all(code in teams for code in pair)]
    stored = odds.odds(competition, version, known)
    return stored_source(version, teams, stored), stored


def _bodies(competition: str, priced: PricedFile) -> tuple[bytes, bytes]:
    """The priced CSV and JSON files' bytes, made before either is written: a fault in them is the file's."""
    document = {"competition": competition, **priced_document(priced)}
    return priced_csv(priced).encode("utf-8"), _json(document)


def _write(
    bucket: str, competition: str, name: str, priced: PricedFile, bodies: tuple[bytes, bytes], s3: S3Client
) -> list[str]:
    csv_key, json_key = priced_key(competition, name, "csv"), priced_key(competition, name, "json")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=bodies[0], ContentType="text/csv")
    s3.put_object(Bucket=bucket, Key=json_key, Body=bodies[1], ContentType="application/json")
    logger.info(
        "priced %d fixtures of %s (%d unpriced) into %s and %s",
        len(priced.rows),
        competition,
        priced.unpriced,
        csv_key,
        json_key,
    )
    return [csv_key, json_key]


def _parsed(key: str) -> tuple[str, str]:
    """(competition, name) of a key price_object took for a fixtures file."""
    parsed = parse_fixtures_key(key)
    if parsed is None:
        raise ContractError(f"{key} is not a fixtures file's key")
    return parsed


def _json(document: object) -> bytes:
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
