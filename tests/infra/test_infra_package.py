"""The Lambda zips that `python -m infra.package` builds: contents, platform, imports and sizes."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import infra.package as package
from infra.lambda_platform import (
    FIT_TRIGGER,
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    PRECOMPUTE,
    PRICING,
    PYTHON_VERSION,
    QUERY,
    WHEEL_MACHINE,
    WHEEL_PLATFORMS,
)
from matchodds.core.refits import (
    FIT_CLUSTER_VARIABLE,
    FIT_LEDGER_VARIABLE,
    FIT_SECURITY_GROUPS_VARIABLE,
    FIT_SUBNETS_VARIABLE,
    FIT_TASKS_VARIABLE,
)

pytestmark = pytest.mark.infra

# Run in a bare interpreter (-S: no site-packages, no editable install) whose path is only the
# unzipped function and a stand-in for what the Lambda runtime provides; numpy is in neither.
IMPORT_AND_INVOKE_QUERY = """
import json, os, sys, types
function_dir, runtime_dir = sys.argv[1], sys.argv[2]
sys.path[:0] = [function_dir, runtime_dir]
os.environ.update(MATCHODDS_TABLE="odds", MATCHODDS_BUCKET="bucket", AWS_DEFAULT_REGION="us-east-1",
                  AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
import importlib.util
numpy_available = importlib.util.find_spec("numpy") is not None
import services.query.handler as handler
import aws_lambda_powertools
context = types.SimpleNamespace(function_name="query", memory_limit_in_mb=512, aws_request_id="1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:query")
event = {"version": "2.0", "routeKey": "$default", "rawPath": "/no-such-route", "rawQueryString": "",
         "headers": {}, "requestContext": {"http": {"method": "GET", "path": "/no-such-route"}, "stage": "$default"},
         "isBase64Encoded": False}
response = handler.lambda_handler(event, context)
print(json.dumps({
    "numpy_available": numpy_available,
    "numpy_imported": sorted(name for name in sys.modules if name.split(".")[0] == "numpy"),
    "pydantic_imported": sorted(name for name in sys.modules if name.split(".")[0].startswith("pydantic")),
    "handler_file": handler.__file__,
    "powertools_file": aws_lambda_powertools.__file__,
    "status": response["statusCode"],
}))
"""


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


NO_NETWORK = "no network to pypi.org: the zips need wheels built for the Lambda downloaded (pydantic-core, numpy)"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One download cache for the module: each platform wheel is fetched once."""
    if not _pypi_reachable():
        pytest.skip(NO_NETWORK)
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="module")
def query_zip(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> package.BuiltZip:
    return package.build(QUERY, tmp_path_factory.mktemp("lambda"), wheels)


def _names(built: package.BuiltZip) -> list[str]:
    with zipfile.ZipFile(built.path) as archive:
        return archive.namelist()


def _invoke_in_bare_interpreter(
    built: package.BuiltZip, tmp_path: Path, script: str, environment: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Unzip the function and run `script` in a bare interpreter on S3's test event; returns what it printed last."""
    function_dir = tmp_path / "function"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(function_dir)
    event = Path(__file__).parents[1] / "events" / "sqs-s3-test-event.json"
    runtime_dir = _runtime_stand_in(tmp_path / "runtime")
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(function_dir), str(runtime_dir), str(event)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, **(environment or {})},
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _runtime_stand_in(directory: Path) -> Path:
    """Links to the modules the Lambda runtime itself provides (boto3 and its dependencies)."""
    directory.mkdir()
    for module in sorted(package.RUNTIME_PROVIDED):
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, f"{module} is not installed"
        source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        (directory / source.name).symlink_to(source)
    return directory


def test_query_zip_imports_and_runs_its_handler_without_numpy(query_zip: package.BuiltZip, tmp_path: Path) -> None:
    function_dir = tmp_path / "function"
    with zipfile.ZipFile(query_zip.path) as archive:
        archive.extractall(function_dir)
    runtime_dir = _runtime_stand_in(tmp_path / "runtime")

    result = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_AND_INVOKE_QUERY, str(function_dir), str(runtime_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["numpy_available"] is False
    assert report["numpy_imported"] == []
    assert report["pydantic_imported"] == []  # only the docs routes load it (and its aarch64 core)
    assert report["handler_file"].startswith(str(function_dir))
    assert report["powertools_file"].startswith(str(function_dir))
    assert report["status"] == 404  # powertools answered: the handler ran end to end


def test_query_zip_holds_its_libraries_and_the_contract_but_no_numpy_or_boto3(query_zip: package.BuiltZip) -> None:
    names = _names(query_zip)
    top_level = {name.split("/", 1)[0] for name in names}
    assert {"aws_lambda_powertools", "pydantic", "pydantic_core", "matchodds", "services"} <= top_level
    assert [name for name in names if name.startswith("pydantic_core/") and f"-{WHEEL_MACHINE}-linux" in name]
    assert not top_level & {"numpy", "boto3", "botocore"}
    first_party = sorted(name for name in names if name.startswith(("matchodds/", "services/")))
    query_files = [
        *(package.REPO_ROOT / "services" / "query").glob("*.py"),
        *(package.REPO_ROOT / "services" / "query" / "static").glob("*"),
    ]
    expected = [
        "matchodds/__init__.py",
        "matchodds/core/__init__.py",
        *(f"matchodds/core/{module}.py" for module in ("documents", "items", "keys", "markets", "settings")),
        # GET /fixtures: the stored fixtures' parsing and pricing, with the team table it names teams by.
        *(f"matchodds/core/{module}.py" for module in ("pricing", "results", "teams")),
        "matchodds/data/teams.csv",
        "services/__init__.py",
        *(path.relative_to(package.REPO_ROOT).as_posix() for path in query_files),
    ]
    assert first_party == sorted(expected)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_query_zip_is_within_lambda_limits(query_zip: package.BuiltZip) -> None:
    assert query_zip.problems == []
    assert query_zip.zipped_bytes <= MAX_ZIPPED_BYTES and query_zip.unzipped_bytes <= MAX_UNZIPPED_BYTES


def test_zips_are_reproducible(tmp_path: Path, wheels: Path) -> None:
    first = package.build(QUERY, tmp_path / "first", wheels)
    second = package.build(QUERY, tmp_path / "second", wheels)
    assert first.path.read_bytes() == second.path.read_bytes()


def test_build_command_fails_when_a_zip_passes_the_limits(
    tmp_path: Path, wheels: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["--out", str(tmp_path), "--wheels", str(wheels), "--only", "query"]
    assert package.main(command) == 0
    assert "query.zip" in capsys.readouterr().out
    monkeypatch.setattr(package, "MAX_UNZIPPED_BYTES", 1024)
    assert package.main(command) == 1
    assert "unzipped" in capsys.readouterr().out


def test_build_refuses_a_module_whose_imports_the_zip_lacks(tmp_path: Path) -> None:
    module = tmp_path / "handler.py"
    module.write_text(
        "from __future__ import annotations\nimport json\nimport boto3\nimport scipy.stats\n"
        "from services.query.app import app\nfrom services.nowhere import thing\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import numpy\n"
        "def later():\n    import pandas\n",
        encoding="utf-8",
    )
    arcnames = {"services/__init__.py", "services/query/__init__.py", "services/query/app.py", "services/x.py"}
    missing = package.unresolved_imports([("services/x.py", module)], arcnames)
    assert missing == ["services/x.py imports scipy.stats", "services/x.py imports services.nowhere"]


def test_the_wheel_platform_matches_the_function_definition() -> None:
    assert LAMBDA_RUNTIME.removeprefix("python") == PYTHON_VERSION
    assert (LAMBDA_ARCHITECTURE, WHEEL_MACHINE) == ("arm64", "aarch64")
    assert "manylinux2014_aarch64" in WHEEL_PLATFORMS
    assert all(platform.endswith("_aarch64") for platform in WHEEL_PLATFORMS)


def test_precompute_zip_carries_numpy_built_for_the_lambda(tmp_path: Path, wheels: Path) -> None:
    built = package.build(PRECOMPUTE, tmp_path, wheels)
    assert built.problems == []
    names = _names(built)
    extension = re.compile(
        rf"^numpy/_core/_multiarray_umath\.cpython-{PYTHON_VERSION.replace('.', '')}-{WHEEL_MACHINE}-linux-gnu\.so$"
    )
    assert [name for name in names if extension.match(name)], "numpy is not the Lambda platform's build"
    assert not [name for name in names if "x86_64" in name]
    needed = {"services/precompute/handler.py", "matchodds/core/grid.py", "aws_lambda_powertools/__init__.py"}
    assert needed <= set(names)
    assert not [name for name in names if "/tests/" in name or "__pycache__" in name]
    assert not [name for name in names if name.startswith(("research/", "bench/", "services/fit/"))]
    assert not {name.split("/", 1)[0] for name in names} & {"boto3", "botocore"}


# The pricing zip in a bare interpreter: the handler on an S3 test event, and the core pricing a
# plain file by football-data names, which needs the team table shipped in the zip.
IMPORT_AND_INVOKE_PRICING = """
import json, os, sys, types
function_dir, runtime_dir, event_path = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [function_dir, runtime_dir]
os.environ.update(MATCHODDS_TABLE="odds", AWS_DEFAULT_REGION="us-east-1",
                  AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
import importlib.util
numpy_available = importlib.util.find_spec("numpy") is not None
import services.pricing.handler as handler
from matchodds.core.pricing import price_file, stored_source
from matchodds.core.results import parse_any_fixtures
context = types.SimpleNamespace(function_name="pricing", memory_limit_in_mb=512, aws_request_id="1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:pricing")
response = handler.lambda_handler(json.load(open(event_path)), context)
odds = {("ARS", "CHE"): {"p_home": 0.5, "p_draw": 0.3, "p_away": 0.2}}
priced = price_file(parse_any_fixtures("home,away\\nArsenal,Chelsea\\n", "p.csv", "E0"),
                    stored_source("20250526T060000Z", ["ARS", "CHE"], odds), "E0")
print(json.dumps({
    "numpy_imported": numpy_available or any(name.split(".")[0] == "numpy" for name in sys.modules),
    "handler_file": handler.__file__,
    "response": response,
    "priced": priced.rows[0].priced.probabilities,
}))
"""


def test_pricing_zip_runs_its_handler_and_prices_by_team_name_without_numpy(tmp_path: Path, wheels: Path) -> None:
    built = package.build(PRICING, tmp_path / "zip", wheels)
    assert built.problems == []
    names = _names(built)
    assert {"matchodds/data/teams.csv", "matchodds/core/pricing.py", "services/pricing/handler.py"} <= set(names)
    top_level = {name.split("/", 1)[0] for name in names}
    assert not top_level & {"numpy", "boto3", "botocore", "pydantic"}
    assert not [name for name in names if name.startswith(("services/query/", "services/precompute/"))]
    report = _invoke_in_bare_interpreter(built, tmp_path, IMPORT_AND_INVOKE_PRICING)
    assert report["numpy_imported"] is False and report["handler_file"].startswith(str(tmp_path / "function"))
    assert report["response"] == {"batchItemFailures": []}
    assert report["priced"] == [0.5, 0.3, 0.2]


# The fit trigger's zip in a bare interpreter: the handler reads its environment (the ledger, the task
# definitions, the network: passed in by the test) and makes its clients, and S3's test event starts no fit.
IMPORT_AND_INVOKE_FIT_TRIGGER = """
import json, os, sys, types
function_dir, runtime_dir, event_path = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [function_dir, runtime_dir]
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
import importlib.util
numpy_available = importlib.util.find_spec("numpy") is not None
import services.fit_trigger.handler as handler
context = types.SimpleNamespace(function_name="fit-trigger", memory_limit_in_mb=256, aws_request_id="1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fit-trigger")
response = handler.lambda_handler(json.load(open(event_path)), context)
ledger, launcher = handler._dependencies()
print(json.dumps({
    "numpy_imported": numpy_available or any(name.split(".")[0] == "numpy" for name in sys.modules),
    "handler_file": handler.__file__,
    "response": response,
    "serves": [launcher.serves("E0"), launcher.serves("D1")],
    "subnets": list(launcher.subnets),
}))
"""


def test_fit_trigger_zip_runs_its_handler_without_numpy(tmp_path: Path, wheels: Path) -> None:
    built = package.build(FIT_TRIGGER, tmp_path / "zip", wheels)
    assert built.problems == []
    names = _names(built)
    assert {"matchodds/core/refits.py", "services/fit_trigger/handler.py", "adapters/fit_ledger.py"} <= set(names)
    top_level = {name.split("/", 1)[0] for name in names}
    assert not top_level & {"numpy", "boto3", "botocore", "pydantic"}
    assert {name.split("/")[1] for name in names if name.count("/") > 1 and name.startswith("services/")} == {
        "fit_trigger"
    }
    environment = {
        FIT_LEDGER_VARIABLE: "ledger",
        FIT_TASKS_VARIABLE: json.dumps({"E0": "arn:aws:ecs:us-east-1:123456789012:task-definition/fit-E0:1"}),
        FIT_CLUSTER_VARIABLE: "arn:aws:ecs:us-east-1:123456789012:cluster/fit",
        FIT_SUBNETS_VARIABLE: "subnet-1,subnet-2",
        FIT_SECURITY_GROUPS_VARIABLE: "sg-1",
    }
    report = _invoke_in_bare_interpreter(built, tmp_path, IMPORT_AND_INVOKE_FIT_TRIGGER, environment)
    assert report["numpy_imported"] is False and report["handler_file"].startswith(str(tmp_path / "function"))
    assert report["response"] == {"batchItemFailures": []}
    assert report["serves"] == [True, False]
    assert report["subnets"] == ["subnet-1", "subnet-2"]
