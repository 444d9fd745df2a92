"""The posterior file and the key layout: a round trip, and every defect refused."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import numpy as np
import pytest

from matchodds.contract import (
    ContractError,
    Posterior,
    decode_posterior,
    encode_posterior,
    parse_posterior_key,
    posterior_key,
)

pytestmark = pytest.mark.unit


def test_round_trip_keeps_every_chain_and_the_metadata(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior(chains=4, draws=25)
    again = decode_posterior(encode_posterior(posterior))
    assert again.team_codes == posterior.team_codes and again.team_names == posterior.team_names
    assert again.meta == posterior.meta
    assert again.draws["attack"].shape == (4, 25, 4)
    np.testing.assert_array_equal(again.draws["home"], posterior.draws["home"])


def test_the_file_needs_no_pickle(make_posterior: Callable[..., Posterior]) -> None:
    with np.load(io.BytesIO(encode_posterior(make_posterior())), allow_pickle=False) as npz:
        assert {"meta", "team_codes", "draws/attack"} <= set(npz.files)


def _tampered(posterior: Posterior, changes: dict[str, np.ndarray | None]) -> bytes:
    """The posterior's file with arrays replaced, or removed where the change is None."""
    with np.load(io.BytesIO(encode_posterior(posterior)), allow_pickle=False) as npz:
        content = {name: npz[name] for name in npz.files}
    content.update(changes)
    buffer = io.BytesIO()
    np.savez(buffer, **{name: value for name, value in content.items() if value is not None})
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: {"draws/attack": np.full_like(p.draws["attack"], np.nan)}, "not all finite"),
        (lambda p: {"draws/attack": p.draws["attack"][..., :3]}, "shape"),
        (lambda p: {"draws/home": p.draws["home"][None]}, "shape"),
        (lambda p: {"team_codes": np.array(["ARS", "CHE", "LIV"])}, "team names do not match"),
        (lambda p: {"team_codes": np.array(["ARS", "ARS", "LIV", "MCI"])}, "unique"),
        (lambda p: {"draws/defence": None}, "lacks draws of ['defence']"),
        (lambda p: {"meta": None}, "lacks ['meta']"),
        (lambda p: {"meta": np.array('{"format": 1}')}, "meta lacks"),
        (lambda p: {"draws/intercept": p.draws["intercept"] + 5}, "goals a match"),
    ],
)
def test_broken_posteriors_are_refused(make_posterior: Callable[..., Posterior], change, message: str) -> None:
    posterior = make_posterior()
    with pytest.raises(ContractError, match=re.escape(message)):
        decode_posterior(_tampered(posterior, change(posterior)))


def test_garbage_is_refused() -> None:
    with pytest.raises(ContractError, match="not a readable npz"):
        decode_posterior(b"not a zip at all")


def test_keys() -> None:
    assert posterior_key("E0", "20250526T060000Z") == "posteriors/E0/20250526T060000Z.npz"
    assert parse_posterior_key("posteriors/E0/20250526T060000Z.npz") == ("E0", "20250526T060000Z")
    for other in (
        "results/E0/2024-25.csv",
        "posteriors/E0/latest.npz",
        "posteriors/e0/20250526T060000Z.npz",
        "posteriors/E0/20250526T060000Z.json",
        "posteriors/E0/x/20250526T060000Z.npz",
    ):
        assert parse_posterior_key(other) is None
    with pytest.raises(ContractError):
        posterior_key("E0/../x", "20250526T060000Z")
