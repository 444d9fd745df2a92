"""Fit trigger: a results file in S3 starts its competition's fit, a minute's uploads at a time.

S3 notifies the queue of every .csv created under results/ (the key rule's suffix, matchodds.core.keys);
Lambda gathers what arrives within the batching window into one batch, and the function counts each
competition's files in the fit ledger and, if no fit of that competition holds the lease, runs that
competition's fit task (services/fit_trigger, matchodds.core.refits). The weekly schedules
(infra/fit_job.py) stay: they need neither the trigger nor the ledger.

The role may start exactly the served competitions' fit task definitions, on the fit cluster, and
hand the tasks exactly the fit roles; it may update the ledger's items of the served competitions,
and read nothing else: no S3, no odds table. The fit tasks it started report their stop to its queue
(an EventBridge rule, the only one the queue's policy lets send), and it gives a stopped fit's lease back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.lambda_platform import FIT_TRIGGER
from infra.policy_docs import allow
from infra.queued_function import QueuedFunction, QueuedFunctionArgs
from matchodds.core.keys import CSV_SUFFIX, RESULTS_PREFIX
from matchodds.core.refits import (
    ECS_SOURCE,
    ECS_STOPPED,
    ECS_TASK_STATE_CHANGE,
    FIT_BATCHING_WINDOW_SECONDS,
    FIT_CLUSTER_VARIABLE,
    FIT_LEDGER_VARIABLE,
    FIT_SECURITY_GROUPS_VARIABLE,
    FIT_STARTED_BY_PREFIX,
    FIT_SUBNETS_VARIABLE,
    FIT_TASKS_VARIABLE,
    FIT_TRIGGER_BATCH_SIZE,
    FIT_TRIGGER_MAX_RECEIVES,
)

# A batch is a few competitions: per competition one UpdateItem, one conditional UpdateItem and one
# RunTask. Plain Python (no numpy), so the smallest memory that imports powertools quickly will do;
# the timeout leaves RunTask (a second or two each) room for a batch of every served competition.
FIT_TRIGGER_MEMORY_MB = 256
FIT_TRIGGER_TIMEOUT_SECONDS = 30
# Two batches at once at most (Lambda's minimum for SQS); the ledger's conditional lease decides
# which of two batches of one competition starts its fit.
MAX_CONCURRENCY = 2
FIT_TRIGGER_LEDGER_ACTIONS = ("dynamodb:UpdateItem",)  # adapters/fit_ledger.py: count, claim, release
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


@dataclass(frozen=True)
class FitTriggerArgs:
    code: Path
    bucket_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    log_retention_days: int
    ledger_name: pulumi.Input[str]
    ledger_arn: pulumi.Input[str]
    # The fit (infra/fit_job.py): per served competition its task definition; the roles a task runs
    # with (the execution role and every task role), and where it runs.
    task_definition_arns: Mapping[str, pulumi.Input[str]]
    fit_role_arns: Sequence[pulumi.Input[str]]
    cluster_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]


class FitTrigger(pulumi.ComponentResource):
    """Queue with dead-letter queue, the policy that lets the bucket send to it, and the function that starts fits.

    The bucket's one BucketNotification (storage's) carries `queued.notification`, after `queued.queue_policy`.
    """

    def __init__(self, name: str, args: FitTriggerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.task_definition_arns:
            raise ValueError("the fit trigger needs at least one competition's fit task definition")
        super().__init__("matchodds:infra:FitTrigger", name, None, opts)
        competitions = sorted(args.task_definition_arns)

        # A fit task the trigger started that stops (done, failed, killed, out of memory) reaches the
        # trigger's queue, whose function gives its lease back if it still holds it (refits.stopped_fit):
        # without it, a killed fit blocked its competition's upload-started fits for FIT_LEASE_SECONDS.
        # Only this cluster's tasks started by the trigger: scheduled fits hold no lease.
        self.fit_stopped_rule = aws.cloudwatch.EventRule(
            f"{name}-fit-stopped",
            description="matchodds fit task started by the fit trigger stopped: give its lease back",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": [ECS_SOURCE],
                    "detail-type": [ECS_TASK_STATE_CHANGE],
                    "detail": {
                        "clusterArn": [args.cluster_arn],
                        "lastStatus": [ECS_STOPPED],
                        "startedBy": [{"prefix": FIT_STARTED_BY_PREFIX}],
                    },
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.queued = QueuedFunction(
            name,
            QueuedFunctionArgs(
                package=FIT_TRIGGER,
                code=args.code,
                memory_mb=FIT_TRIGGER_MEMORY_MB,
                timeout_seconds=FIT_TRIGGER_TIMEOUT_SECONDS,
                bucket_arn=args.bucket_arn,
                account_id=args.account_id,
                log_retention_days=args.log_retention_days,
                filter_prefix=RESULTS_PREFIX,
                filter_suffix=CSV_SUFFIX,  # the key rule's: S3 announces exactly the keys the trigger counts
                max_receives=FIT_TRIGGER_MAX_RECEIVES,
                max_concurrency=MAX_CONCURRENCY,
                batch_size=FIT_TRIGGER_BATCH_SIZE,
                batching_window_seconds=FIT_BATCHING_WINDOW_SECONDS,
                event_rule_arns=[self.fit_stopped_rule.arn],
                statements=[
                    # Also how a stopped fit's lease is given back (release_lease, conditional on its holder).
                    # Only the served competitions' items: results of another are skipped before the ledger.
                    allow(
                        FIT_TRIGGER_LEDGER_ACTIONS,
                        [args.ledger_arn],
                        {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": competitions}},
                    ),
                    # As each schedule's role (infra/fit_job.py), for every served competition at once.
                    allow(
                        ["ecs:RunTask"],
                        [args.task_definition_arns[competition] for competition in competitions],
                        {"ArnEquals": {"ecs:cluster": args.cluster_arn}},
                    ),
                    allow(
                        ["iam:PassRole"],
                        list(args.fit_role_arns),
                        {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
                    ),
                ],
                environment={
                    FIT_LEDGER_VARIABLE: args.ledger_name,
                    FIT_TASKS_VARIABLE: pulumi.Output.json_dumps(dict(args.task_definition_arns)),
                    FIT_CLUSTER_VARIABLE: args.cluster_arn,
                    FIT_SUBNETS_VARIABLE: pulumi.Output.all(*args.subnet_ids).apply(",".join),
                    FIT_SECURITY_GROUPS_VARIABLE: pulumi.Output.all(*args.security_group_ids).apply(",".join),
                },
            ),
            parent=self,
        )
        # The queue's policy lets this rule, and no other, send to it; EventBridge retries (24 h) meanwhile.
        aws.cloudwatch.EventTarget(
            f"{name}-fit-stopped",
            rule=self.fit_stopped_rule.name,
            arn=self.queued.queue.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.queued.queue_policy]),
        )
        self.register_outputs(self.queued.outputs)
