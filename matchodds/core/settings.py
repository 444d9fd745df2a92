"""Settings every service reads from its environment, parsed once."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from matchodds.core.keys import COMPETITION_RE, DEFAULT_COMPETITIONS

COMPETITIONS_VARIABLE = "MATCHODDS_COMPETITIONS"
# Where precompute runs (its Lambda, the local stack, the benchmarks), numpy's BLAS on one thread: the score
# grids are many small matrix products (matchodds.core.grid), and OpenBLAS's own threads busy-wait, so on a
# Lambda's share of a vCPU or a busy machine they make the products slower than one thread does. BLAS reads
# these when numpy is first imported: set them in the process's environment, never after.
SINGLE_THREADED_BLAS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
LOG_LEVEL_VARIABLE = "MATCHODDS_LOG_LEVEL"
# The top-level loggers of everything a Lambda runs of ours: its pipeline (services.*) and the core.
OUR_LOGGERS = ("services", "matchodds")


def log_our_records(environ: Mapping[str, str] | None = None) -> None:
    """Let our INFO lines through (MATCHODDS_LOG_LEVEL to change it). Lambda's root logger stops at WARNING,
    so without this a pipeline's "published" or "fit started" lines never reach CloudWatch."""
    env = os.environ if environ is None else environ
    level = env.get(LOG_LEVEL_VARIABLE, "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        raise RuntimeError(f"{LOG_LEVEL_VARIABLE}={level!r} is not a logging level such as INFO or WARNING")
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)


# --- Settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What every service reads from its environment, parsed once."""

    bucket: str
    table: str
    # The competitions this deployment serves, in the order they are listed.
    competitions: tuple[str, ...] = DEFAULT_COMPETITIONS

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, need: tuple[str, ...] = ("bucket", "table")
    ) -> Settings:
        env = os.environ if environ is None else environ
        values = {"bucket": env.get("MATCHODDS_BUCKET", ""), "table": env.get("MATCHODDS_TABLE", "")}
        absent = [f"MATCHODDS_{name.upper()}" for name in need if not values[name]]
        if absent:
            raise RuntimeError(f"missing environment variable(s): {', '.join(absent)}")
        return cls(**values, competitions=parse_competitions(env.get(COMPETITIONS_VARIABLE, "")))


def parse_competitions(text: str, source: str = COMPETITIONS_VARIABLE) -> tuple[str, ...]:
    """The codes of a comma-separated list, DEFAULT_COMPETITIONS when empty; a ValueError names its `source`."""
    if not text.strip():
        return DEFAULT_COMPETITIONS
    codes = tuple(code.strip() for code in text.split(","))
    # Exact codes, not upper-cased: a deployment's config is typed once and should say what it means.
    bad = [code for code in codes if not COMPETITION_RE.match(code)]
    if bad:
        raise ValueError(
            f"{source}={text[:100]!r}: {', '.join(repr(code) for code in bad[:5])} "
            f"{'is' if len(bad) == 1 else 'are'} not a competition code such as E0 or SP1 "
            f"(give football-data division codes, separated by commas)"
        )
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValueError(f"{source}={text[:100]!r} lists {', '.join(repeated)} more than once")
    return codes
