"""The posterior's optional sampler adaptation (issue 22): it round-trips, its absence is fine, a defect is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from matchodds.core.adaptation import ADAPTATION_META_KEY, Adaptation, ChainAdaptation, posterior_adaptation
from matchodds.core.keys import ContractError
from matchodds.core.posterior import Posterior, decode_posterior, encode_posterior

pytestmark = pytest.mark.unit

ADAPTATION = Adaptation(
    model="dixon_coles_seasons",
    sites={"intercept": (), "attack_raw": (2, 3)},
    axes={"team": ("ARS", "CHE", "LIV"), "period": ("2023-24", "2024-25")},
    chains=tuple(
        ChainAdaptation(
            step_size=0.1 + chain / 7,  # not a round number in binary: the JSON must keep every bit
            inverse_mass={"intercept": [0.003], "attack_raw": [0.5, 0.25, 1 / 3, 0.7, 0.9, 1.1]},
            position={"intercept": [0.31], "attack_raw": [-0.2, 0.1, 0.0, 1 / 3, -1.5, 2.0]},
        )
        for chain in range(2)
    ),
)


def with_adaptation(posterior: Posterior, value: Any) -> Posterior:
    return replace(posterior, meta={**posterior.meta, ADAPTATION_META_KEY: value})


def test_a_posterior_round_trips_with_its_adaptation(make_posterior: Callable[..., Posterior]) -> None:
    posterior = with_adaptation(make_posterior(codes=("ARS", "CHE", "LIV")), ADAPTATION.to_meta())
    decoded = decode_posterior(encode_posterior(posterior))
    assert posterior_adaptation(decoded) == ADAPTATION


def test_a_posterior_without_adaptation_is_as_valid(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior()
    assert ADAPTATION_META_KEY not in posterior.meta
    decoded = decode_posterior(encode_posterior(posterior))
    assert posterior_adaptation(decoded) is None and decoded.meta == posterior.meta


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda meta: {**meta, "chains": []}, "chains must be a list"),
        (lambda meta: {**meta, "extra": 1}, "must be an object of"),
        (lambda meta: {**meta, "sites": {**meta["sites"], "attack_raw": [2, -3]}}, "attack_raw"),
        (lambda meta: {**meta, "chains": [{**meta["chains"][0], "step_size": 0.0}]}, "step size"),
        (lambda meta: {**meta, "chains": [{**meta["chains"][0], "step_size": True}]}, "step size"),
        (
            lambda meta: {
                **meta,
                "chains": [
                    {**meta["chains"][0], "inverse_mass": {**meta["chains"][0]["inverse_mass"], "intercept": [-1]}}
                ],
            },
            "inverse mass of intercept is not all positive",
        ),
        (
            lambda meta: {
                **meta,
                "chains": [{**meta["chains"][0], "position": {**meta["chains"][0]["position"], "attack_raw": [0.0]}}],
            },
            "position of attack_raw is not 6 finite numbers",
        ),
        (
            lambda meta: {
                **meta,
                "chains": [{**meta["chains"][0], "position": {"intercept": [float("nan")], "attack_raw": [0.0] * 6}}],
            },
            "position of intercept",
        ),
    ],
)
def test_a_broken_adaptation_is_refused_by_name(
    make_posterior: Callable[..., Posterior], change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    """The fit never writes one (encode validates first); a reader never uses one."""
    broken = with_adaptation(make_posterior(codes=("ARS", "CHE", "LIV")), change(ADAPTATION.to_meta()))
    with pytest.raises(ContractError, match=message):
        encode_posterior(broken)
    with pytest.raises(ContractError, match=message):
        posterior_adaptation(broken)
