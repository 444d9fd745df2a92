"""Issue 20: the weekly fit fans out to every served competition, each on its own, through the scheduler.

The `competitions` config is read by `infra.competitions.served_competitions`; each competition gets
its own schedule, task definition and roles, named by its code, and the one fit-failure rule names
the competition whose task failed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest
from event_patterns import matches
from infra_mocks import CONFIG, FIT_IMAGE, PROJECT, RECONFIGURED, REPO_ROOT, Deployed, run_stack

from infra.competitions import DEFAULT_COMPETITIONS, served_competitions
from infra.fit_job import FitJob, FitJobArgs
from matchodds.core.keys import COMPETITION_NAMES
from tests.conftest import load_event

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SCHEDULE = "aws:scheduler/schedule:Schedule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RECONFIGURED_COMPETITIONS: list[str] = json.loads(RECONFIGURED["competitions"])


def _served(config: dict[str, str]) -> list[str]:
    # Replaces the whole config, as run_stack does, so nothing leaks between cases or into the stacks.
    pulumi.runtime.set_all_config({f"{PROJECT}:{key}": value for key, value in config.items()})
    return served_competitions(pulumi.Config(PROJECT))


def test_the_default_is_the_five_leagues_whose_seasons_ship() -> None:
    shipped = {path.name for path in (REPO_ROOT / "data" / "football-data").iterdir() if path.is_dir()}
    assert set(DEFAULT_COMPETITIONS) == shipped and shipped <= set(COMPETITION_NAMES)
    assert _served({}) == list(DEFAULT_COMPETITIONS)


@pytest.mark.parametrize(
    ("config", "served"),
    [
        ({"competitions": '["I1", "E0"]'}, ["I1", "E0"]),
        ({"competitions": '["N1"]'}, ["N1"]),
        # A stack from before issue 20 that set the one competition it served keeps serving just it.
        ({"competition": "SP1"}, ["SP1"]),
    ],
)
def test_the_configured_competitions_are_served_in_order(config: dict[str, str], served: list[str]) -> None:
    assert _served(config) == served


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"competitions": '["E0", "e1"]'}, r"competition 'e1' is not a competition code"),
        ({"competitions": '["E0\\n"]'}, r"competition 'E0\\n' is not a competition code"),
        ({"competitions": '["E0", "../D1"]'}, r"competition '\.\./D1' is not a competition code"),
        ({"competitions": "[7]"}, r"competition 7 is not a competition code"),
        ({"competitions": '"E0"'}, r"competitions 'E0' is not a non-empty list"),
        ({"competitions": "[]"}, r"competitions \[\] is not a non-empty list"),
        ({"competitions": '["E0", "D1", "E0"]'}, r"competitions lists E0 more than once"),
        ({"competition": "e0"}, r"competition 'e0' is not a competition code"),
        ({"competition": "SP1", "competitions": '["E0"]'}, r"set 'competitions' or the older 'competition', not both"),
    ],
)
def test_a_bad_competitions_config_is_refused_by_name(config: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _served(config)


def test_the_program_stops_on_a_bad_code_before_declaring_the_fit() -> None:
    """Preview runs the same program: a bad code fails it, naming the value, before any fit resource exists."""
    with pytest.raises(ValueError, match=r"competition 'E0/' is not a competition code"):
        run_stack({**CONFIG, "competitions": json.dumps(["D1", "E0/"])})


def _names(deployed: Deployed, typ: str) -> list[str]:
    return sorted(resource.name for resource in deployed.of_type(typ))


def test_one_schedule_per_competition_each_starting_its_own_task_at_the_same_time(deployed: Deployed) -> None:
    """The scheduler fans out: as many schedules as competitions, in one group, at one cron, one task each."""
    schedules = {schedule.name: schedule.inputs for schedule in deployed.of_type(SCHEDULE)}
    assert sorted(schedules) == sorted(f"fit-{c}" for c in DEFAULT_COMPETITIONS)
    assert len({s["scheduleExpression"] for s in schedules.values()}) == 1
    assert len({s["groupName"] for s in schedules.values()}) == 1
    cluster = deployed.one("aws:ecs/cluster:Cluster")["arn"]
    targets = set()
    for competition in DEFAULT_COMPETITIONS:
        target = schedules[f"fit-{competition}"]["target"]
        task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
        assert target["arn"] == cluster
        assert target["ecsParameters"]["taskDefinitionArn"] == task["arn"]
        assert target["ecsParameters"]["taskCount"] == 1
        (container,) = json.loads(task.inputs["containerDefinitions"])
        environment = {variable["name"]: variable["value"] for variable in container["environment"]}
        assert environment["MATCHODDS_COMPETITION"] == competition
        targets.add((target["ecsParameters"]["taskDefinitionArn"], target["roleArn"]))
    assert len(targets) == len(DEFAULT_COMPETITIONS)  # no two schedules share a task definition or a role
    # One cluster, one execution role, one network for all of them.
    assert len(deployed.of_type("aws:ecs/cluster:Cluster")) == 1
    assert {task.inputs["executionRoleArn"] for task in deployed.of_type(TASK_DEFINITION)} == {
        deployed.one(ROLE, "fit-execution")["arn"]
    }


PER_COMPETITION = {
    TASK_DEFINITION: ("fit-{}",),
    SCHEDULE: ("fit-{}",),
    ROLE: ("fit-{}-task", "fit-{}-scheduler"),
    ROLE_POLICY: ("fit-{}-task", "fit-{}-scheduler"),
}


def _per_competition(deployed: Deployed, competition: str) -> set[tuple[str, str]]:
    return {(typ, name.format(competition)) for typ, names in PER_COMPETITION.items() for name in names}


def _shared(deployed: Deployed, competitions: list[str]) -> set[tuple[str, str]]:
    everything = {(resource.typ, resource.name) for resource in deployed.resources}
    for competition in competitions:
        own = _per_competition(deployed, competition)
        assert own <= everything, f"{competition} lacks {sorted(own - everything)}"
        everything -= own
    return everything


def test_another_list_adds_and_removes_only_those_competitions_resources(
    deployed: Deployed, reconfigured: Deployed
) -> None:
    """Nothing shared changes with the list, every fit resource follows it, and a kept competition is untouched."""
    # Equal shared sets also mean no resource of a dropped competition is left over: it would count
    # as shared in the reconfigured stack alone.
    assert _shared(deployed, list(DEFAULT_COMPETITIONS)) == _shared(reconfigured, RECONFIGURED_COMPETITIONS)
    assert _names(reconfigured, SCHEDULE) == sorted(f"fit-{c}" for c in RECONFIGURED_COMPETITIONS)

    (kept,) = set(DEFAULT_COMPETITIONS) & set(RECONFIGURED_COMPETITIONS)
    for typ, name in _per_competition(deployed, kept):
        assert deployed.one(typ, name).inputs == reconfigured.one(typ, name).inputs, (typ, name)

    (added,) = set(RECONFIGURED_COMPETITIONS) - set(DEFAULT_COMPETITIONS)
    (container,) = json.loads(reconfigured.one(TASK_DEFINITION, f"fit-{added}").inputs["containerDefinitions"])
    assert {"name": "MATCHODDS_COMPETITION", "value": added} in container["environment"]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == added


def _render(input_transformer: dict[str, Any], event: dict[str, Any]) -> str:
    """What the target sends to the topic: the template with each <name> read from the event by its path."""
    values = {}
    for name, path in input_transformer["inputPaths"].items():
        found: Any = event
        for part in path.removeprefix("$.").split("."):
            found = found[part]
        values[name] = found
    template = input_transformer["inputTemplate"]
    rendered: str = json.loads(re.sub(r"<(\w+)>", lambda m: str(values[m.group(1)]), template))
    return rendered


def _stopped_event(deployed: Deployed, competition: str, exit_code: int) -> dict[str, Any]:
    event = load_event("ecs-task-stopped.json")
    task = deployed.one(TASK_DEFINITION, f"fit-{competition}")
    event["detail"]["clusterArn"] = deployed.one("aws:ecs/cluster:Cluster")["arn"]
    event["detail"]["taskDefinitionArn"] = task["arn"]
    event["detail"]["group"] = f"family:{task.inputs['family']}"
    event["detail"]["containers"][0]["exitCode"] = exit_code
    return event


@pytest.mark.parametrize("competition", DEFAULT_COMPETITIONS)
def test_a_failed_fit_of_any_competition_alarms_and_the_message_names_it(deployed: Deployed, competition: str) -> None:
    rule = deployed.one("aws:cloudwatch/eventRule:EventRule", "alarms-fit-failed")
    pattern = json.loads(rule.inputs["eventPattern"])
    failed = _stopped_event(deployed, competition, exit_code=3)
    assert matches(pattern, failed)
    assert not matches(pattern, _stopped_event(deployed, competition, exit_code=0))

    target = deployed.one("aws:cloudwatch/eventTarget:EventTarget", "alarms-fit-failed")
    message = _render(target.inputs["inputTransformer"], failed)
    assert re.search(rf"fit-{competition}\b", message), message
    for other in set(DEFAULT_COMPETITIONS) - {competition}:
        assert not re.search(rf"fit-{other}\b", message), message
    assert failed["detail"]["stoppedReason"] in message


@pytest.mark.parametrize(
    ("competitions", "message"),
    [
        (["E0", "sp1"], r"competition 'sp1' is not a competition code"),
        (["E0", "E0"], r"must name each competition once"),
        ([], r"at least one"),
    ],
)
def test_the_fit_component_refuses_codes_it_would_put_in_a_grant(competitions: list[str], message: str) -> None:
    """The component checks its own arguments too: a code becomes an S3 prefix in an IAM grant."""
    args = FitJobArgs(
        image=FIT_IMAGE,
        competitions=competitions,
        schedule="cron(0 6 ? * TUE *)",
        bucket_name="bucket",
        bucket_arn="arn:aws:s3:::bucket",
        account_id="123456789012",
        region="us-east-1",
        log_retention_days=30,
        ledger_name="ledger",
        ledger_arn="arn:aws:dynamodb:us-east-1:123456789012:table/ledger",
    )
    with pytest.raises(ValueError, match=message):
        FitJob("fit", args)
