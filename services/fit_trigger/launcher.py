"""Starting a competition's fit: one Fargate task from the competition's own task definition."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from matchodds.core.refits import (
    FIT_CLUSTER_VARIABLE,
    FIT_CONTAINER,
    FIT_HOLDER_VARIABLE,
    FIT_SECURITY_GROUPS_VARIABLE,
    FIT_SUBNETS_VARIABLE,
    FIT_TASKS_VARIABLE,
    fit_started_by,
)

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


class LaunchError(RuntimeError):
    """A fit could not be started (no Fargate capacity, a missing task definition)."""


class Launcher(Protocol):
    def launch(self, competition: str, holder: str) -> str:
        """Start the competition's fit holding `holder`'s lease; returns an id of the run."""
        ...


@dataclass(frozen=True)
class EcsLauncher:
    """RunTask on the competition's task definition, the lease's holder passed in the container's environment."""

    ecs: ECSClient
    cluster: str
    task_definitions: Mapping[str, str]
    subnets: Sequence[str]
    security_groups: Sequence[str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str], ecs: ECSClient) -> EcsLauncher:
        absent = [
            name
            for name in (FIT_TASKS_VARIABLE, FIT_CLUSTER_VARIABLE, FIT_SUBNETS_VARIABLE, FIT_SECURITY_GROUPS_VARIABLE)
            if not environ.get(name)
        ]
        if absent:
            raise RuntimeError(f"missing environment variable(s): {', '.join(absent)}")
        tasks = json.loads(environ[FIT_TASKS_VARIABLE])
        return cls(
            ecs,
            environ[FIT_CLUSTER_VARIABLE],
            {str(competition): str(arn) for competition, arn in tasks.items()},
            environ[FIT_SUBNETS_VARIABLE].split(","),
            environ[FIT_SECURITY_GROUPS_VARIABLE].split(","),
        )

    def serves(self, competition: str) -> bool:
        return competition in self.task_definitions

    def launch(self, competition: str, holder: str) -> str:
        task_definition = self.task_definitions.get(competition)
        if task_definition is None:
            raise LaunchError(f"no fit task definition for {competition}")
        response: Any = self.ecs.run_task(
            cluster=self.cluster,
            taskDefinition=task_definition,
            launchType="FARGATE",
            count=1,
            # Its stop event is matched and read back by this (infra/fit_trigger.py, refits.stopped_fit).
            startedBy=fit_started_by(competition),
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(self.subnets),
                    "securityGroups": list(self.security_groups),
                    "assignPublicIp": "ENABLED",  # the fit's network has public subnets only (infra/fit_job.py)
                }
            },
            overrides={
                "containerOverrides": [
                    {"name": FIT_CONTAINER, "environment": [{"name": FIT_HOLDER_VARIABLE, "value": holder}]}
                ]
            },
        )
        failures = response.get("failures") or []
        tasks = response.get("tasks") or []
        if failures or not tasks:
            reasons = "; ".join(f"{failure.get('reason')} ({failure.get('arn', '')})" for failure in failures)
            raise LaunchError(f"RunTask started no {competition} fit: {reasons or 'no task returned'}")
        return str(tasks[0]["taskArn"])
