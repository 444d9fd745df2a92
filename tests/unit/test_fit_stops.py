"""Which ECS task stops give a lease back (issue 31): only a trigger-started fit's, named by its holder."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from matchodds.core.refits import FIT_STARTED_BY_PREFIX, StoppedFit, fit_started_by, stopped_fit
from tests.conftest import load_event

pytestmark = pytest.mark.unit
HOLDER = "5d3c1f9e8b7a46c2a0e4f6b8d1c3e5a7"


def _event(**detail: Any) -> dict[str, Any]:
    event = load_event("ecs-task-stopped-triggered.json")
    event["detail"].update(detail)
    return event


def test_a_trigger_started_fit_stopped_names_its_competition_and_holder() -> None:
    stopped = stopped_fit(_event())
    assert stopped == StoppedFit(
        "E0",
        HOLDER,
        "arn:aws:ecs:us-east-1:123456789012:task/CLUSTER/0c6e4f1d2a3b4c5d8e9f0a1b2c3d4e5f",
        "Essential container in task exited",
    )
    assert fit_started_by("SP1") == f"{FIT_STARTED_BY_PREFIX}SP1" and len(fit_started_by("ABCDEFGH")) <= 36


@pytest.mark.parametrize(
    "change",
    [
        {"lastStatus": "RUNNING"},
        {"lastStatus": "DEPROVISIONING"},
        {"startedBy": "chronos-schedule"},  # a weekly fit: it holds no lease
        {"startedBy": f"{FIT_STARTED_BY_PREFIX}e0"},
        {"startedBy": None},
        {"overrides": {"containerOverrides": [{"name": "fit"}]}},
        {
            "overrides": {
                "containerOverrides": [
                    {"name": "other", "environment": [{"name": "MATCHODDS_FIT_HOLDER", "value": "x"}]}
                ]
            }
        },
        {
            "overrides": {
                "containerOverrides": [{"name": "fit", "environment": [{"name": "MATCHODDS_FIT_HOLDER", "value": ""}]}]
            }
        },
        {"overrides": {"containerOverrides": "fit"}},
        {"overrides": None},
    ],
)
def test_any_other_task_stop_or_state_names_no_lease(change: dict[str, Any]) -> None:
    assert stopped_fit(_event(**change)) is None


def test_an_event_of_another_kind_names_no_lease() -> None:
    for key, value in (("source", "aws.batch"), ("detail-type", "ECS Container Instance State Change"), ("detail", [])):
        event = copy.deepcopy(_event())
        event[key] = value
        assert stopped_fit(event) is None
    assert stopped_fit({}) is None
