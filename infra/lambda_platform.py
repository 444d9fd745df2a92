"""Where the Lambdas run and what goes in their zips, written once for the stack and the build.

The Pulumi components take the runtime, architecture and handler names from here, and
`infra.package` takes the wheel platform and the zip contents from here, so the numpy that is
downloaded always matches the machine that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

LAMBDA_RUNTIME = "python3.12"
# arm64 (Graviton) costs 20 % less per GB-second than x86_64 at the same memory, and both
# functions are plain Python + numpy, which ships aarch64 wheels.
LAMBDA_ARCHITECTURE = "arm64"

PYTHON_VERSION = LAMBDA_RUNTIME.removeprefix("python")
WHEEL_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}[LAMBDA_ARCHITECTURE]
# python3.12 runs on Amazon Linux 2023, whose glibc is 2.34: every manylinux wheel built for a glibc
# from 2.17 (manylinux2014) to 2.34 loads there. pip does not widen a --platform to older glibcs by
# itself, and numpy >= 2.3 publishes aarch64 wheels only as manylinux_2_28, so each tag is named.
RUNTIME_GLIBC_MINOR = 34
WHEEL_PLATFORMS = (
    f"manylinux2014_{WHEEL_MACHINE}",
    *(f"manylinux_2_{minor}_{WHEEL_MACHINE}" for minor in range(17, RUNTIME_GLIBC_MINOR + 1)),
)
# What `packaging.markers` sees when deciding which dependencies the Lambda needs.
MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "platform_machine": WHEEL_MACHINE,
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "python_version": PYTHON_VERSION,
    "python_full_version": f"{PYTHON_VERSION}.0",
    "extra": "",
}

# Lambda's documented quotas for a zip uploaded directly (no S3, no layers).
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


@dataclass(frozen=True)
class LambdaPackage:
    """One function's zip: the distributions it needs and the repository files it runs or reads."""

    name: str
    handler: str
    distributions: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def zip_name(self) -> str:
        return f"{self.name}.zip"


# The core's contract modules every function reads (no numpy among them: the query zip has none).
_CONTRACT = (
    "matchodds/__init__.py",
    "matchodds/core/__init__.py",
    *(f"matchodds/core/{module}.py" for module in ("keys", "items", "markets", "documents", "settings")),
    # items reads uploaded fixtures' dates and football-data names (results, teams and the team table).
    *(f"matchodds/core/{module}.py" for module in ("results", "teams")),
    "matchodds/data/teams.csv",
    "services/__init__.py",
)
# The odds table's one client (adapters/odds_table.py), for the three functions that read or write the table.
_ODDS_TABLE = ("adapters/__init__.py", "adapters/odds_table.py")

# boto3 is not listed: the Lambda runtime provides it. pydantic is imported only by the query's
# /openapi.json and /docs routes (powertools' OpenAPI models), never on an odds request, so it costs
# those routes alone a slower first call; the page and the example those routes serve are data files.
QUERY = LambdaPackage(
    name="query",
    handler="services.query.handler.lambda_handler",
    distributions=("aws-lambda-powertools", "pydantic"),
    # pricing: GET /fixtures prices the stored fixtures with the same code as the pricing Lambda.
    sources=(
        *_CONTRACT,
        *_ODDS_TABLE,
        "matchodds/core/pricing.py",
        "services/query/*.py",
        "services/query/static/*",
    ),
)
PRECOMPUTE = LambdaPackage(
    name="precompute",
    handler="services.precompute.handler.lambda_handler",
    distributions=("numpy", "aws-lambda-powertools"),
    sources=(
        *_CONTRACT,
        *_ODDS_TABLE,
        "adapters/posterior_store.py",
        *(f"matchodds/core/{module}.py" for module in ("posterior", "grid", "rounding", "season", "projection")),
        "matchodds/core/adaptation.py",  # the posterior checks the adaptation its meta may hold
        "services/precompute/*.py",
    ),
)
# Fixtures in, priced fixtures out: the core's pricing reads stored odds, so no numpy, like the query.
PRICING = LambdaPackage(
    name="pricing",
    handler="services.pricing.handler.lambda_handler",
    distributions=("aws-lambda-powertools",),
    sources=(*_CONTRACT, *_ODDS_TABLE, "matchodds/core/pricing.py", "services/pricing/*.py"),
)
# Results uploads in, fits out: the ledger's requests and one RunTask; plain Python.
FIT_TRIGGER = LambdaPackage(
    name="fit-trigger",
    handler="services.fit_trigger.handler.lambda_handler",
    distributions=("aws-lambda-powertools",),
    sources=(
        *_CONTRACT,
        "matchodds/core/refits.py",
        "adapters/__init__.py",
        "adapters/fit_ledger.py",
        "services/fit_trigger/*.py",
    ),
)
PACKAGES = (QUERY, PRECOMPUTE, PRICING, FIT_TRIGGER)
