"""The fit image: its build context holds no research or benchmarks, and its pinned requirements are closed.

What is not served (research/, bench/) must never reach the image. BuildKit sends the build only the
files the dockerignore lets in, and the build stage makes the project wheel from them; both are
rebuilt here: the context by the dockerignore's rules (moby's: the last matching pattern decides, and
a pattern that matches a directory matches everything in it), and the wheel by the Dockerfile's own
`pip wheel --no-deps` on a copy of that context. The image installs services/fit/requirements.txt
with --no-deps, so that file must pin every package its packages need, tqdm included (numpyro's).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
DOCKERIGNORE = ROOT / "services" / "fit" / "Dockerfile.dockerignore"
REQUIREMENTS = ROOT / "services" / "fit" / "requirements.txt"
NOT_SERVED = ("research", "bench")
# Where the image runs (services/fit/Dockerfile's python:3.12 on linux/amd64), for environment markers.
IMAGE_ENVIRONMENT = {
    "python_version": "3.12",
    "python_full_version": "3.12.8",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "platform_machine": "x86_64",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "extra": "",
}


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, pattern) per rule, with `**` for any number of directories and `*`, `?` within one."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] in "*?":
                regex, i = regex + ("[^/]*" if pattern[i] == "*" else "[^/]"), i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((negated, re.compile(regex)))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the context leaves `path` (relative, with /) out: the last rule matching it or a parent decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = not negated
    return verdict


def build_context(root: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> list[str]:
    """Every file under `root` that the rules let into the build context, as relative paths."""
    reincluded = [regex.pattern for negated, regex in rules if negated]
    files = []
    for directory, subdirectories, names in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        if relative == ".":  # a left-out top-level folder no `!` rule reaches is not walked (.git, .venv)
            subdirectories[:] = [
                d
                for d in subdirectories
                if not excluded(d, rules) or any(pattern.startswith(re.escape(d)) for pattern in reincluded)
            ]
            relative = ""
        for name in names:
            path = f"{relative}/{name}" if relative else name
            if not excluded(path, rules):
                files.append(path)
    return sorted(files)


def test_the_dockerignore_rules_read_as_buildkit_reads_them() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text())
    assert not excluded("matchodds/core/keys.py", rules) and not excluded("pyproject.toml", rules)
    assert excluded("research/backtest.py", rules) and excluded("bench/fit.py", rules)
    assert excluded("matchodds/core/__pycache__/keys.cpython-311.pyc", rules)
    assert excluded("services/fit/Dockerfile", rules) and excluded("services/fit/Dockerfile.dockerignore", rules)
    assert not excluded("research/x.py", dockerignore_rules("*\n!research\n"))


def test_the_fit_images_build_context_holds_no_research_or_benchmark_code() -> None:
    context = build_context(ROOT, dockerignore_rules(DOCKERIGNORE.read_text()))
    assert "services/fit/model.py" in context and "matchodds/core/posterior.py" in context
    assert [path for path in context if path.split("/")[0] in NOT_SERVED] == []
    assert {path.split("/")[0] for path in context} == {
        "pyproject.toml",
        "README.md",
        "matchodds",
        "adapters",
        "services",
    }


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def test_the_wheel_built_from_that_context_has_no_research_or_benchmark_module(tmp_path: Path) -> None:
    if not _pypi_reachable():
        pytest.skip("no network to pypi.org: the wheel is built as the image builds it, in isolation (setuptools)")
    context = tmp_path / "context"
    for path in build_context(ROOT, dockerignore_rules(DOCKERIGNORE.read_text())):
        (context / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, context / path)

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"), "."],
        cwd=context,
        check=True,
        capture_output=True,
    )

    (wheel,) = (tmp_path / "wheels").glob("matchodds-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
        names = archive.namelist()
    assert top_level == {"matchodds", "adapters", "services"}
    assert "services/fit/model.py" in names and "matchodds/data/teams.csv" in names


def unpinned_requirements(requirements_text: str) -> set[str]:
    """What the pinned packages require (in the image's environment, no extras) that the file does not pin."""
    pins = {}
    for line in requirements_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    missing = set()
    for name, version in pins.items():
        installed = metadata.distribution(name)
        assert installed.version == version, f"{name}: {installed.version} installed, {version} pinned"
        for text in installed.requires or []:
            requirement = Requirement(text)
            applies = requirement.marker is None or requirement.marker.evaluate(IMAGE_ENVIRONMENT)
            if applies and canonicalize_name(requirement.name) not in pins:
                missing.add(canonicalize_name(requirement.name))
    return missing


def test_the_fit_requirements_pin_every_package_their_packages_need() -> None:
    text = REQUIREMENTS.read_text()
    assert unpinned_requirements(text) == set()
    # tqdm stays: numpyro imports it on start, so an image without it could not fit.
    without_tqdm = "\n".join(line for line in text.splitlines() if not line.startswith("tqdm"))
    assert unpinned_requirements(without_tqdm) == {"tqdm"}
