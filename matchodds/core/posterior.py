"""The posterior file: what the fit writes and precompute reads, and every check that refuses a broken one.

An .npz archive read with allow_pickle=False; see the comment below for its members. numpy is imported
inside the functions so that a light caller (the query Lambda never calls them) does not pay for it.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from matchodds.core.adaptation import posterior_adaptation
from matchodds.core.keys import COMPETITION_RE, TEAM_CODE_RE, VERSION_RE, ContractError, new_version
from matchodds.core.season import SEASON_META_KEY, SeasonRecord

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


# Optional meta: "roster" (which teams the fit predicts and why), "season" (the season in play, from
# which precompute projects the table: matchodds.core.season defines and checks it) and "adaptation"
# (what the sampler learnt in warmup, for the next fit's warm start: matchodds.core.adaptation).
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
    """The bytes of the .npz file; ContractError for anything decode_posterior would refuse, so the fit never
    publishes a posterior that precompute refuses (and every later version after it)."""
    import numpy as np

    try:
        meta_text = json.dumps(posterior.meta, sort_keys=True)
    except (TypeError, ValueError) as error:  # a value JSON has no form for, a circular reference
        raise ContractError(f"posterior meta is not JSON: {error}") from error
    # Checked as precompute reads it: the meta after its JSON round trip, the archive by its directory.
    validate_posterior(replace(posterior, meta=json.loads(meta_text)))
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {f"{DRAWS_PREFIX}{name}": value for name, value in posterior.draws.items()}
    arrays[TEAM_CODES_KEY] = np.array(posterior.team_codes, dtype="<U3")
    # numpy stores every name at the longest one's width: one 120,000-character name makes 20 names 9.6 MB.
    arrays[TEAM_NAMES_KEY] = np.array(posterior.team_names, dtype=str)
    arrays[META_KEY] = np.array(meta_text)
    np.savez_compressed(buffer, **arrays)
    blob = buffer.getvalue()
    check_posterior_archive(blob)  # MAX_POSTERIOR_BYTES decompressed, and well-formed members
    return blob


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
        raise ContractError(f"posterior is not a readable npz file: {str(error) or type(error).__name__}") from error
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
    expected: dict[str, tuple[int, ...]] = {name: chains_draws for name in (*PREDICTION_SCALARS, *OPTIONAL_SCALARS)}
    expected.update({name: (*chains_draws, len(codes)) for name in PREDICTION_PER_TEAM})
    for name, shape in expected.items():
        if name not in posterior.draws:
            continue
        values = posterior.draws[name]
        if values.shape != shape:
            raise ContractError(f"draws of {name} have shape {values.shape}, expected {shape}")
        if not np.issubdtype(values.dtype, np.floating) or not np.all(np.isfinite(values)):
            raise ContractError(f"draws of {name} are not all finite numbers")
    if SEASON_META_KEY in posterior.meta:  # optional: a posterior without it publishes odds and no table
        SeasonRecord.from_meta(posterior.meta[SEASON_META_KEY], codes)
    posterior_adaptation(posterior)  # optional: a posterior without it makes the next fit warm up in full
    check_plausible(posterior)


def check_plausible(posterior: Posterior) -> None:
    """Refuse parameters outside PARAMETER_RANGES and pairings whose goal rates or Dixon-Coles taus are nonsense.

    Each refusal names the parameter and, for a team's strength or a pairing, the teams.
    """
    import numpy as np

    from matchodds.core.grid import DIXON_COLES_SCORES, dixon_coles_taus  # grid imports this module

    codes = posterior.team_codes
    for name, (low, high) in PARAMETER_RANGES.items():
        if name not in posterior.draws:
            continue
        values = posterior.draws[name]
        outside = (values < low) | (values > high)
        if not np.any(outside):
            continue
        worst = values[outside][np.argmax(np.abs(values[outside] - (low + high) / 2))]
        whose = ""
        if name in PREDICTION_PER_TEAM:
            whose = " for " + ", ".join(codes[team] for team in np.unique(np.nonzero(outside)[-1]))
        raise ContractError(f"draws of {name}{whose} reach {worst:.3g}, outside the plausible [{low:g}, {high:g}]")
    flat = {name: posterior.flat(name).astype(np.float64) for name in DRAW_NAMES if name in posterior.draws}
    intercept, home, attack, defence = flat["intercept"], flat["home"], flat["attack"], flat["defence"]
    rho = flat.get("rho")
    low_goals, high_goals = EXPECTED_GOALS_RANGE
    if rho is not None:
        # A rho whose taus turn negative for the league's average match is nonsense, not a lopsided pairing
        # (those are held within Dixon & Coles' bounds per pairing: matchodds.core.grid.low_score_taus).
        average_home, average_away = np.exp(intercept + home / 2), np.exp(intercept - home / 2)
        for score, tau in zip(DIXON_COLES_SCORES, dixon_coles_taus(average_home, average_away, rho), strict=True):
            tau = np.broadcast_to(tau, rho.shape)
            if np.any(tau <= 0):
                draw = int(np.argmin(tau))
                raise ContractError(
                    f"rho {rho[draw]:.3g} makes the Dixon-Coles tau of {score[0]}-{score[1]} {tau[draw]:.3g} "
                    f"(not positive) at the league's average rates ({average_home[draw]:.2f} and "
                    f"{average_away[draw]:.2f} goals)"
                )
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
