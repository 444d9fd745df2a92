"""The fit applies precompute's caps when it writes (issue 31): a posterior precompute would refuse is never
encoded, so it is never published and never becomes every later version's problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from matchodds.core.keys import ContractError
from matchodds.core.posterior import MAX_POSTERIOR_BYTES, Posterior, decode_posterior, encode_posterior

pytestmark = pytest.mark.unit
LEAGUE = ("ARS", "AVL", "BOU", "BRE", "BHA", "CHE", "CRY", "EVE", "FUL", "IPS")
LEAGUE += ("LEI", "LIV", "MCI", "MUN", "NEW", "NFO", "SOU", "TOT", "WHU", "WOL")


def test_a_team_name_of_120000_characters_is_refused_at_encode(make_posterior: Callable[..., Posterior]) -> None:
    """numpy stores all twenty names at the longest one's width: 9.6 MB, beyond precompute's 8 MiB."""
    posterior = make_posterior(codes=LEAGUE)
    long_name = replace(posterior, team_names=("A" * 120_000, *posterior.team_names[1:]))
    with pytest.raises(ContractError, match=f"more than the {MAX_POSTERIOR_BYTES:,} allowed"):
        encode_posterior(long_name)
    within = replace(posterior, team_names=("A" * 1_000, *posterior.team_names[1:]))
    assert decode_posterior(encode_posterior(within)).team_names[0] == "A" * 1_000


def test_meta_that_is_not_json_is_a_contract_error(make_posterior: Callable[..., Posterior]) -> None:
    posterior = make_posterior()
    with pytest.raises(ContractError, match="posterior meta is not JSON"):
        encode_posterior(replace(posterior, meta={**posterior.meta, "roster": {"left_out": {"TAM"}}}))


def test_meta_is_checked_as_the_reader_reads_it(make_posterior: Callable[..., Posterior]) -> None:
    """A tuple is a list once written: encode accepts what decode accepts, no more and no less."""
    posterior = make_posterior()
    window = {**posterior.meta["data_window"], "seasons": ("2024-25",)}
    decoded = decode_posterior(encode_posterior(replace(posterior, meta={**posterior.meta, "data_window": window})))
    assert decoded.meta["data_window"]["seasons"] == ["2024-25"]
