"""Builds the two Lambda zips that the stack deploys: `python -m infra.package [--out build/lambda]`.

Each zip holds the repository files its function runs and the distributions they import, unpacked
at the zip root, for the platform named in `infra.lambda_platform`. A pure-Python distribution is
copied from the installed environment, at the version the tests ran against; any other (numpy) is
downloaded as the wheel of that same version for the Lambda's architecture and Python, which needs
the network to PyPI. The zips are byte-for-byte reproducible, so an unchanged build deploys nothing.
Exits non-zero when a zip passes Lambda's size limits or a module it ships imports something the
zip, the standard library and the Lambda runtime do not provide.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from infra.lambda_platform import (
    MARKER_ENVIRONMENT,
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    PACKAGES,
    PYTHON_VERSION,
    WHEEL_PLATFORMS,
    LambdaPackage,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "build" / "lambda"
DEFAULT_WHEELS = REPO_ROOT / "build" / "wheels"
# What the python3.12 Lambda runtime puts on sys.path besides the standard library.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same inputs give the same zip bytes


class PackagingError(RuntimeError):
    """A zip could not be built as its function needs it."""


@dataclass(frozen=True)
class BuiltZip:
    path: Path
    zipped_bytes: int
    unzipped_bytes: int

    @property
    def problems(self) -> list[str]:
        found = []
        if self.zipped_bytes > MAX_ZIPPED_BYTES:
            found.append(f"zipped {_mb(self.zipped_bytes)} > {_mb(MAX_ZIPPED_BYTES)}")
        if self.unzipped_bytes > MAX_UNZIPPED_BYTES:
            found.append(f"unzipped {_mb(self.unzipped_bytes)} > {_mb(MAX_UNZIPPED_BYTES)}")
        return found

    def describe(self) -> str:
        verdict = "; ".join(self.problems) or "within Lambda's limits"
        return f"{self.path}: {_mb(self.zipped_bytes)} zipped, {_mb(self.unzipped_bytes)} unzipped ({verdict})"


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def dependency_closure(roots: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions that `roots` need on the Lambda, extras and other platforms left out."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError as error:
            raise PackagingError(f"{name} is needed in a Lambda zip but is not installed here") from error
        for line in found[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(MARKER_ENVIRONMENT):
                pending.append(requirement.name)
    return [found[name] for name in sorted(found)]


def is_pure(distribution: metadata.Distribution) -> bool:
    """True for a wheel that runs anywhere (py3-none-any), so the installed copy is the Lambda's copy."""
    wheel = distribution.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return "Root-Is-Purelib: true" in wheel and bool(tags) and all(tag.endswith("-none-any") for tag in tags)


def shipped(arcname: str) -> bool:
    """Whether a file belongs in a zip: no bytecode, no test suites."""
    parts = arcname.split("/")
    return "__pycache__" not in parts and "tests" not in parts[:-1] and not arcname.endswith((".pyc", ".pyo"))


def installed_files(distribution: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """(path in the zip, file) for an installed distribution; scripts outside site-packages stay out."""
    for file in distribution.files or []:
        arcname = file.as_posix()
        if not arcname.startswith("../") and shipped(arcname):
            yield arcname, Path(str(distribution.locate_file(file)))


def download_wheels(distributions: Sequence[metadata.Distribution], wheels_dir: Path) -> list[Path]:
    """The Lambda-platform wheels of exactly these versions, downloaded once into `wheels_dir`."""
    if not distributions:
        return []
    wheels_dir.mkdir(parents=True, exist_ok=True)
    pins = [f"{distribution.metadata['Name']}=={distribution.version}" for distribution in distributions]
    platforms = [argument for platform in WHEEL_PLATFORMS for argument in ("--platform", platform)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        *platforms,
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--dest",
        str(wheels_dir),
        *pins,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(f"pip download {' '.join(pins)} failed:\n{result.stderr.strip()}")
    wanted = {(canonicalize_name(d.metadata["Name"]), d.version) for d in distributions}
    wheels = []
    for wheel in sorted(wheels_dir.glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        if (name, str(version)) in wanted and any(tag.platform in WHEEL_PLATFORMS for tag in tags):
            wheels.append(wheel)
            wanted.discard((name, str(version)))
    if wanted:
        raise PackagingError(f"pip download left no Lambda-platform wheel for {sorted(wanted)} in {wheels_dir}")
    return wheels


def wheel_files(wheel: Path) -> Iterator[tuple[str, bytes]]:
    """(path in the zip, content) of a wheel as pip would install it into site-packages."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in {"purelib", "platlib"}:
                    continue  # scripts, headers and data files are not importable
                parts = parts[2:]
            arcname = "/".join(parts)
            if shipped(arcname):
                yield arcname, archive.read(info)


def source_files(package: LambdaPackage) -> Iterator[tuple[str, Path]]:
    for pattern in package.sources:
        matches = sorted(REPO_ROOT.glob(pattern))
        if not matches:
            raise PackagingError(f"{package.name}: no file matches {pattern} under {REPO_ROOT}")
        for path in matches:
            yield path.relative_to(REPO_ROOT).as_posix(), path


def module_level_imports(source: str) -> Iterator[str]:
    """Modules imported when a module is imported: not inside functions, not under TYPE_CHECKING."""

    def walk(statements: list[ast.stmt]) -> Iterator[str]:
        for statement in statements:
            if isinstance(statement, ast.Import):
                yield from (alias.name for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
                yield statement.module
            elif isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                yield from walk(statement.orelse)
            elif isinstance(statement, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(statement, block, []):
                        yield from walk(child.body if isinstance(child, ast.ExceptHandler) else [child])

    yield from walk(ast.parse(source).body)


def unresolved_imports(sources: Iterable[tuple[str, Path]], arcnames: set[str]) -> list[str]:
    """Imports of the shipped sources that neither the zip, the standard library nor the runtime provide."""
    top_level = {name.split("/", 1)[0].removesuffix(".py") for name in arcnames}
    missing = []
    for arcname, path in sources:
        if not arcname.endswith(".py"):
            continue
        for module in module_level_imports(path.read_text(encoding="utf-8")):
            root = module.split(".", 1)[0]
            if root in sys.stdlib_module_names or root in RUNTIME_PROVIDED:
                continue
            module_path = module.replace(".", "/")
            in_zip = root in top_level and (
                f"{module_path}.py" in arcnames or f"{module_path}/__init__.py" in arcnames or "." not in module
            )
            if not in_zip:
                missing.append(f"{arcname} imports {module}")
    return missing


def write_zip(path: Path, entries: dict[str, Path | bytes]) -> BuiltZip:
    path.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for arcname in sorted(entries):
            content = entries[arcname]
            data = content.read_bytes() if isinstance(content, Path) else content
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            unzipped += len(data)
    return BuiltZip(path=path, zipped_bytes=path.stat().st_size, unzipped_bytes=unzipped)


def build(package: LambdaPackage, out_dir: Path = DEFAULT_OUT, wheels_dir: Path = DEFAULT_WHEELS) -> BuiltZip:
    """Build one function's zip into `out_dir`; raises PackagingError when it cannot run as built."""
    distributions = dependency_closure(package.distributions)
    entries: dict[str, Path | bytes] = {}
    for distribution in distributions:
        if is_pure(distribution):
            entries.update(installed_files(distribution))
    for wheel in download_wheels([d for d in distributions if not is_pure(d)], wheels_dir):
        entries.update(wheel_files(wheel))
    sources = list(source_files(package))
    entries.update(sources)
    missing = unresolved_imports(sources, set(entries))
    if missing:
        raise PackagingError(f"{package.name}.zip would fail to import: " + "; ".join(missing))
    return write_zip(out_dir / package.zip_name, entries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the zips go (default: build/lambda)")
    parser.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS, help="download cache for platform wheels")
    parser.add_argument(
        "--only",
        choices=[package.name for package in PACKAGES],
        action="append",
        help="build only this function's zip (repeatable)",
    )
    args = parser.parse_args(argv)
    failed = False
    for package in PACKAGES:
        if args.only and package.name not in args.only:
            continue
        try:
            built = build(package, args.out, args.wheels)
        except PackagingError as error:
            print(f"{package.zip_name}: {error}", file=sys.stderr)
            failed = True
            continue
        print(built.describe())
        failed = failed or bool(built.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
