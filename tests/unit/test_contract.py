"""The posterior file and the key layout: a round trip, and every defect refused."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from matchodds.core.grid import PredictionDraws, dixon_coles_taus, low_score_taus, score_grids
from matchodds.core.keys import ContractError, parse_posterior_key, posterior_key
from matchodds.core.posterior import (
    EXPECTED_GOALS_RANGE,
    MAX_CLOCK_SKEW,
    MAX_POSTERIOR_BYTES,
    PARAMETER_RANGES,
    Posterior,
    decode_posterior,
    encode_posterior,
    validate_posterior,
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
        (lambda p: {"draws/intercept": p.draws["intercept"] + 5}, "draws of intercept reach 5."),
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


# --- A version's time -------------------------------------------------------------------------------
NOW = datetime(2025, 5, 26, 6, 0, tzinfo=UTC)


def _with_meta(posterior: Posterior, **changes: str) -> Posterior:
    return replace(posterior, meta={**posterior.meta, **changes})


def test_a_far_future_version_is_refused(make_posterior: Callable[..., Posterior]) -> None:
    """99991231T235959Z would pin the pointer: an older version never replaces a newer one."""
    future = _with_meta(make_posterior(), version="99991231T235959Z", created_at="9999-12-31T23:59:59+00:00")
    blob = _tampered(make_posterior(), {"meta": np.array(json.dumps(future.meta))})
    with pytest.raises(ContractError, match=re.escape("posterior version 99991231T235959Z is from the future")):
        decode_posterior(blob)  # against the real clock


def test_a_version_may_be_ahead_of_the_clock_by_the_skew_and_no_more(make_posterior: Callable[..., Posterior]) -> None:
    at_the_limit = NOW + MAX_CLOCK_SKEW
    validate_posterior(make_posterior(version=at_the_limit.strftime("%Y%m%dT%H%M%SZ")), now=NOW)
    beyond = make_posterior(version=(at_the_limit + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ"))
    with pytest.raises(ContractError, match="is from the future"):
        validate_posterior(beyond, now=NOW)
    assert decode_posterior(encode_posterior(beyond), now=NOW + timedelta(seconds=1)).version == beyond.version


@pytest.mark.parametrize(
    ("created_at", "message"),
    [
        ("2025-05-19T06:00:00+00:00", "posterior version 20250526T060000Z is not its created_at"),
        ("2025-05-26T08:00:00+02:00", None),  # the same instant in another offset is the same version
        ("2025-05-26T06:00:00", "has no UTC offset"),
        ("last Monday", "is not an ISO 8601 time"),
    ],
)
def test_a_version_must_be_its_own_created_at(
    make_posterior: Callable[..., Posterior], created_at: str, message: str | None
) -> None:
    posterior = _with_meta(make_posterior(version="20250526T060000Z"), created_at=created_at)
    if message is None:
        validate_posterior(posterior, now=NOW)
        return
    with pytest.raises(ContractError, match=re.escape(message)):
        validate_posterior(posterior, now=NOW)


# --- Plausible parameters ---------------------------------------------------------------------------


def _set(name: str, value: float, team: int | None = None) -> Callable[[Posterior], None]:
    def change(posterior: Posterior) -> None:
        draws = posterior.draws[name] if name in posterior.draws else np.zeros_like(posterior.draws["intercept"])
        draws = draws.copy()
        if team is None:
            draws[...] = value
        else:
            draws[..., team] = value
        posterior.draws[name] = draws

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # rho 0.95 gave P(0-0) = -0.053
        (_set("rho", 0.95), "draws of rho reach 0.95, outside the plausible [-0.5, 0.5]"),
        # an intercept of -4 gave 0.03 expected goals and a 95 % draw
        (_set("intercept", -4.0), "draws of intercept reach -4, outside the plausible [-1.6, 1.8]"),
        # a zero goal rate (exp underflows) was refused only by an error deep in precompute
        (_set("attack", -800.0, team=0), "draws of attack for ARS reach -800, outside the plausible [-2.5, 2.5]"),
        (_set("defence", 3.0, team=2), "draws of defence for LIV reach 3, outside the plausible"),
        (_set("home", -1.8), "draws of home reach -1.8"),
    ],
)
def test_implausible_parameters_are_refused_by_name(
    make_posterior: Callable[..., Posterior], change: Callable[[Posterior], None], message: str
) -> None:
    posterior = make_posterior()
    change(posterior)
    with pytest.raises(ContractError, match=re.escape(message)):
        validate_posterior(posterior)


def test_a_refused_parameter_is_refused_when_decoded_too(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior()
    rho = np.full_like(posterior.draws["intercept"], 0.95)
    with pytest.raises(ContractError, match="draws of rho reach 0.95"):
        decode_posterior(_tampered(posterior, {"draws/rho": rho}))


def test_expected_goals_outside_the_plausible_range_are_refused_naming_the_pairing(
    make_posterior: Callable[..., Posterior],
) -> None:
    # Every parameter within its own range, together exp(-1.5 + 0.125 - 1) = 0.093 goals for ARS at home to CHE.
    posterior = make_posterior(intercept=-1.5, attack=[-1.0, 0.0, 0.0, 0.0], defence=[0.0] * 4, spread=0)
    low, high = EXPECTED_GOALS_RANGE
    message = f"posterior expects 0.093 goals a match for the home side of ARS v CHE, outside the plausible [{low:g}"
    with pytest.raises(ContractError, match=re.escape(message)):
        validate_posterior(posterior)
    # One draw of MCI at exp(1.79 - 0.125 + 2.4 + 0.2) = 71 goals away at ARS; the mean stays plausible.
    spike = make_posterior(attack=[0.0, 0.0, 0.0, 0.9], spread=0)
    spike.draws["intercept"][0, 0], spike.draws["attack"][0, 0, 3] = 1.79, 2.4
    assert float(np.exp(1.79 - 0.125 + 2.4 + 0.2)) / spike.draws["intercept"].size < high
    with pytest.raises(ContractError, match=r"up to 71\.\d goals a match for the away side of ARS v MCI in a draw"):
        validate_posterior(spike)


def test_a_rho_whose_dixon_coles_tau_turns_negative_is_refused(make_posterior: Callable[..., Posterior]) -> None:
    # rho 0.4 is within its range, but with about 2.2 goals a side tau(0-0) = 1 - 2.2 * 2.2 * 0.4 < 0.
    posterior = make_posterior(intercept=0.8, spread=0)
    _set("rho", 0.4)(posterior)
    assert PARAMETER_RANGES["rho"][0] < 0.4 < PARAMETER_RANGES["rho"][1]
    with pytest.raises(ContractError, match=re.escape("rho 0.4 makes the Dixon-Coles tau of 0-0")):
        validate_posterior(posterior)
    _set("rho", -0.05)(posterior)  # what real fits give
    validate_posterior(posterior)


def test_a_lopsided_pairing_holds_rho_within_dixon_coles_bounds(make_posterior: Callable[..., Posterior]) -> None:
    # Found on the shipped Bundesliga: a draw's rho of -0.221 with Bayern expected to score 4.7 at home to a
    # promoted side made tau(0-1) = 1 - 4.7 x 0.221 negative, and the whole posterior was refused. Here ARS
    # expect e^(0.3 + 0.125 + 0.9 + 0.6) = 6.9 goals at home to MCI: tau(0-1) would be 1 - 6.9 x 0.2 < 0.
    posterior = make_posterior(attack=[0.9, 0.0, 0.0, -0.5], defence=[-0.5, 0.0, 0.0, 0.6], spread=0)
    _set("rho", -0.2)(posterior)
    validate_posterior(posterior)  # plausible: the league's average match is far from the bound
    draws = PredictionDraws.from_posterior(posterior)
    home_rate, away_rate = draws.rates(0, 3)
    assert float(1 + home_rate.max() * -0.2) < 0  # what the taus were before rho was held within its bounds
    taus = low_score_taus(home_rate, away_rate, draws.rho)
    assert min(float(np.min(tau)) for tau in taus) == pytest.approx(0.01, abs=1e-6)  # 1 - 0.99 of the bound
    grid = score_grids(draws, np.array([0]), np.array([3]), 30)[0]
    assert grid.min() >= 0 and grid.sum() == pytest.approx(1, abs=1e-9)
    assert grid[0, 1] > 0  # 0-1 stays possible, however unlikely
    # Where rho is inside the bounds, nothing changes: the ordinary pairing CHE v LIV keeps the plain taus.
    home_rate, away_rate = draws.rates(1, 2)
    for held, plain in zip(
        low_score_taus(home_rate, away_rate, draws.rho), dixon_coles_taus(home_rate, away_rate, draws.rho), strict=True
    ):
        np.testing.assert_array_equal(np.broadcast_to(held, home_rate.shape), np.broadcast_to(plain, home_rate.shape))


# --- The archive: refused from its directory, before anything is decompressed -------------------------


def _with_member(blob: bytes, name: str, write: Callable[[zipfile.ZipFile, str], None]) -> bytes:
    """The posterior's zip with one more member written by `write`."""
    buffer = io.BytesIO(blob)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        write(archive, name)
    return buffer.getvalue()


def _zeros(megabytes: int) -> Callable[[zipfile.ZipFile, str], None]:
    """A float64 .npy member of `megabytes` MiB of zeros, streamed: it compresses about 1000:1."""

    def write(archive: zipfile.ZipFile, name: str) -> None:
        count = megabytes * 2**20 // 8
        with archive.open(name, "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (count,)})
            chunk = bytes(2**20)
            for _ in range(megabytes):
                member.write(chunk)

    return write


def _decode_measuring_memory(blob: bytes) -> tuple[ContractError, int]:
    tracemalloc.start()
    try:
        with pytest.raises(ContractError) as refused:
            decode_posterior(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return refused.value, peak


def test_an_unknown_member_is_refused_by_name_without_being_read(make_posterior: Callable[..., Posterior]) -> None:
    blob = _with_member(encode_posterior(make_posterior()), "draws/bomb.npy", _zeros(64))
    assert len(blob) < 2**20  # 64 MiB that travel in well under 1 MiB
    error, peak = _decode_measuring_memory(blob)
    assert "posterior holds unknown members 'draws/bomb.npy'" in str(error)
    assert peak < 2**20 + 2 * len(blob)  # the bomb was never inflated


def test_a_known_member_beyond_the_size_cap_is_refused_without_being_read(
    make_posterior: Callable[..., Posterior],
) -> None:
    with np.load(io.BytesIO(encode_posterior(make_posterior())), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "draws/attack"}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    megabytes = MAX_POSTERIOR_BYTES // 2**20 + 1
    blob = _with_member(buffer.getvalue(), "draws/attack.npy", _zeros(megabytes))
    error, peak = _decode_measuring_memory(blob)
    assert re.search(
        rf"posterior decompresses to [\d,]+ bytes, more than the {MAX_POSTERIOR_BYTES:,} allowed", str(error)
    )
    assert peak < 2**20 + 2 * len(blob)


def test_a_member_whose_header_declares_more_than_it_holds_is_refused(make_posterior: Callable[..., Posterior]) -> None:
    """numpy allocates the shape a header declares before it reads a byte: 8 TB here, in 200 bytes."""
    with np.load(io.BytesIO(encode_posterior(make_posterior())), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "draws/rho"}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)

    def liar(archive: zipfile.ZipFile, name: str) -> None:
        with archive.open(name, "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
            member.write(bytes(64))

    error, peak = _decode_measuring_memory(_with_member(buffer.getvalue(), "draws/rho.npy", liar))
    assert "posterior member draws/rho.npy declares (1000000000000,) float64 (8,000,000,000,000 bytes)" in str(error)


def test_a_member_twice_is_refused(make_posterior: Callable[..., Posterior]) -> None:
    blob = encode_posterior(make_posterior())
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        intercept = npz["draws/intercept"] + 1

    def again(archive: zipfile.ZipFile, name: str) -> None:
        with archive.open(name, "w") as member:
            np.lib.format.write_array(member, intercept)

    with pytest.warns(UserWarning, match="Duplicate name"), pytest.raises(ContractError, match="more than once"):
        decode_posterior(_with_member(blob, "draws/intercept.npy", again))


def test_a_real_fits_members_are_all_known(make_posterior: Callable[..., Posterior]) -> None:
    """The names the fit writes today (intercept, home, attack, defence, rho) pass the archive check."""
    posterior = make_posterior()
    posterior.draws["rho"] = np.full_like(posterior.draws["intercept"], -0.05)
    assert set(decode_posterior(encode_posterior(posterior)).draws) == {"intercept", "home", "attack", "defence", "rho"}
