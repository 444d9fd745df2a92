"""The contracts every service shares: S3 key layout, the posterior file, the odds items, settings.

Written once here and imported by fit (writer of posteriors), precompute (reader of posteriors,
writer of odds) and query (reader of odds). The query Lambda imports this module, so it must stay
light: numpy is imported only inside the posterior functions, which the query path never calls.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# --- S3 layout -----------------------------------------------------------------------------------
RESULTS_PREFIX = "results/"
# Upcoming matches (football-data's fixtures files): they name a season's teams before they play.
FIXTURES_PREFIX = "fixtures/"
POSTERIOR_PREFIX = "posteriors/"
POSTERIOR_SUFFIX = ".npz"
# The whole odds table of a version, for consumers that want one file. Outside POSTERIOR_PREFIX, so
# the bucket notification that feeds precompute never sees them.
EXPORTS_PREFIX = "exports/"
EXPORT_FORMATS = ("csv", "json")
LATEST_EXPORT = "latest"

# Anchored with \Z, not $: `$` also matches before a final newline, so "E0\n" would pass as E0 and
# reach a key. [0-9], not \d, which takes any Unicode digit. Callers upper-case only ASCII text:
# str.upper() turns "ıps" into IPS and "ß" into SS.
COMPETITION_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}\Z")
TEAM_CODE_RE = re.compile(r"^[A-Z]{3}\Z")
VERSION_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z\Z")
VERSION_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_COMPETITION = "E0"
# The leagues that data/teams.csv covers, as the page offers them.
COMPETITION_NAMES = {"E0": "Premier League", "SP1": "La Liga", "D1": "Bundesliga", "I1": "Serie A", "F1": "Ligue 1"}


class ContractError(ValueError):
    """Something does not follow the shared contract (a key, a code, a posterior file)."""


def new_version(now: datetime | None = None) -> str:
    """A version id: the UTC creation time, so versions sort by age as plain strings."""
    return (now or datetime.now(UTC)).strftime(VERSION_FORMAT)


def results_prefix(competition: str) -> str:
    return f"{RESULTS_PREFIX}{competition}/"


def fixtures_prefix(competition: str) -> str:
    return f"{FIXTURES_PREFIX}{competition}/"


def posterior_prefix(competition: str) -> str:
    """posteriors/<competition>/: where every posterior of one competition lies, and nothing else."""
    return f"{POSTERIOR_PREFIX}{competition}/"


def posterior_key(competition: str, version: str) -> str:
    if not COMPETITION_RE.match(competition) or not VERSION_RE.match(version):
        raise ContractError(f"bad competition {competition!r} or version {version!r}")
    return f"{posterior_prefix(competition)}{version}{POSTERIOR_SUFFIX}"


def export_key(competition: str, version: str, export_format: str) -> str:
    """exports/<competition>/<version>.<csv|json>; version LATEST_EXPORT names the copy of the current one."""
    if not COMPETITION_RE.match(competition) or not (version == LATEST_EXPORT or VERSION_RE.match(version)):
        raise ContractError(f"bad competition {competition!r} or version {version!r}")
    if export_format not in EXPORT_FORMATS:
        raise ContractError(f"bad export format {export_format!r}")
    return f"{EXPORTS_PREFIX}{competition}/{version}.{export_format}"


def parse_posterior_key(key: str) -> tuple[str, str] | None:
    """(competition, version) for a posterior key, None for any other key."""
    match = re.fullmatch(rf"{POSTERIOR_PREFIX}([^/]+)/([^/]+){re.escape(POSTERIOR_SUFFIX)}", key)
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
DRAWS_PREFIX = "draws/"
DRAW_NAMES = (*PREDICTION_SCALARS, *PREDICTION_PER_TEAM, *OPTIONAL_SCALARS)
# Every member an .npz posterior may hold (numpy stores array "x" as "x.npy"). Anything else is refused
# from the zip directory, before a byte of it is decompressed: a 1.2 GB "draws/bomb" of zeros fits in 1.2 MB.
POSTERIOR_MEMBERS = frozenset(
    f"{name}.npy" for name in (META_KEY, TEAM_CODES_KEY, TEAM_NAMES_KEY, *(DRAWS_PREFIX + n for n in DRAW_NAMES))
)
# The most a posterior may decompress to: the sum of its members' sizes in the zip directory (zipfile never
# inflates a member past the size the directory declares). Measured on a real fit (dixon_coles_seasons, E0,
# 20 teams, 4 chains x 500 draws, 2026-12): 320,769 bytes stored, 350,584 decompressed; the quality gate's
# retry doubles the draws (about 0.7 MB), a 24-team league adds a fifth. 8 MiB is over 10 times the largest
# of those, and precompute still computes a posterior that size: 20 teams x 48,000 draws (bench.precompute
# compute) took 6 s at a peak of 977 MB resident, within its 1769 MB.
MAX_POSTERIOR_BYTES = 8 * 2**20
MAX_GOAL_RATE = 12.0  # goals a match in any one draw; beyond it the score grid outgrows what precompute sizes
# The plausible range of each exported parameter, in every draw (log scale, in the rates above). A real fit
# (the one measured above) gives intercept 0.29..0.42 (about log 1.4 goals), home -0.06..0.24, attack and
# defence -0.82..0.64, rho -0.13..0.09. Each range leaves several times that room: it refuses nonsense, not
# an unusual league.
PARAMETER_RANGES = {
    "intercept": (-1.6, 1.8),  # an average team scores e^-1.6 = 0.2 to e^1.8 = 6 goals a match
    # Home rate / away rate within e^-1.5 = 0.22 .. e^1.5 = 4.5 in any one draw (real: about e^0.25). Wide
    # because a new season's first week barely informs its home edge: -0.77 .. 0.69 seen after one match.
    "home": (-1.5, 1.5),
    "attack": (-2.5, 2.5),  # one team's strength scales rates by 0.08 .. 12 (real: within e^-1 .. e^1)
    "defence": (-2.5, 2.5),
    # The fit's prior is Normal(-0.05, 0.05). At +0.5 tau(0-0) reaches zero for two rates of 1.4 goals, at
    # -0.5 tau(0-1) for a rate of 2; every pairing's taus are checked positive besides (check_plausible).
    "rho": (-0.5, 0.5),
}
# Either team's expected goals in any pairing (the mean over draws: what is served as xg). The real fit
# above gives 0.49 .. 3.6; an intercept of -4 gave 0.03 and a 95 % draw.
EXPECTED_GOALS_RANGE = (0.1, 8.0)
# How far a posterior's version (its creation time by the fit's clock) may be ahead of precompute's clock.
# Both are NTP-synced; minutes cover any drift. A version from further ahead would pin the pointer, since an
# older version never replaces a newer one: every real fit after it would be "superseded".
MAX_CLOCK_SKEW = timedelta(minutes=5)
DIXON_COLES_SCORES = ((0, 0), (0, 1), (1, 0), (1, 1))  # (home, away) goals that Dixon-Coles' tau corrects


def low_score_taus(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dixon & Coles' (1997) multipliers of the DIXON_COLES_SCORES (0-0, 0-1, 1-0, 1-1), per draw."""
    import numpy as np

    ones = np.ones_like(home_rate)
    return 1 - home_rate * away_rate * rho, 1 + home_rate * rho, 1 + away_rate * rho, ones - rho


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
    arrays: dict[str, Any] = {f"{DRAWS_PREFIX}{name}": value for name, value in posterior.draws.items()}
    arrays[TEAM_CODES_KEY] = np.array(posterior.team_codes, dtype="<U3")
    arrays[TEAM_NAMES_KEY] = np.array(posterior.team_names, dtype=str)
    arrays[META_KEY] = np.array(json.dumps(posterior.meta, sort_keys=True))
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def decode_posterior(blob: bytes, now: datetime | None = None) -> Posterior:
    """Read and validate an .npz posterior; any defect raises ContractError. `now` as in validate_posterior."""
    import numpy as np

    try:
        check_posterior_archive(blob)
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            files = set(npz.files)
            missing = {META_KEY, TEAM_CODES_KEY, TEAM_NAMES_KEY} - files
            if missing:
                raise ContractError(f"posterior lacks {sorted(missing)}")
            meta = json.loads(str(npz[META_KEY][()]))
            draws = {
                name.removeprefix(DRAWS_PREFIX): np.asarray(npz[name])
                for name in files
                if name.startswith(DRAWS_PREFIX)
            }
            codes = tuple(str(code) for code in npz[TEAM_CODES_KEY])
            names = tuple(str(name) for name in npz[TEAM_NAMES_KEY])
    except ContractError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:  # empty, truncated, not a zip
        raise ContractError(f"posterior is not a readable npz file: {error or type(error).__name__}") from error
    if not isinstance(meta, dict):
        raise ContractError("posterior meta is not an object")
    posterior = Posterior(draws=draws, team_codes=codes, team_names=names, meta=meta)
    validate_posterior(posterior, now)
    return posterior


def check_posterior_archive(blob: bytes) -> None:
    """Refuse, from the zip directory and the .npy headers alone, members that are unknown or too large.

    Nothing is decompressed but each member's few header bytes: an unknown member is refused by name, a
    total beyond MAX_POSTERIOR_BYTES by size, and a header declaring more data than its member holds (numpy
    would allocate the declared shape before reading a byte of it) by what it declares.
    """
    import numpy as np

    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = archive.infolist()
        names = [member.filename for member in members]
        unknown = sorted(set(names) - POSTERIOR_MEMBERS)
        if unknown:
            shown = ", ".join(repr(name) for name in unknown[:5]) + (
                f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            )
            raise ContractError(
                f"posterior holds unknown members {shown}; only {sorted(POSTERIOR_MEMBERS)} may be there"
            )
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        if repeated:
            raise ContractError(f"posterior holds {repeated} more than once")
        total = sum(member.file_size for member in members)
        if total > MAX_POSTERIOR_BYTES:
            raise ContractError(
                f"posterior decompresses to {total:,} bytes, more than the {MAX_POSTERIOR_BYTES:,} allowed"
            )
        for member in members:
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version != (1, 0) and version != (2, 0):
                    raise ContractError(f"posterior member {member.filename} is .npy format {version}, not 1.0 or 2.0")
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(stream)
            declared = math.prod(shape) * dtype.itemsize
            if declared > member.file_size:
                raise ContractError(
                    f"posterior member {member.filename} declares {shape} {dtype} ({declared:,} bytes) "
                    f"but holds {member.file_size:,}"
                )


def check_version_time(meta: dict[str, Any], now: datetime) -> None:
    """Refuse a version that is not its own created_at, or that is later than `now` plus MAX_CLOCK_SKEW."""
    version, created_at = str(meta["version"]), meta["created_at"]
    try:
        created = datetime.fromisoformat(str(created_at))
    except ValueError as error:
        raise ContractError(f"posterior created_at {created_at!r} is not an ISO 8601 time") from error
    if created.tzinfo is None:
        raise ContractError(f"posterior created_at {created_at!r} has no UTC offset")
    if new_version(created.astimezone(UTC)) != version:
        raise ContractError(f"posterior version {version} is not its created_at {created_at}")
    if created > now + MAX_CLOCK_SKEW:
        raise ContractError(
            f"posterior version {version} is from the future: created {created.isoformat()}, now "
            f"{now.isoformat(timespec='seconds')} (clocks may differ by {MAX_CLOCK_SKEW} at most)"
        )


def validate_posterior(posterior: Posterior, now: datetime | None = None) -> None:
    """Refuse a posterior that would produce wrong odds: shapes, values, teams, metadata, its time.

    `now` (default: the clock) is what a version may not be later than, give or take MAX_CLOCK_SKEW.
    """
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
    check_version_time(posterior.meta, now or datetime.now(UTC))
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
    check_plausible(posterior)


def check_plausible(posterior: Posterior) -> None:
    """Refuse parameters outside PARAMETER_RANGES and pairings whose goal rates or Dixon-Coles taus are nonsense.

    Each refusal names the parameter and, for a team's strength or a pairing, the teams.
    """
    import numpy as np

    codes = posterior.team_codes
    for name, (low, high) in PARAMETER_RANGES.items():
        if name not in posterior.draws:
            continue
        values = posterior.draws[name]
        outside = (values < low) | (values > high)
        if not np.any(outside):
            continue
        worst = values[outside][np.argmax(np.abs(values[outside] - (low + high) / 2))]
        teams = ""
        if name in PREDICTION_PER_TEAM:
            teams = " for " + ", ".join(codes[team] for team in np.unique(np.nonzero(outside)[-1]))
        raise ContractError(f"draws of {name}{teams} reach {worst:.3g}, outside the plausible [{low:g}, {high:g}]")
    flat = {name: posterior.flat(name).astype(np.float64) for name in DRAW_NAMES if name in posterior.draws}
    intercept, home, attack, defence = flat["intercept"], flat["home"], flat["attack"], flat["defence"]
    rho = flat.get("rho")
    low_goals, high_goals = EXPECTED_GOALS_RANGE
    teams = np.arange(len(codes))
    for team in teams:  # one home team at a time: (draws, teams - 1) arrays, never (draws, teams, teams)
        aways = teams[teams != team]
        home_rate = np.exp((intercept + home / 2)[:, None] + attack[:, [team]] + defence[:, aways])
        away_rate = np.exp((intercept - home / 2)[:, None] + attack[:, aways] + defence[:, [team]])
        for side, rates in (("home", home_rate), ("away", away_rate)):
            top = rates.max(axis=0)
            if top.max() > MAX_GOAL_RATE:
                away = aways[int(np.argmax(top))]
                raise ContractError(
                    f"posterior predicts up to {top.max():.1f} goals a match for the {side} side of "
                    f"{codes[team]} v {codes[away]} in a draw, beyond {MAX_GOAL_RATE:g}"
                )
            expected_goals = rates.mean(axis=0)
            wrong = (expected_goals < low_goals) | (expected_goals > high_goals)
            if np.any(wrong):
                away = aways[int(np.argmax(wrong))]
                raise ContractError(
                    f"posterior expects {expected_goals[np.argmax(wrong)]:.3g} goals a match for the {side} side "
                    f"of {codes[team]} v {codes[away]}, outside the plausible [{low_goals:g}, {high_goals:g}]"
                )
        if rho is None:
            continue
        for score, tau in zip(DIXON_COLES_SCORES, low_score_taus(home_rate, away_rate, rho[:, None]), strict=True):
            tau = np.broadcast_to(tau, home_rate.shape)
            if np.any(tau <= 0):
                draw, position = np.unravel_index(int(np.argmin(tau)), tau.shape)
                raise ContractError(
                    f"rho {rho[draw]:.3g} makes the Dixon-Coles tau of {score[0]}-{score[1]} "
                    f"{tau[draw, position]:.3g} (not positive) for {codes[team]} v {codes[aways[position]]}"
                )


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
# The markets of a pairing, one map attribute beside ODDS_FIELDS (items written before markets
# existed lack it; readers then serve the 1X2 numbers alone). Probabilities only: fair prices are
# derived on the way out by fair_price and handicap_price, so the item stays small (about 3 KB).
#   intervals       {"home"|"draw"|"away": [low, high]}, the CREDIBLE_MASS interval over the draws
#   over            {"0.5": P(total goals > 0.5), ...} for OVER_UNDER_LINES
#   btts            P(both teams score)
#   double_chance   {"home_draw", "home_away", "draw_away"}: P of either outcome
#   draw_no_bet     {"home", "away"}: P(that side wins | no draw)
#   asian_handicap  {"-2.5": [win, half_win, push, half_loss, loss], ...}: the HOME side at each line
#                   (the home team's handicap, ASIAN_HANDICAP_QUARTERS); the away side is its mirror
#   correct_score   P of each score 0..CORRECT_SCORE_MAX_GOALS a side, row-major by home goals
#   likeliest       [{"score": "1-1", "p": ...}, ...], the LIKELIEST_SCORES likeliest scores
MARKETS_FIELD = "markets"
MARKET_KEYS = (
    "intervals",
    "over",
    "btts",
    "double_chance",
    "draw_no_bet",
    "asian_handicap",
    "correct_score",
    "likeliest",
)
OVER_UNDER_LINES = (0.5, 1.5, 2.5, 3.5, 4.5)
ASIAN_HANDICAP_QUARTERS = tuple(range(-10, 11))  # home handicaps -2.5 ... +2.5 in quarter goals
HANDICAP_OUTCOMES = ("win", "half_win", "push", "half_loss", "loss")
CORRECT_SCORE_MAX_GOALS = 6
LIKELIEST_SCORES = 10
CREDIBLE_MASS = 0.9
OUTCOMES = ("home", "draw", "away")
DOUBLE_CHANCE = ("home_draw", "home_away", "draw_away")
PRICE_PLACES = 6
STORED_DIGITS = 6  # significant digits of stored market numbers: a 1e-9 score keeps its price


def goals_label(line: float) -> str:
    """An over/under line as a key: 2.5 -> "2.5"."""
    return f"{line:g}"


def handicap_label(quarters: int) -> str:
    """A home handicap in quarter goals as a key: -3 -> "-0.75", 0 -> "0", 2 -> "+0.5"."""
    return "0" if quarters == 0 else f"{quarters / 4:+g}"


def pointer_key(competition: str) -> dict[str, str]:
    return {PARTITION_KEY: f"COMP#{competition}", SORT_KEY: POINTER_SORT_KEY}


def odds_partition(competition: str, version: str) -> str:
    return f"ODDS#{competition}#{version}"


def odds_key(competition: str, version: str, home: str, away: str) -> dict[str, str]:
    return {PARTITION_KEY: odds_partition(competition, version), SORT_KEY: f"{home}#{away}"}


def odds_item(competition: str, version: str, home: str, away: str, odds: dict[str, Any]) -> dict[str, Any]:
    """The stored item of one ordered pairing; `odds` holds ODDS_FIELDS (and MARKETS_FIELD) as plain numbers."""
    missing = [name for name in ODDS_FIELDS if name not in odds]
    markets = odds.get(MARKETS_FIELD)
    if markets is not None:
        missing += [f"{MARKETS_FIELD}.{key}" for key in MARKET_KEYS if key not in markets]
    if missing:
        raise ContractError(f"odds for {home} v {away} lack {missing}")
    item: dict[str, Any] = {**odds_key(competition, version, home, away), "home": home, "away": away}
    for name in ODDS_FIELDS:
        value = odds[name]
        item[name] = value if isinstance(value, str) else to_dynamo_number(value)
    if markets is not None:
        item[MARKETS_FIELD] = _to_dynamo_tree({key: markets[key] for key in MARKET_KEYS})
    return item


def odds_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The served fields of a stored odds item, numbers as floats; `markets` is None on an older item."""
    odds = {name: from_dynamo(item[name]) for name in ("home", "away", *ODDS_FIELDS)}
    odds[MARKETS_FIELD] = from_dynamo(item[MARKETS_FIELD]) if MARKETS_FIELD in item else None
    return odds


def to_dynamo_number(value: float, places: int = 6) -> Decimal:
    """Round a float for storage; DynamoDB numbers are decimals, never binary floats."""
    return Decimal(str(round(float(value), places)))


def _to_dynamo_tree(value: Any) -> Any:
    """Maps, lists and numbers for DynamoDB, numbers to STORED_DIGITS significant digits."""
    if isinstance(value, dict):
        return {str(key): _to_dynamo_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo_tree(item) for item in value]
    if isinstance(value, str):
        return value
    return Decimal(f"{float(value):.{STORED_DIGITS}g}")


def from_dynamo(value: Any) -> Any:
    """Turn boto3's Decimals back into ints and floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    if isinstance(value, dict):
        return {key: from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_dynamo(item) for item in value]
    return value


# --- What is served: fair prices, the markets document, the flat odds table -------------------------
# One definition for the query API (per fixture and in bulk), the S3 exports and `matchodds price`.


def fair_price(probability: float) -> float | None:
    """The decimal price at which a bet on an outcome of this probability breaks even; None if impossible."""
    return round(1 / probability, PRICE_PLACES) if probability > 0 else None


def handicap_price(win: float, half_win: float, push: float, half_loss: float, loss: float) -> float | None:
    """The fair decimal price d of a bet that can be half won, void or half lost: E[payout] = stake.

    (d - 1) * (win + half_win / 2) = loss + half_loss / 2; a push returns the stake and drops out.
    """
    backed = win + half_win / 2
    return round(1 + (loss + half_loss / 2) / backed, PRICE_PLACES) if backed > 0 else None


def priced(probability: float) -> dict[str, float | None]:
    return {"probability": probability, "fair_odds": fair_price(probability)}


def complement(probability: float) -> float:
    """1 - p without the binary noise of the subtraction (stored numbers have 6 significant digits)."""
    return round(1 - probability, 12)


def _handicap_side(outcomes: list[float]) -> dict[str, float | None]:
    return {**dict(zip(HANDICAP_OUTCOMES, outcomes, strict=True)), "fair_odds": handicap_price(*outcomes)}


def markets_document(markets: dict[str, Any]) -> dict[str, Any]:
    """The served form of a stored markets map: every probability with its fair price."""
    over = markets["over"]
    handicaps = markets["asian_handicap"]
    size = CORRECT_SCORE_MAX_GOALS + 1
    grid = [markets["correct_score"][row * size : (row + 1) * size] for row in range(size)]
    return {
        "credible_intervals": {
            "mass": CREDIBLE_MASS,
            **{outcome: {"low": low, "high": high} for outcome, (low, high) in markets["intervals"].items()},
        },
        "markets": {
            "over_under": [
                {
                    "line": line,
                    "over": priced(over[goals_label(line)]),
                    "under": priced(complement(over[goals_label(line)])),
                }
                for line in OVER_UNDER_LINES
            ],
            "both_teams_to_score": {"yes": priced(markets["btts"]), "no": priced(complement(markets["btts"]))},
            "double_chance": {name: priced(markets["double_chance"][name]) for name in DOUBLE_CHANCE},
            "draw_no_bet": {side: priced(markets["draw_no_bet"][side]) for side in ("home", "away")},
            "asian_handicap": [
                {
                    "line": quarters / 4,
                    "home": _handicap_side(handicaps[handicap_label(quarters)]),
                    "away": _handicap_side(handicaps[handicap_label(quarters)][::-1]),
                }
                for quarters in ASIAN_HANDICAP_QUARTERS
            ],
        },
        "correct_score": {
            "max_goals": CORRECT_SCORE_MAX_GOALS,
            "probabilities": grid,
            "fair_odds": [[fair_price(cell) for cell in row] for row in grid],
            "other": max(0.0, complement(sum(markets["correct_score"]))),
            "likeliest": [
                {"score": entry["score"], "probability": entry["p"], "fair_odds": fair_price(entry["p"])}
                for entry in markets["likeliest"]
            ],
        },
    }


def _table_columns() -> tuple[str, ...]:
    columns = ["competition", "version", "home", "away", "home_name", "away_name"]
    for outcome in OUTCOMES:
        columns += [f"p_{outcome}", f"p_{outcome}_low", f"p_{outcome}_high"]
    columns += [f"odds_{outcome}" for outcome in OUTCOMES]
    columns += ["xg_home", "xg_away", "likely_score", "likely_score_p"]
    for line in map(goals_label, OVER_UNDER_LINES):
        columns += [f"p_over_{line}", f"odds_over_{line}", f"odds_under_{line}"]
    columns += ["p_btts", "odds_btts_yes", "odds_btts_no"]
    columns += [f"odds_{name}" for name in DOUBLE_CHANCE]
    columns += ["odds_dnb_home", "odds_dnb_away"]
    for line in map(handicap_label, ASIAN_HANDICAP_QUARTERS):
        columns += [f"odds_ah_home_{line}", f"odds_ah_away_{line}"]
    return tuple(columns)


# The odds table's columns: one row per ordered pairing; the ah lines are the home team's handicap.
TABLE_COLUMNS = _table_columns()


def table_row(competition: str, version: str, odds: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One flat row of the odds table from the fields odds_from_item returns; markets empty on an older item."""
    home, away = odds["home"], odds["away"]
    row: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS)
    row.update(competition=competition, version=version, home=home, away=away)
    row.update(home_name=names.get(home), away_name=names.get(away))
    row.update({name: odds[name] for name in ODDS_FIELDS})
    if odds.get(MARKETS_FIELD) is None:
        return row
    document = markets_document(odds[MARKETS_FIELD])
    for outcome in OUTCOMES:
        interval = document["credible_intervals"][outcome]
        row[f"p_{outcome}_low"], row[f"p_{outcome}_high"] = interval["low"], interval["high"]
    markets = document["markets"]
    for entry in markets["over_under"]:
        line = goals_label(entry["line"])
        row[f"p_over_{line}"] = entry["over"]["probability"]
        row[f"odds_over_{line}"], row[f"odds_under_{line}"] = entry["over"]["fair_odds"], entry["under"]["fair_odds"]
    btts = markets["both_teams_to_score"]
    row.update(p_btts=btts["yes"]["probability"], odds_btts_yes=btts["yes"]["fair_odds"])
    row["odds_btts_no"] = btts["no"]["fair_odds"]
    row.update({f"odds_{name}": markets["double_chance"][name]["fair_odds"] for name in DOUBLE_CHANCE})
    row.update({f"odds_dnb_{side}": markets["draw_no_bet"][side]["fair_odds"] for side in ("home", "away")})
    for entry, quarters in zip(markets["asian_handicap"], ASIAN_HANDICAP_QUARTERS, strict=True):
        line = handicap_label(quarters)
        row[f"odds_ah_home_{line}"] = entry["home"]["fair_odds"]
        row[f"odds_ah_away_{line}"] = entry["away"]["fair_odds"]
    return row


def table_csv(rows: list[dict[str, Any]]) -> str:
    """The odds table as CSV text: a header of TABLE_COLUMNS, empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[column] is None else row[column] for column in TABLE_COLUMNS])
    return buffer.getvalue()


def model_provenance(pointer: dict[str, Any]) -> dict[str, Any]:
    """What a reply says about the model behind the odds, from the competition's pointer."""
    return {
        "version": pointer["version"],
        "name": pointer["model"],
        "fitted_at": pointer["fitted_at"],
        "data_from": pointer["data_from"],
        "data_through": pointer["data_through"],
        "matches": pointer["matches"],
    }


def table_document(competition: str, pointer: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The odds table as JSON: the same rows as the CSV, with the model's provenance once."""
    return {"competition": competition, "model": model_provenance(pointer), "columns": TABLE_COLUMNS, "fixtures": rows}


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
