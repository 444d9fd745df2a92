"""The contracts every service shares: S3 key layout, the posterior file, the odds items, settings.

Written once here and imported by fit (writer of posteriors), precompute (reader of posteriors,
writer of odds) and query (reader of odds). The query Lambda imports this module, so it must stay
light: numpy is imported only inside the posterior functions, which the query path never calls.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# --- S3 layout -----------------------------------------------------------------------------------
RESULTS_PREFIX = "results/"
POSTERIOR_PREFIX = "posteriors/"
POSTERIOR_SUFFIX = ".npz"

COMPETITION_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
TEAM_CODE_RE = re.compile(r"^[A-Z]{3}$")
VERSION_RE = re.compile(r"^\d{8}T\d{6}Z$")
VERSION_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_COMPETITION = "E0"


class ContractError(ValueError):
    """Something does not follow the shared contract (a key, a code, a posterior file)."""


def new_version(now: datetime | None = None) -> str:
    """A version id: the UTC creation time, so versions sort by age as plain strings."""
    return (now or datetime.now(UTC)).strftime(VERSION_FORMAT)


def results_prefix(competition: str) -> str:
    return f"{RESULTS_PREFIX}{competition}/"


def posterior_key(competition: str, version: str) -> str:
    if not COMPETITION_RE.match(competition) or not VERSION_RE.match(version):
        raise ContractError(f"bad competition {competition!r} or version {version!r}")
    return f"{POSTERIOR_PREFIX}{competition}/{version}{POSTERIOR_SUFFIX}"


def parse_posterior_key(key: str) -> tuple[str, str] | None:
    """(competition, version) for a posterior key, None for any other key."""
    match = re.match(rf"^{POSTERIOR_PREFIX}([^/]+)/([^/]+){re.escape(POSTERIOR_SUFFIX)}$", key)
    if not match:
        return None
    competition, version = match.groups()
    if not COMPETITION_RE.match(competition) or not VERSION_RE.match(version):
        return None
    return competition, version


# --- The posterior object --------------------------------------------------------------------------
# An .npz file (numpy's zip of .npy arrays), read with allow_pickle=False. Draw arrays keep the chain
# axis: shape (chains, draws, ...). Whatever the model, it exports the parameters that predict the
# NEXT match in these names, so precompute needs no knowledge of the model's internals:
#   log rate home = intercept + home / 2 + attack[h] + defence[a]
#   log rate away = intercept - home / 2 + attack[a] + defence[h]
# and, when present, rho: the Dixon-Coles low-score correction.
POSTERIOR_FORMAT = 1
PREDICTION_SCALARS = ("intercept", "home")
PREDICTION_PER_TEAM = ("attack", "defence")
OPTIONAL_SCALARS = ("rho",)
META_KEY = "meta"
TEAM_CODES_KEY = "team_codes"
TEAM_NAMES_KEY = "team_names"
MAX_GOAL_RATE = 12.0  # goals per match; a posterior predicting more than this is broken


@dataclass(frozen=True)
class Posterior:
    """A fitted posterior: draws by chain, the teams in index order, and how it was made."""

    draws: dict[str, np.ndarray]
    team_codes: tuple[str, ...]
    team_names: tuple[str, ...]
    meta: dict[str, Any]

    @property
    def competition(self) -> str:
        return str(self.meta["competition"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    def flat(self, name: str) -> np.ndarray:
        """The draws of one parameter with chains pooled: shape (chains * draws, ...)."""
        values = self.draws[name]
        return values.reshape((-1, *values.shape[2:]))


REQUIRED_META = (
    "format",
    "competition",
    "version",
    "created_at",
    "model",
    "data_window",
    "seed",
    "diagnostics",
    "sampler",
)


def encode_posterior(posterior: Posterior) -> bytes:
    """The bytes of the .npz file; validates first so a broken posterior is never written."""
    import numpy as np

    validate_posterior(posterior)
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {f"draws/{name}": value for name, value in posterior.draws.items()}
    arrays[TEAM_CODES_KEY] = np.array(posterior.team_codes, dtype="<U3")
    arrays[TEAM_NAMES_KEY] = np.array(posterior.team_names, dtype=str)
    arrays[META_KEY] = np.array(json.dumps(posterior.meta, sort_keys=True))
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def decode_posterior(blob: bytes) -> Posterior:
    """Read and validate an .npz posterior; any defect raises ContractError."""
    import numpy as np

    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            files = set(npz.files)
            missing = {META_KEY, TEAM_CODES_KEY, TEAM_NAMES_KEY} - files
            if missing:
                raise ContractError(f"posterior lacks {sorted(missing)}")
            meta = json.loads(str(npz[META_KEY][()]))
            draws = {name.removeprefix("draws/"): np.asarray(npz[name]) for name in files if name.startswith("draws/")}
            codes = tuple(str(code) for code in npz[TEAM_CODES_KEY])
            names = tuple(str(name) for name in npz[TEAM_NAMES_KEY])
    except ContractError:
        raise
    except (ValueError, OSError, KeyError, json.JSONDecodeError) as error:
        raise ContractError(f"posterior is not a readable npz file: {error}") from error
    if not isinstance(meta, dict):
        raise ContractError("posterior meta is not an object")
    posterior = Posterior(draws=draws, team_codes=codes, team_names=names, meta=meta)
    validate_posterior(posterior)
    return posterior


def validate_posterior(posterior: Posterior) -> None:
    """Refuse a posterior that would produce wrong odds: shapes, values, teams, metadata."""
    import numpy as np

    missing_meta = [key for key in REQUIRED_META if key not in posterior.meta]
    if missing_meta:
        raise ContractError(f"posterior meta lacks {missing_meta}")
    if posterior.meta["format"] != POSTERIOR_FORMAT:
        raise ContractError(f"posterior format {posterior.meta['format']!r} is not {POSTERIOR_FORMAT}")
    if not COMPETITION_RE.match(str(posterior.meta["competition"])):
        raise ContractError(f"bad competition {posterior.meta['competition']!r}")
    if not VERSION_RE.match(str(posterior.meta["version"])):
        raise ContractError(f"bad version {posterior.meta['version']!r}")
    codes = posterior.team_codes
    if len(codes) < 2:
        raise ContractError("posterior needs at least two teams")
    if len(set(codes)) != len(codes) or not all(TEAM_CODE_RE.match(code) for code in codes):
        raise ContractError(f"team codes are not unique three-letter codes: {codes}")
    if len(posterior.team_names) != len(codes):
        raise ContractError("team names do not match team codes")
    missing = [n for n in (*PREDICTION_SCALARS, *PREDICTION_PER_TEAM) if n not in posterior.draws]
    if missing:
        raise ContractError(f"posterior lacks draws of {missing}")
    chains_draws = posterior.draws["intercept"].shape
    if len(chains_draws) != 2 or min(chains_draws) < 1:
        raise ContractError(f"intercept draws have shape {chains_draws}, not (chains, draws)")
    expected = {name: chains_draws for name in (*PREDICTION_SCALARS, *OPTIONAL_SCALARS)}
    expected.update({name: (*chains_draws, len(codes)) for name in PREDICTION_PER_TEAM})
    for name, shape in expected.items():
        if name not in posterior.draws:
            continue
        values = posterior.draws[name]
        if values.shape != shape:
            raise ContractError(f"draws of {name} have shape {values.shape}, expected {shape}")
        if not np.issubdtype(values.dtype, np.floating) or not np.all(np.isfinite(values)):
            raise ContractError(f"draws of {name} are not all finite numbers")
    top_rate = float(
        np.max(posterior.draws["intercept"])
        + np.max(np.abs(posterior.draws["home"])) / 2
        + np.max(posterior.draws["attack"])
        + np.max(posterior.draws["defence"])
    )
    if top_rate > np.log(MAX_GOAL_RATE):
        raise ContractError(f"posterior predicts up to {np.exp(top_rate):.1f} goals a match")


# --- DynamoDB items --------------------------------------------------------------------------------
# One table, keys pk/sk. A pointer item per competition names the current version and carries the
# team list; one odds item per ordered pairing per version. Old versions expire through TTL on
# EXPIRES_ATTRIBUTE once a newer version is current.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
EXPIRES_ATTRIBUTE = "expires_at"
POINTER_SORT_KEY = "CURRENT"
PRECOMPUTE_MAX_RECEIVES = 3  # deliveries of one S3 event before SQS moves it to the dead-letter queue
RETIRED_VERSION_GRACE_SECONDS = 24 * 3600  # readers may hold a cached pointer a little while
UNPUBLISHED_VERSION_TTL_SECONDS = 400 * 24 * 3600  # backstop for a version that never went live
ODDS_FIELDS = (
    "p_home",
    "p_draw",
    "p_away",
    "odds_home",
    "odds_draw",
    "odds_away",
    "xg_home",
    "xg_away",
    "likely_score",
    "likely_score_p",
)


def pointer_key(competition: str) -> dict[str, str]:
    return {PARTITION_KEY: f"COMP#{competition}", SORT_KEY: POINTER_SORT_KEY}


def odds_partition(competition: str, version: str) -> str:
    return f"ODDS#{competition}#{version}"


def odds_key(competition: str, version: str, home: str, away: str) -> dict[str, str]:
    return {PARTITION_KEY: odds_partition(competition, version), SORT_KEY: f"{home}#{away}"}


def odds_item(competition: str, version: str, home: str, away: str, odds: dict[str, Any]) -> dict[str, Any]:
    """The stored item of one ordered pairing; `odds` holds ODDS_FIELDS as plain numbers."""
    missing = [name for name in ODDS_FIELDS if name not in odds]
    if missing:
        raise ContractError(f"odds for {home} v {away} lack {missing}")
    item: dict[str, Any] = {**odds_key(competition, version, home, away), "home": home, "away": away}
    for name in ODDS_FIELDS:
        value = odds[name]
        item[name] = value if isinstance(value, str) else to_dynamo_number(value)
    return item


def odds_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The served fields of a stored odds item, numbers as floats."""
    return {name: from_dynamo(item[name]) for name in ("home", "away", *ODDS_FIELDS)}


def to_dynamo_number(value: float, places: int = 6) -> Decimal:
    """Round a float for storage; DynamoDB numbers are decimals, never binary floats."""
    return Decimal(str(round(float(value), places)))


def from_dynamo(value: Any) -> Any:
    """Turn boto3's Decimals back into ints and floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, dict):
        return {key: from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_dynamo(item) for item in value]
    return value


# --- Settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What every service reads from its environment, parsed once."""

    bucket: str
    table: str

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, *, need: tuple[str, ...] = ("bucket", "table")
    ) -> Settings:
        env = os.environ if environ is None else environ
        values = {"bucket": env.get("MATCHODDS_BUCKET", ""), "table": env.get("MATCHODDS_TABLE", "")}
        absent = [f"MATCHODDS_{name.upper()}" for name in need if not values[name]]
        if absent:
            raise RuntimeError(f"missing environment variable(s): {', '.join(absent)}")
        return cls(**values)
