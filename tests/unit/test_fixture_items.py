"""The stored fixture items: what the pricing Lambda writes for GET /fixtures, and read back as a fixtures file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from fnmatch import fnmatchcase

import pytest
from boto3.dynamodb.types import TypeSerializer

from matchodds.core.items import (
    EXPIRES_ATTRIBUTE,
    FIXTURE_TTL_DAYS,
    ODDS_FIELDS,
    fixture_expiry,
    fixture_item,
    fixture_order_key,
    fixture_range,
    fixture_season,
    fixtures_from_items,
    fixtures_partition,
    priced_odds,
    upload_order,
)
from matchodds.core.keys import ContractError
from matchodds.core.pricing import bookmakers, goals_bookmakers, price_columns
from matchodds.core.results import Fixture, read_fixtures_file, season_bounds
from tests.conftest import DATA

pytestmark = pytest.mark.unit
FIXTURES_FILE = DATA / "football-data" / "E0-2024-25-fixtures.csv"


def test_a_football_data_fixture_is_stored_with_its_prices_and_read_back_as_the_file_had_it() -> None:
    uploaded = read_fixtures_file(FIXTURES_FILE)
    columns = price_columns(uploaded.header)
    assert columns[:3] == ["B365H", "B365D", "B365A"] and columns[-2:] == ["BFE>2.5", "BFE<2.5"]
    assert "AHh" not in columns and "B365AHH" not in columns  # Asian handicap prices are not priced, so not kept
    items = [fixture_item("E0", fixture, columns, "opening.csv") for fixture in uploaded.fixtures]
    united = items[0]
    assert (united["pk"], united["sk"], united["kickoff"], united["source"]) == (
        "FIXTURES#E0",
        "2024-08-16#MUN#FUL",
        "20:00",
        "opening.csv",
    )
    assert united[EXPIRES_ATTRIBUTE] == 1723766400 + FIXTURE_TTL_DAYS * 86400  # 2024-08-16 00:00 UTC + 200 days
    # Small: 37 prices, well under a kilobyte as DynamoDB stores it.
    serialized = str({key: TypeSerializer().serialize(value) for key, value in united.items()})
    assert len(serialized) < 2000

    stored = fixtures_from_items("E0", sorted(items, key=lambda item: item["sk"]))
    assert bookmakers(stored.header) == bookmakers(uploaded.header)
    assert goals_bookmakers(stored.header) == goals_bookmakers(uploaded.header)
    by_pair = {(f.home, f.away): f for f in uploaded.fixtures}
    for fixture in stored.fixtures:
        original = by_pair[(fixture.home, fixture.away)]
        assert (fixture.date, fixture.kickoff) == (original.date, original.kickoff)
        assert fixture.numbers == {column: original.numbers[column] for column in columns}
        assert fixture.cells[:5] == ("E0", original.date.isoformat(), original.kickoff, fixture.home, fixture.away)


def test_an_undated_fixture_is_not_stored() -> None:
    with pytest.raises(ContractError, match="ARS v CHE has no date"):
        fixture_item("E0", Fixture("E0", None, "ARS", "CHE"), [], "plain.csv")


def test_a_date_range_takes_every_fixture_of_both_end_days_and_a_season_runs_july_to_june() -> None:
    low, high = fixture_range(date(2024, 8, 16), date(2024, 8, 17))
    keys = ["2024-08-15#ZZZ#ZZZ", "2024-08-16#AAA#BBB", "2024-08-17#ZZZ#YYY", "2024-08-18#AAA#BBB"]
    assert [key for key in keys if low <= key <= high] == keys[1:3]
    assert season_bounds(date(2025, 1, 5)) == season_bounds(date(2024, 7, 1)) == (date(2024, 7, 1), date(2025, 6, 30))


def test_no_date_makes_a_fixture_item_or_its_season_overflow() -> None:
    # 31/12/9999 once crashed pricing after the priced files: its expiry (the day + 200 days) and its season's end
    # (30 June 10000) overflowed. The parser refuses such dates now; the items still must not overflow on one.
    last = fixture_item("E0", Fixture("E0", date.max, "ARS", "CHE"), [], "far.csv", uploaded="u")
    # 9999-12-31 00:00 UTC: the calendar's end, not an overflow
    assert last[EXPIRES_ATTRIBUTE] == int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())
    assert fixture_season(date.max) == (date(9999, 7, 1), date.max)
    assert fixture_season(date(1, 3, 1)) == (date.min, date(1, 6, 30))
    assert fixture_season(date(2025, 1, 5)) == season_bounds(date(2025, 1, 5))
    assert fixture_expiry(date(2024, 8, 16)) == 1723766400 + FIXTURE_TTL_DAYS * 86400


def test_uploads_sort_by_time_then_sequencer_then_key_and_a_priced_fixture_keeps_its_version_and_odds() -> None:
    morning = datetime(2025, 8, 1, 9, 0, 0, 1000, tzinfo=UTC)
    orders = [
        upload_order(morning, "fixtures/E0/b.csv"),
        upload_order(morning + timedelta(milliseconds=1), "fixtures/E0/a.csv"),
        upload_order(morning + timedelta(milliseconds=1), "fixtures/E0/a.csv", "0055B9A3"),
        upload_order(morning.astimezone(timezone(timedelta(hours=2))) + timedelta(seconds=1), "fixtures/E0/a.csv"),
        upload_order(datetime(2025, 8, 2), "fixtures/E0/a.csv"),  # a naive time is UTC
    ]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    odds = {name: 0.25 for name in ODDS_FIELDS} | {
        "likely_score": "1-1",
        "markets": {"over": {"2.5": 0.5}, "btts": 0.5},
    }
    odds["markets"]["over"]["1.5"] = 0.7  # the rest of the map is not kept
    item = fixture_item("E0", Fixture("E0", date(2025, 8, 16), "ARS", "CHE"), [], "w.csv", version="V1", odds=odds)
    kept = priced_odds(item, "V1")
    assert kept is not None and kept["markets"] == {"over": {"2.5": 0.5}, "btts": 0.5}
    assert {name: kept[name] for name in ODDS_FIELDS} == {name: odds[name] for name in ODDS_FIELDS}
    assert (kept["home"], kept["away"]) == ("ARS", "CHE")
    assert priced_odds(item, "V2") is None  # priced under another version: read again
    # The order items sit under the fixtures' partition prefix, which pricing's IAM condition allows, apart
    # from the fixtures partition itself, which GET /fixtures queries by date.
    order = fixture_order_key("E0", date(2025, 8, 16), "ARS", "CHE")
    assert fnmatchcase(order["pk"], fixtures_partition("*")) and order["pk"] != fixtures_partition("E0")
    assert order["sk"] == "2025-07-01#ARS#CHE"  # a match: a pairing of a season, whichever day it moves to
