"""The stored fixture items: what the pricing Lambda writes for GET /fixtures, and read back as a fixtures file."""

from __future__ import annotations

from datetime import date

import pytest
from boto3.dynamodb.types import TypeSerializer

from matchodds.core.items import (
    EXPIRES_ATTRIBUTE,
    FIXTURE_TTL_DAYS,
    fixture_item,
    fixture_range,
    fixtures_from_items,
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
