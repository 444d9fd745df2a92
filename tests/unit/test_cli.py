"""The `matchodds` command loads a service only when its subcommand runs: no JAX (nor boto3) for --help or price."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PROBE = """
import sys
from entry.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(name for name in ("jax", "numpyro", "scipy", "services.fit", "boto3") if name in sys.modules)
print("loaded:", ",".join(heavy))
"""


def loaded_after(*argv: str) -> str:
    """The heavy modules a fresh interpreter holds after running `matchodds ARGV`."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.unit
@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("price", "--help"),
        ("demo", "--help"),
        ("upload", "--help"),
        ("price", "missing.csv", "--api", "http://x"),
        ("project", "--help"),
        ("project", "--results", "missing.csv", "--json", "out.json"),  # refused before the fit: no JAX
        ("project", "--results", "x.csv", "--through", "5 January", "--json", "out.json"),
    ],
)
def test_commands_that_do_not_fit_never_import_jax_nor_boto3(argv: tuple[str, ...]) -> None:
    assert loaded_after(*argv) == "loaded:"


@pytest.mark.fit  # two interpreters that import JAX
def test_the_fit_command_loads_the_fit_and_shows_its_own_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entry", "fit", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "--bucket" in done.stdout and "--fixtures" in done.stdout
    loaded = loaded_after("fit", "--help")  # one more interpreter that imports JAX: not two
    assert loaded.startswith("loaded:") and "jax" in loaded
