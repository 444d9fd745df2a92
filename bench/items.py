"""Odds item benchmark: the size of every stored item as DynamoDB counts it, and the cost to make and read one.

    python -m bench.items (--posterior P.npz | --teams 96 [--draws 4000])

Every pairing of the posterior is stored in both layouts of matchodds/core/items.py: layout 2 (what precompute
writes: one zlib-compressed JSON attribute and a schema version) and layout 1 (before it: every field an
attribute, the markets a nested map; tests/odds_layout_v1.py). Size is `item_size` with the expiry precompute
adds (one read unit covers 4 KB); the write is the item made and serialised by boto3 as precompute's writer
does (not botocore's JSON, nor the call); the read is `odds_from_item` of the item as
boto3 gives it back (its TypeDeserializer on the wire form), per item, median over every item.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import report_result

READ_UNIT_BYTES = 4096


def items_child(args: argparse.Namespace) -> None:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from bench.posteriors import load_posterior
    from matchodds.core.grid import PredictionDraws, all_fixtures
    from matchodds.core.items import EXPIRES_ATTRIBUTE, item_size, odds_from_item, odds_item
    from services.precompute.pipeline import fixture_fields
    from tests.odds_layout_v1 import odds_item_v1

    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    posterior = load_posterior(args.posterior, args.teams, args.draws)
    codes = posterior.team_codes
    layouts = {"layout_2": odds_item, "layout_1": odds_item_v1}
    sizes: dict[str, list[int]] = {name: [] for name in layouts}
    write_us: dict[str, list[float]] = {name: [] for name in layouts}
    read_us: dict[str, list[float]] = {name: [] for name in layouts}
    for fixture in all_fixtures(PredictionDraws.from_posterior(posterior), markets=True):
        fields = fixture_fields(fixture)
        home, away = codes[fixture.home], codes[fixture.away]
        for name, layout in layouts.items():
            started = time.perf_counter()
            item = layout(posterior.competition, posterior.version, home, away, fields)
            wire = {key: serializer.serialize(value) for key, value in item.items()}
            write_us[name].append((time.perf_counter() - started) * 1e6)
            sizes[name].append(item_size({**item, EXPIRES_ATTRIBUTE: 2_000_000_000}))
            started = time.perf_counter()
            odds_from_item({key: deserializer.deserialize(value) for key, value in wire.items()})
            read_us[name].append((time.perf_counter() - started) * 1e6)
    result: dict[str, Any] = {
        "teams": len(codes),
        "items": len(sizes["layout_2"]),
        "draws": int(posterior.flat("intercept").size),
    }
    for name in layouts:
        result[name] = {
            "max_bytes": max(sizes[name]),
            "median_bytes": statistics.median(sizes[name]),
            "over_one_read_unit": sum(size > READ_UNIT_BYTES for size in sizes[name]),
            "write_us": statistics.median(write_us[name]),
            "read_us": statistics.median(read_us[name]),
        }
    report_result(result)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.items", description=__doc__.splitlines()[0])
    parser.add_argument("--posterior", type=Path, help="a posterior file; default: a synthetic one")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--draws", type=int, default=4000)
    items_child(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
