"""Codes, versions and the S3 key layout every service shares: written once, imported by writer and reader."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

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
TABLE_EXPORT_SUFFIX = "-table"  # exports/<competition>/<version>-table.json: the season table

# Anchored with \Z, not $: `$` also matches before a final newline, so "E0\n" would pass as E0 and
# reach a key. [0-9], not \d, which takes any Unicode digit. Callers upper-case only ASCII text:
# str.upper() turns "ıps" into IPS and "ß" into SS.
COMPETITION_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}\Z")
TEAM_CODE_RE = re.compile(r"^[A-Z]{3}\Z")
VERSION_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z\Z")
VERSION_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_COMPETITION = "E0"
# What a deployment serves unless told otherwise (MATCHODDS_COMPETITIONS): the leagues whose seasons
# ship with the project and whose teams data/teams.csv covers.
DEFAULT_COMPETITIONS = ("E0", "D1", "F1", "I1", "SP1")
# football-data.co.uk's division codes and the names leagues go by. Any other valid code can still be
# served (a user's own files); it is then shown under its code.
COMPETITION_NAMES = {
    "E0": "Premier League",
    "E1": "Championship",
    "E2": "League One",
    "E3": "League Two",
    "EC": "National League",
    "SC0": "Scottish Premiership",
    "SC1": "Scottish Championship",
    "SC2": "Scottish League One",
    "SC3": "Scottish League Two",
    "D1": "Bundesliga",
    "D2": "2. Bundesliga",
    "I1": "Serie A",
    "I2": "Serie B",
    "SP1": "La Liga",
    "SP2": "Segunda División",
    "F1": "Ligue 1",
    "F2": "Ligue 2",
    "N1": "Eredivisie",
    "B1": "Jupiler Pro League",
    "P1": "Primeira Liga",
    "T1": "Süper Lig",
    "G1": "Super League Greece",
}


class ContractError(ValueError):
    """Something does not follow the shared contract (a key, a code, a posterior file)."""


def competition_name(competition: str) -> str:
    """The name a competition goes by; its code when football-data's table of divisions lacks it."""
    return COMPETITION_NAMES.get(competition, competition)


def new_version(now: datetime | None = None) -> str:
    """A version id: the UTC creation time, so versions sort by age as plain strings."""
    return (now or datetime.now(UTC)).strftime(VERSION_FORMAT)


def results_prefix(competition: str) -> str:
    return f"{RESULTS_PREFIX}{competition}/"


def fixtures_prefix(competition: str) -> str:
    return f"{FIXTURES_PREFIX}{competition}/"


# --- The key rule: which keys are results or fixtures files ---------------------------------------
# A results key is results/<COMP>/<name>, a fixtures key fixtures/<COMP>/<name>: <name> is one path
# segment of ASCII letters, digits, ".", "_" and "-", starting with a letter or digit, ending in
# lower-case ".csv". Lower case only because S3 notification filters are case-sensitive: a ".CSV" key
# would never reach the trigger or pricing, so no reader may count it either. One segment because the
# notifications and the listings must agree on what lies "in" a competition (results/D1/sub/y.csv is
# nobody's). The trigger, pricing, the fit, the local stack's notifications and infra's filters all
# take this rule from here; `upload` stores a user's file under safe_file_name(its name).
CSV_SUFFIX = ".csv"
FILE_NAME_MAX_STEM = 100  # characters before CSV_SUFFIX: far above real names, short of S3's 1,024-byte keys
FILE_NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{FILE_NAME_MAX_STEM - 1}}}{re.escape(CSV_SUFFIX)}\Z")
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


def results_key(competition: str, name: str) -> str:
    """results/<competition>/<name>: one results file the competition's fit reads (the key rule's names only)."""
    return _file_key(results_prefix, competition, name)


def fixtures_key(competition: str, name: str) -> str:
    """fixtures/<competition>/<name>: one fixtures file, priced into priced/<competition>/ (rule's names only)."""
    return _file_key(fixtures_prefix, competition, name)


def _file_key(prefix: Callable[[str], str], competition: str, name: str) -> str:
    if not COMPETITION_RE.match(competition) or not FILE_NAME_RE.match(name):
        raise ContractError(
            f"bad competition {competition!r} or file name {name!r}: a name is one segment of letters, digits, "
            f"'.', '_' and '-' starting with a letter or digit, at most {FILE_NAME_MAX_STEM} characters "
            f"before {CSV_SUFFIX!r}"
        )
    return f"{prefix(competition)}{name}"


def _parse_file_key(prefix: str, key: str) -> tuple[str, str] | None:
    """(competition, file name) when `key` is prefix<COMP>/<name> under the key rule, else None."""
    if not key.startswith(prefix):
        return None
    competition, slash, name = key[len(prefix) :].partition("/")
    if not slash or not COMPETITION_RE.match(competition) or not FILE_NAME_RE.match(name):
        return None
    return competition, name


def parse_results_key(key: str) -> str | None:
    """The competition of a results file's key (results/<competition>/<name>.csv), None for any other key."""
    parsed = _parse_file_key(RESULTS_PREFIX, key)
    return parsed[0] if parsed else None


def parse_fixtures_key(key: str) -> tuple[str, str] | None:
    """(competition, name without .csv) for a fixtures file's key (fixtures/<competition>/<name>.csv), else None."""
    parsed = _parse_file_key(FIXTURES_PREFIX, key)
    return (parsed[0], parsed[1].removesuffix(CSV_SUFFIX)) if parsed else None


def safe_file_name(name: str) -> str:
    """The name a user's file is stored under: one the key rule accepts, as close to `name` as it allows.

    Characters outside [A-Za-z0-9._-] become "-", leading ones that are not a letter or digit are dropped,
    the suffix is lower-cased to .csv (appended when the name has none) and the rest cut to the rule's
    length. Raises ContractError when nothing usable is left ("", "..csv", "___")."""
    stem = name[: -len(CSV_SUFFIX)] if name.lower().endswith(CSV_SUFFIX) else name
    stem = _UNSAFE_NAME_CHARACTERS.sub("-", stem).lstrip("._-")[:FILE_NAME_MAX_STEM]
    safe = f"{stem}{CSV_SUFFIX}"
    if not FILE_NAME_RE.match(safe):
        raise ContractError(f"file name {name!r} has no letter or digit to store it under")
    return safe


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


def table_export_key(competition: str, version: str, export_format: str) -> str:
    """exports/<competition>/<version>-table.<csv|json>: the season table and its projection, beside the odds."""
    odds_key = export_key(competition, version, export_format)
    return f"{odds_key.removesuffix(f'.{export_format}')}{TABLE_EXPORT_SUFFIX}.{export_format}"


def parse_posterior_key(key: str) -> tuple[str, str] | None:
    """(competition, version) for a posterior key, None for any other key."""
    match = re.fullmatch(rf"{POSTERIOR_PREFIX}([^/]+)/([^/]+){re.escape(POSTERIOR_SUFFIX)}", key)
    if not match:
        return None
    competition, version = match.groups()
    if not COMPETITION_RE.match(competition) or not VERSION_RE.match(version):
        return None
    return competition, version


# --- Fixtures in, priced fixtures out -------------------------------------------------------------
# A file under fixtures/<competition>/ is priced into priced/<competition>/<name>.csv and .json, or
# <name>.error.json when it cannot be read. Outside FIXTURES_PREFIX, so pricing never hears of its own output.
PRICED_PREFIX = "priced/"
PRICED_FORMATS = ("csv", "json", "error.json")
PRICING_MAX_RECEIVES = 3  # deliveries of one fixtures event before SQS moves it to the dead-letter queue


def priced_key(competition: str, name: str, priced_format: str) -> str:
    """priced/<competition>/<name>.<csv|json|error.json>."""
    if not COMPETITION_RE.match(competition) or "/" in name or not name:
        raise ContractError(f"bad competition {competition!r} or name {name!r}")
    if priced_format not in PRICED_FORMATS:
        raise ContractError(f"bad priced format {priced_format!r}")
    return f"{PRICED_PREFIX}{competition}/{name}.{priced_format}"


# --- "Odds published" events ----------------------------------------------------------------------
# precompute puts one on the bus named by EVENT_BUS_VARIABLE when a version goes live; infra and
# subscribers' rules match on these.
EVENT_SOURCE = "matchodds"
ODDS_PUBLISHED = "Odds published"
EVENT_BUS_VARIABLE = "MATCHODDS_EVENT_BUS"
EVENT_BUS_NAME = "matchodds"
