"""Mocks for the Pulumi program, and the recorded stack the infra tests inspect.

The mocks play the engine and the AWS provider: they echo each resource's inputs back as its state
and add the attributes AWS would compute (ARNs, names, URLs) in AWS's own formats, so that what one
resource reads from another (a queue ARN in a notification, a role ARN in a task definition) can be
followed. Nothing is read from disk or the network: the Lambda zips need not exist.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # infra/ is a program directory, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

ACCOUNT = "123456789012"
REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
PROJECT, STACK = "matchodds", "test"
FIT_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/matchodds-fit:2025-08-01"
FIT_REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/matchodds-fit"
ALARM_EMAIL = "odds-alarms@example.com"
# The stack's two tables, by logical name (infra/storage.py): the odds, and the fit ledger.
ODDS_TABLE, LEDGER_TABLE = "matchodds-odds", "matchodds-fit-ledger"
CONFIG = {
    "fitImage": FIT_IMAGE,
    "alarmEmail": ALARM_EMAIL,
    "corsAllowOrigins": json.dumps(["https://odds.example.com"]),
}
# A second stack with the keys that defaults would otherwise hide set to something else, so a test
# can tell a value read from config from one written into the program.
# Its competitions keep one of the default five (SP1, whose resources must not change), drop the
# other four and add one that is not a default (N1, the Eredivisie).
RECONFIGURED = {**CONFIG, "competitions": json.dumps(["SP1", "N1"]), "queryReservedConcurrency": "7"}


@dataclass(frozen=True)
class Recorded:
    """One resource as the program declared it (inputs) and as the mock provider returned it (state)."""

    typ: str
    name: str
    id: str
    inputs: dict[str, Any]
    state: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.state[key]


def _physical_name(typ: str, logical: str) -> str:
    """An auto-name as Pulumi makes one: the logical name and a random-looking suffix."""
    return f"{logical}-{hashlib.sha256(f'{typ}/{logical}'.encode()).hexdigest()[:7]}"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        resource_id = f"{args.name}-component"
        if args.custom:
            resource_id = self._compute(args.typ, args.name, state)
        self.resources.append(Recorded(args.typ, args.name, resource_id, dict(args.inputs), state))
        return resource_id, state

    @staticmethod
    def _compute(typ: str, logical: str, state: dict[str, Any]) -> str:
        """Fill in what AWS computes; returns the resource's id."""
        name = state.setdefault("name", _physical_name(typ, logical))
        service = typ.split(":")[1].split("/")[0]
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{typ.rsplit(':', 1)[1].lower()}/{name}")
        if typ == "aws:s3/bucket:Bucket":
            state["bucket"] = state.pop("name")
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
            return str(state["bucket"])
        if typ == "aws:dynamodb/table:Table":
            state["arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif typ == "aws:sqs/queue:Queue":
            state["arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            state["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            return str(state["url"])
        elif typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
            return str(name)
        elif typ == "aws:lambda/function:Function":
            state["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            functions = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions"
            state["invokeArn"] = f"{functions}/{state['arn']}/invocations"
            return str(name)
        elif typ == "aws:ecs/taskDefinition:TaskDefinition":
            state["arn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{state['family']}:1"
        elif typ == "aws:ecs/cluster:Cluster":
            state["arn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        elif typ == "aws:sns/topic:Topic":
            state["arn"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state["arn"] = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
        elif typ == "aws:apigatewayv2/api:Api":
            api_id = hashlib.sha256(logical.encode()).hexdigest()[:10]
            state["apiEndpoint"] = f"https://{api_id}.execute-api.{REGION}.amazonaws.com"
            state["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}"
            return api_id
        elif typ == "aws:apigatewayv2/stage:Stage":
            state["invokeUrl"] = f"https://{state['apiId']}.execute-api.{REGION}.amazonaws.com/"
        kind = typ.rsplit(":", 1)[1].lower()
        return f"{kind}-{hashlib.sha256(f'{typ}/{logical}'.encode()).hexdigest()[:12]}"

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        # A bare dict: the mock monitor iterates the failures of a (result, failures) pair, even None.
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AID", "id": ACCOUNT}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION, "endpoint": f"ec2.{REGION}.amazonaws.com"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": list(ZONES), "zoneIds": [f"use1-az{n}" for n in range(1, 4)], "id": REGION}
        raise NotImplementedError(f"the infra test mocks do not answer {args.token}")


class RecordingMonitor(MockMonitor):
    """The mock engine, noting which resources the program asked Pulumi to protect from deletion, and the
    aliases (name, parent URN) by which a moved resource keeps its deployed one."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.protected: set[tuple[str, str]] = set()
        self.aliases: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  (the engine's RPC name)
        if request.protect:
            self.protected.add((request.type, request.name))
        if request.aliases:
            self.aliases[(request.type, request.name)] = [
                (alias.spec.name, alias.spec.parentUrn) for alias in request.aliases
            ]
        return super().RegisterResource(request)


@dataclass(frozen=True)
class Deployed:
    """The recorded stack: every resource, the URN of each (its parent chain), the exports, what is protected,
    and the aliases of what moved."""

    resources: list[Recorded]
    urns: list[str]
    exports: dict[str, Any]
    protected: frozenset[tuple[str, str]] = frozenset()
    aliases: Mapping[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Recorded:
        found = [resource for resource in self.of_type(typ) if name is None or resource.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_arn(self, arn: str) -> Recorded:
        found = [resource for resource in self.resources if resource.state.get("arn") == arn]
        assert len(found) == 1, f"expected one resource with ARN {arn}, found {len(found)}"
        return found[0]

    def role_statements(self, role_name: str) -> list[dict[str, Any]]:
        """The statements of a role's one inline policy (every role in the stack has exactly one)."""
        role = self.one("aws:iam/role:Role", role_name)
        policies = [p for p in self.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role["name"]]
        assert len(policies) == 1, f"{role_name} should carry exactly one inline policy"
        statements: list[dict[str, Any]] = json.loads(policies[0].inputs["policy"])["Statement"]
        return statements

    def policies(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(where, document) for every policy document in the stack: inline, trust and resource policies."""
        for resource in self.resources:
            for key in ("policy", "assumeRolePolicy"):
                if isinstance(resource.inputs.get(key), str):
                    yield f"{resource.typ} {resource.name} {key}", json.loads(resource.inputs[key])


def run_stack(config: Mapping[str, str] = CONFIG) -> Deployed:
    """Run infra/__main__.py as `pulumi up` would (preview=False), against the mocks, and record it."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    # Replaces the whole config, so one run's keys never leak into the next run in this process.
    pulumi.runtime.set_all_config({f"{PROJECT}:{key}": value for key, value in config.items()})
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def run_program() -> pulumi.Output[Any]:
        runpy.run_path(str(REPO_ROOT / "infra"), run_name="__main__")
        stack = pulumi.runtime.get_root_resource()
        assert isinstance(stack, pulumi.runtime.stack.Stack)
        return pulumi.Output.from_input(stack.outputs).apply(exports.update)

    run_program()
    return Deployed(
        resources=mocks.resources,
        urns=list(monitor.resources),
        exports=exports,
        protected=frozenset(monitor.protected),
        aliases=dict(monitor.aliases),
    )
