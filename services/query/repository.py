"""Reads odds from DynamoDB for the query Lambda (through adapters.odds_table): the pointer (cached briefly), then
the items asked for.

One fixture is one GetItem; a list of fixtures is one BatchGetItem (100 keys per call, unprocessed
keys retried with backoff); a whole competition is one paginated Query of the current version's
partition (its season table item left out), when the version has no export in S3 to answer with
(services.query.exports: the reader holds one); the season table is one GetItem, when the pointer says the
version has one; the pointers of every served competition are one BatchGetItem; a page of the uploaded fixtures
of a date range is one Query of the competition's fixtures partition (Limit: the page and one more), answered
with the odds pricing stored with them, and read again (one BatchGetItem) only for those priced under an older
version. Each read starts from the
competition's pointer, and a read that finds the current version gone (the pointer moved on under a
stale cache) reads the pointer afresh once. A competition the deployment does not serve is refused
before anything is read.

A version's odds never change, so the served text of a fixture (its JSON, made by the caller) is kept per
warm Lambda under (competition, version, home, away) and answers again without a read while that version is
the current one: the key's version keeps it from ever answering for another. The texts kept are bounded by
their size, the least recently used dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from adapters.odds_table import OddsTable, RetryPolicy, key_attributes
from matchodds.core.items import (
    ODDS_READ_ATTRIBUTES,
    PARTITION_KEY,
    SORT_KEY,
    TABLE_FIELD,
    fixture_range,
    fixtures_partition,
    from_dynamo,
    is_odds_item,
    odds_from_item,
    odds_key,
    odds_partition,
    pointer_key,
    priced_odds,
    table_from_item,
    table_key,
)
from matchodds.core.keys import DEFAULT_COMPETITIONS
from services.query.exports import ExportReader

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda zip has none
    from mypy_boto3_dynamodb import DynamoDBClient

POINTER_CACHE_SECONDS = 10.0
# The odds table's retry policy within the query's 10 s timeout: 6 tries, the pauses capped at 1 s (2.6 s in all).
QUERY_ATTEMPTS, QUERY_BACKOFF_CAP = 6, 1.0
# A fixture's text is about 8 KB (every market priced): the 380 of a 20-team version take 3.0 MiB (tracemalloc,
# the keys and the cache's own overhead included). 64 MiB keeps some 8,400: all the pairings of twenty such
# versions or most of a 96-team league's, in a Lambda of 512 MB whose cold handler peaks near 70 MiB.
TEXT_CACHE_BYTES = 64 * 2**20


class CompetitionNotServed(LookupError):
    """A competition this deployment does not serve: not in its MATCHODDS_COMPETITIONS."""

    def __init__(self, competition: str) -> None:
        super().__init__(f"competition {competition} is not served here; GET /competitions lists the ones that are")
        self.competition = competition


class OddsNotReady(LookupError):
    """No version of this competition's odds has been published yet."""

    def __init__(self, competition: str) -> None:
        super().__init__(f"no odds have been published for competition {competition} yet")
        self.competition = competition


class OddsUnavailable(RuntimeError):
    """The table kept throttling a read after every retry; worth trying again shortly."""

    def __init__(self, competition: str, unread: str) -> None:
        super().__init__(f"{unread} could not be read in time; try again")
        self.competition = competition


class TableNotProjected(LookupError):
    """The current version has no season table: its posterior recorded no season."""

    def __init__(self, competition: str, version: str) -> None:
        super().__init__(
            f"version {version} of competition {competition} has no season table: its fit recorded no season "
            f"(a season whose teams are not all known yet, or a version from before tables)"
        )
        self.competition, self.version = competition, version


class UnknownTeam(LookupError):
    """A team code that the current version does not know."""

    def __init__(self, competition: str, codes: list[str]) -> None:
        names = ", ".join(codes)
        super().__init__(f"unknown team{'s' if len(codes) > 1 else ''} {names} in competition {competition}")
        self.competition, self.codes = competition, codes


Pair = tuple[str, str]
# The JSON text of one fixture's served document, from its odds and the pointer of their version.
Render = Callable[[dict[str, Any], dict[str, Any]], str]
TextKey = tuple[str, str, str, str]  # (competition, version, home, away)


class TextCache:
    """Texts by key, the least recently used dropped first once their characters pass `max_chars`."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars, self.chars = max_chars, 0
        self._texts: OrderedDict[TextKey, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, key: TextKey) -> str | None:
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text

    def clear(self) -> None:
        self._texts.clear()
        self.chars = 0

    def put(self, key: TextKey, text: str) -> str:
        """Keep `text` under `key` and return it."""
        previous = self._texts.pop(key, None)
        self.chars += len(text) - (len(previous) if previous is not None else 0)
        self._texts[key] = text
        while self.chars > self.max_chars and len(self._texts) > 1:
            _, dropped = self._texts.popitem(last=False)
            self.chars -= len(dropped)
        return text


class OddsReader:
    """The query side of the odds table, for the competitions a deployment serves."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        clock: Callable[[], float] = time.monotonic,
        *,
        competitions: Sequence[str] = DEFAULT_COMPETITIONS,
        max_attempts: int = QUERY_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        exports: ExportReader | None = None,
        text_cache_bytes: int = TEXT_CACHE_BYTES,
    ) -> None:
        """`exports` reads the versions' exports in S3 for the whole table; without it, the table is the items."""
        self.table, self.client, self.clock = table, client, clock
        self.exports = exports
        self.texts = TextCache(text_cache_bytes)  # the texts are JSON, ASCII: a character is a byte
        self.competitions = tuple(competitions)
        self.odds = OddsTable(table, client, RetryPolicy(attempts=max_attempts, cap=QUERY_BACKOFF_CAP, sleep=sleep))
        self._pointers: dict[str, tuple[float, dict[str, Any]]] = {}

    def pointer(self, competition: str) -> dict[str, Any]:
        """The current version's pointer item, cached for a few seconds per warm Lambda."""
        if competition not in self.competitions:
            raise CompetitionNotServed(competition)
        cached = self._pointers.get(competition)
        if cached and cached[0] > self.clock():
            return cached[1]
        item = self.odds.get(pointer_key(competition))
        if item is None:
            raise OddsNotReady(competition)
        return self._remember(competition, from_dynamo(item))

    def pointers(self) -> dict[str, dict[str, Any]]:
        """The pointer of every served competition that has published, by competition, read afresh in one batch."""
        by_partition = {pointer_key(competition)[PARTITION_KEY]: competition for competition in self.competitions}
        items, unread = self.odds.batch_get([pointer_key(competition) for competition in self.competitions])
        if unread:
            missing = ", ".join(by_partition[key[PARTITION_KEY]] for key in unread)
            raise OddsUnavailable(missing, f"the current versions of {missing}")
        pointers: dict[str, dict[str, Any]] = {}
        for item in items:
            competition = by_partition[item[PARTITION_KEY]]
            pointers[competition] = self._remember(competition, from_dynamo(item))
        return pointers

    def _remember(self, competition: str, pointer: dict[str, Any]) -> dict[str, Any]:
        """A pointer item as read, with its team names by code, cached for a few seconds."""
        pointer["team_names"] = {team["code"]: team["name"] for team in pointer["teams"]}
        self._pointers[competition] = (self.clock() + POINTER_CACHE_SECONDS, pointer)
        return pointer

    def _fresh_pointer(self, competition: str) -> dict[str, Any]:
        self._pointers.pop(competition, None)
        return self.pointer(competition)

    def fixture(self, competition: str, home: str, away: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(odds, pointer) for one fixture of the current version; UnknownTeam names any unknown code."""
        pointer = self.pointer(competition)
        unknown = [code for code in (home, away) if code not in pointer["team_names"]]
        if unknown:
            raise UnknownTeam(competition, unknown)
        for attempt in range(2):
            item = self.odds.get(odds_key(competition, pointer["version"], home, away))
            if item is not None:
                return odds_from_item(item), pointer
            if attempt == 0:
                pointer = self._fresh_pointer(competition)
        raise OddsNotReady(competition)

    def fixtures(self, competition: str, pairs: Iterable[Pair]) -> tuple[dict[Pair, dict[str, Any]], dict[str, Any]]:
        """(odds by pair, pointer) for the pairs whose teams the current version knows, in one batch read.

        Pairs with an unknown team are left out of the result (the caller reports them); the same pair
        asked for twice is read once.
        """
        pointer = self.pointer(competition)
        wanted = list(dict.fromkeys(pairs))
        for attempt in range(2):
            known = [pair for pair in wanted if all(code in pointer["team_names"] for code in pair)]
            found = self._batch_get(competition, pointer["version"], known)
            if len(found) == len(known):
                return found, pointer
            if attempt == 0:
                pointer = self._fresh_pointer(competition)
        raise OddsNotReady(competition)

    def fixture_text(self, competition: str, home: str, away: str, render: Render) -> tuple[str, dict[str, Any]]:
        """(the fixture's text as `render` makes it, pointer) of the current version: kept, or read and kept."""
        pointer = self.pointer(competition)
        text = self.texts.get((competition, pointer["version"], home, away))
        if text is not None:
            return text, pointer
        odds, pointer = self.fixture(competition, home, away)
        return self.texts.put((competition, pointer["version"], home, away), render(odds, pointer)), pointer

    def fixture_texts(
        self, competition: str, pairs: Iterable[Pair], render: Render
    ) -> tuple[dict[Pair, str], dict[str, Any]]:
        """(texts by pair as `render` makes them, pointer) of the current version, as fixtures() reads them: the
        pairs whose text is kept are not read again, and the others are read in one batch and kept."""
        pointer = self.pointer(competition)
        wanted = list(dict.fromkeys(pairs))
        texts = {pair: self.texts.get((competition, pointer["version"], *pair)) for pair in wanted}
        unkept = [pair for pair, text in texts.items() if text is None]  # with any pair of an unknown team
        found, read = self.fixtures(competition, unkept) if unkept else ({}, pointer)
        if read["version"] != pointer["version"]:  # the pointer moved on: every text from the version read
            found, pointer = self.fixtures(competition, wanted)
            texts = {}
        version = pointer["version"]
        for pair, odds in found.items():
            texts[pair] = self.texts.put((competition, version, *pair), render(odds, pointer))
        return {pair: text for pair, text in texts.items() if text is not None}, pointer

    def _batch_get(self, competition: str, version: str, pairs: list[Pair]) -> dict[Pair, dict[str, Any]]:
        # Odds items are read with only the attributes odds_from_item uses: in a batch of 100, moto's share of the
        # read fell by a third without the partition key and the expiry (bench/query.py).
        keys = [odds_key(competition, version, *pair) for pair in pairs]
        items, unread = self.odds.batch_get(keys, ODDS_READ_ATTRIBUTES)
        if unread:
            raise OddsUnavailable(competition, f"{len(unread)} fixture(s) of competition {competition}")
        found: dict[Pair, dict[str, Any]] = {}
        for item in items:
            odds = odds_from_item(item)
            found[(odds["home"], odds["away"])] = odds
        return found

    def table_odds(self, competition: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(every pairing's odds sorted by home then away, pointer) of the current version, by a paginated Query."""
        pointer = self.pointer(competition)
        for attempt in range(2):
            partition = self._partition(odds_partition(competition, pointer["version"]))
            odds = [odds_from_item(item) for item in partition if is_odds_item(item)]
            if odds:
                return sorted(odds, key=lambda entry: (entry["home"], entry["away"])), pointer
            if attempt == 0:
                pointer = self._fresh_pointer(competition)
        raise OddsNotReady(competition)

    def season_table(self, competition: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the season table document, pointer) of the current version; TableNotProjected when it has none."""
        pointer = self.pointer(competition)
        for attempt in range(2):
            if not pointer.get(TABLE_FIELD):
                raise TableNotProjected(competition, pointer["version"])
            item = self.odds.get(table_key(competition, pointer["version"]))
            if item is not None:
                return table_from_item(item), pointer
            if attempt == 0:
                pointer = self._fresh_pointer(competition)
        raise OddsNotReady(competition)

    def fixture_page(
        self, competition: str, first: date, last: date, limit: int, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """(up to `limit` uploaded fixture items from `first` to `last` by date then teams, the sort key of the last
        one when more follow, else None); `after`: the sort key the page starts after."""
        low, high = fixture_range(first, last)
        items: list[dict[str, Any]] = []
        start = after
        while len(items) <= limit:
            request: dict[str, Any] = {
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                "ExpressionAttributeValues": {
                    ":pk": {"S": fixtures_partition(competition)},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
                "Limit": limit + 1 - len(items),  # one more than the page: whether another follows
            }
            if start is not None:
                request["ExclusiveStartKey"] = key_attributes(
                    {PARTITION_KEY: fixtures_partition(competition), SORT_KEY: start}
                )
            page, last_read = self.odds.query_page(**request)
            items += page
            if not last_read:
                break
            start = last_read[SORT_KEY]
        if len(items) > limit:
            return items[:limit], str(items[limit - 1][SORT_KEY])
        return items, None

    def priced_fixtures(
        self, competition: str, items: Sequence[dict[str, Any]]
    ) -> tuple[dict[Pair, dict[str, Any]], dict[str, Any]]:
        """(odds by pair, pointer) of stored fixture items: the odds pricing stored with each, when priced under
        the current version, else read (one batch for a page); a pair with a team the version lacks has none."""
        pairs = list(dict.fromkeys((str(item["home"]), str(item["away"])) for item in items))
        pointer = self.pointer(competition)
        for _ in range(2):
            kept: dict[Pair, dict[str, Any]] = {}
            for item in items:
                odds = priced_odds(item, pointer["version"])
                if odds is not None:
                    kept[(odds["home"], odds["away"])] = odds
            stale = [pair for pair in pairs if pair not in kept]
            if not stale:
                return kept, pointer
            found, read = self.fixtures(competition, stale)
            if read["version"] == pointer["version"]:
                return {**kept, **found}, pointer
            pointer = read  # the version moved on while reading: what pricing kept is of an older one now
        return self.fixtures(competition, pairs)

    def fixture_day(self, competition: str, day: date, *, after: bool = True) -> date | None:
        """The first day on or after `day` with an uploaded fixture (after=False: the last on or before it)."""
        low, high = fixture_range(day, day)
        items, _ = self.odds.query_page(
            KeyConditionExpression=f"#pk = :pk AND #sk {'>=' if after else '<='} :day",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={
                ":pk": {"S": fixtures_partition(competition)},
                ":day": {"S": low if after else high},
            },
            ScanIndexForward=after,
            Limit=1,
        )
        return date.fromisoformat(items[0]["date"]) if items else None

    def _partition(
        self, partition: str, condition: str = "#pk = :pk", values: Mapping[str, Any] | None = None
    ) -> Iterable[dict[str, Any]]:
        names = {"#pk": PARTITION_KEY, **({"#sk": SORT_KEY} if "#sk" in condition else {})}
        return self.odds.query(
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":pk": {"S": partition}, **(values or {})},
        )
