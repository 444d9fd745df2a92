"""Settings every service reads from its environment, parsed once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


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
