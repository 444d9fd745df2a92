"""GET /odds from the version's export in S3, and odds items of either layout served alike, against moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests

from matchodds.core.grid import PredictionDraws, all_fixtures
from matchodds.core.keys import export_key
from matchodds.core.posterior import Posterior
from services.precompute.pipeline import fixture_fields
from services.precompute.store import OddsWriter
from services.pricing.store import StoredOdds
from services.query import handler
from services.query.exports import MISSING_RETRY_SECONDS, PRESIGNED_URL_SECONDS
from services.query.repository import POINTER_CACHE_SECONDS
from tests.integration.conftest import Clock, Reply, count_calls, publish, served_by
from tests.odds_layout_v1 import odds_item_v1

pytestmark = pytest.mark.integration
FORMATS = {"json": "", "csv": "format=csv"}


def export_text(aws: dict[str, str], version: str, export_format: str) -> str:
    body = boto3.client("s3").get_object(Bucket=aws["bucket"], Key=export_key("E0", version, export_format))["Body"]
    return str(body.read().decode("utf-8"))


def delete_exports(aws: dict[str, str], version: str) -> None:
    for export_format in FORMATS:
        boto3.client("s3").delete_object(Bucket=aws["bucket"], Key=export_key("E0", version, export_format))


def test_the_table_is_the_versions_export_read_once(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = {export_format: export_text(aws, published.version, export_format) for export_format in FORMATS}
    calls = count_calls(monkeypatch)
    for _ in range(3):
        for export_format, query in FORMATS.items():
            reply = api("GET", "/odds", query)
            assert reply.status == 200 and reply.text == exported[export_format]
            assert reply.headers["etag"] == f'"E0-{published.version}-{export_format}"'
    assert calls.get("s3:GetObject") == 2 and "dynamodb:Query" not in calls  # one read per format, then memory


def test_the_export_is_exactly_what_the_items_give(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version without its export (from before exports, or a failed one) is read from its items, byte for byte
    the same reply."""
    from_export = {fmt: api("GET", "/odds", query) for fmt, query in FORMATS.items()}
    delete_exports(aws, published.version)
    handler.reader.cache_clear()
    calls = count_calls(monkeypatch)
    for export_format, query in FORMATS.items():
        from_items = api("GET", "/odds", query)
        assert from_items.status == 200 and from_items.text == from_export[export_format].text
        assert from_items.headers == from_export[export_format].headers
    assert calls["dynamodb:Query"] == 2


def test_a_missing_export_is_looked_for_again_later(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the pointer's flip and the export, the items answer; the export is found once it is there."""
    text = export_text(aws, published.version, "json")
    delete_exports(aws, published.version)
    clock = Clock()
    calls = count_calls(monkeypatch)
    served_by(monkeypatch, aws, clock)
    assert api("GET", "/odds").text == text and calls == {"s3:GetObject": 1, "dynamodb:GetItem": 1, "dynamodb:Query": 1}
    boto3.client("s3").put_object(Bucket=aws["bucket"], Key=export_key("E0", published.version, "json"), Body=text)
    calls.clear()
    assert api("GET", "/odds").text == text and calls == {"dynamodb:Query": 1}  # absence remembered a while
    clock.now += MISSING_RETRY_SECONDS + 1
    calls.clear()
    assert api("GET", "/odds").text == text and calls.get("s3:GetObject") == 1 and "dynamodb:Query" not in calls


def test_a_table_too_large_for_a_lambda_reply_is_a_redirect_to_the_export(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = {export_format: export_text(aws, published.version, export_format) for export_format in FORMATS}
    calls = count_calls(monkeypatch)
    served_by(monkeypatch, aws, Clock(), inline_reply_bytes=1000)
    for export_format, query in FORMATS.items():
        for _ in range(2):
            reply = api("GET", "/odds", query)
            assert reply.status == 303 and reply.text == ""
            location = urlparse(reply.headers["location"])
            assert location.path.endswith(export_key("E0", published.version, export_format))
            assert parse_qs(location.query)["X-Amz-Expires"] == [str(PRESIGNED_URL_SECONDS)]
            fetched = requests.get(reply.headers["location"], timeout=10)  # served by moto, as by S3
            assert fetched.status_code == 200 and fetched.text == exported[export_format]
        if export_format == "csv":
            assert fetched.headers["content-disposition"] == f'attachment; filename="E0-{published.version}.csv"'
    assert calls["s3:GetObject"] == 2  # one per format, and each body left unread


def test_a_new_version_replaces_the_one_kept(
    aws: dict[str, str],
    api: Callable[..., Reply],
    published: Posterior,
    make_posterior: Callable[..., Posterior],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    reader = served_by(monkeypatch, aws, clock)
    assert api("GET", "/odds").json()["model"]["version"] == published.version
    newer = make_posterior(codes=("ARS", "CHE", "LIV", "MCI"), version="20250602T060000Z", seed=7)
    publish(aws, newer)
    clock.now += POINTER_CACHE_SECONDS + 1
    assert api("GET", "/odds").text == export_text(aws, newer.version, "json")
    assert reader.exports is not None and reader.exports.cached_versions == {"E0": newer.version}


def test_an_unchanged_table_is_a_304(api: Callable[..., Reply], published: Posterior) -> None:
    etag = api("GET", "/odds", "format=csv").headers["etag"]
    assert api("GET", "/odds", "format=csv", headers={"If-None-Match": f"W/{etag}"}).status == 304
    assert api("GET", "/odds", headers={"If-None-Match": etag}).status == 200  # the JSON is another entity


def write_layout_1(aws: dict[str, str], posterior: Posterior) -> None:
    """Every odds item of the version rewritten as the precompute before layout 2 wrote it."""
    codes = posterior.team_codes
    items = [
        odds_item_v1("E0", posterior.version, codes[f.home], codes[f.away], fixture_fields(f))
        for f in all_fixtures(PredictionDraws.from_posterior(posterior), markets=True)
    ]
    OddsWriter(aws["table"], boto3.client("dynamodb")).write_items(items)


def test_what_is_served_does_not_depend_on_the_items_layout(
    aws: dict[str, str], api: Callable[..., Reply], published: Posterior
) -> None:
    pairs = [{"home": home, "away": away} for home in published.team_codes for away in published.team_codes]
    pairs = [pair for pair in pairs if pair["home"] != pair["away"]]
    delete_exports(aws, published.version)  # so that GET /odds reads the items too

    def served() -> tuple[list[str], dict[Any, Any]]:
        handler.reader.cache_clear()
        replies = [
            api("GET", "/odds/ARS/CHE"),
            api("GET", "/odds/MCI/LIV"),
            api("POST", "/odds", body=str(pairs).replace("'", '"')),
            api("GET", "/odds"),
            api("GET", "/odds", "format=csv"),
        ]
        assert all(reply.status == 200 for reply in replies)
        pricing = StoredOdds(aws["table"], boto3.client("dynamodb")).odds(
            "E0", published.version, [(pair["home"], pair["away"]) for pair in pairs]
        )
        return [reply.text for reply in replies], pricing

    layout_2 = served()
    write_layout_1(aws, published)
    item = boto3.client("dynamodb").get_item(
        TableName=aws["table"], Key={"pk": {"S": f"ODDS#E0#{published.version}"}, "sk": {"S": "ARS#CHE"}}
    )["Item"]
    assert "markets" in item and "schema" not in item  # layout 1 indeed
    assert served() == layout_2
