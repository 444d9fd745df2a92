"""Reads odds from DynamoDB for the query Lambda: the pointer (cached briefly) and one item per fixture."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from matchodds.contract import from_dynamo, odds_from_item, odds_key, pointer_key

POINTER_CACHE_SECONDS = 10.0
_deserializer = TypeDeserializer()


class OddsNotReady(LookupError):
    """No version of this competition's odds has been published yet."""

    def __init__(self, competition: str) -> None:
        super().__init__(f"no odds have been published for competition {competition} yet")
        self.competition = competition


class UnknownTeam(LookupError):
    """A team code that the current version does not know."""

    def __init__(self, competition: str, codes: list[str]) -> None:
        names = ", ".join(codes)
        super().__init__(f"unknown team{'s' if len(codes) > 1 else ''} {names} in competition {competition}")
        self.competition, self.codes = competition, codes


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


class OddsReader:
    """The query side of the odds table."""

    def __init__(self, table: str, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.table, self.client, self.clock = table, client, clock
        self._pointers: dict[str, tuple[float, dict[str, Any]]] = {}

    def pointer(self, competition: str) -> dict[str, Any]:
        """The current version's pointer item, cached for a few seconds per warm Lambda."""
        cached = self._pointers.get(competition)
        if cached and cached[0] > self.clock():
            return cached[1]
        response = self.client.get_item(
            TableName=self.table, Key={k: {"S": v} for k, v in pointer_key(competition).items()}
        )
        if "Item" not in response:
            raise OddsNotReady(competition)
        pointer = from_dynamo(_plain(response["Item"]))
        pointer["team_names"] = {team["code"]: team["name"] for team in pointer["teams"]}
        self._pointers[competition] = (self.clock() + POINTER_CACHE_SECONDS, pointer)
        return pointer

    def fixture(self, competition: str, home: str, away: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(odds, pointer) for one fixture of the current version; UnknownTeam names any unknown code."""
        pointer = self.pointer(competition)
        unknown = [code for code in (home, away) if code not in pointer["team_names"]]
        if unknown:
            raise UnknownTeam(competition, unknown)
        key = odds_key(competition, pointer["version"], home, away)
        response = self.client.get_item(TableName=self.table, Key={k: {"S": v} for k, v in key.items()})
        if "Item" not in response:
            # The pointer moved on and this version expired under a stale cache: read afresh once.
            self._pointers.pop(competition, None)
            pointer = self.pointer(competition)
            key = odds_key(competition, pointer["version"], home, away)
            response = self.client.get_item(TableName=self.table, Key={k: {"S": v} for k, v in key.items()})
            if "Item" not in response:
                raise OddsNotReady(competition)
        return odds_from_item(_plain(response["Item"])), pointer
