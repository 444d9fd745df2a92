"""The matchodds stack: read the stack's config, wire one component per part together, export.

Pulumi runs this directory as a script (Pulumi.yaml: `main: infra/`), with infra/ as the working
directory and the repository root off sys.path; the root goes first so that `infra.*` imports work
here exactly as they do in the tests and in `python -m infra.package`. The venv's editable install
resolves `matchodds.*` but not `infra.*`: pyproject's packages leave infra/ out, as nothing ships it.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from infra.alarms import Alarms, AlarmsArgs  # noqa: E402
from infra.competitions import served_competitions  # noqa: E402
from infra.fit_job import FitJob, FitJobArgs  # noqa: E402
from infra.fit_trigger import FitTrigger, FitTriggerArgs  # noqa: E402
from infra.lambda_platform import FIT_TRIGGER, PRECOMPUTE, PRICING, QUERY  # noqa: E402
from infra.package import DEFAULT_OUT  # noqa: E402
from infra.precompute import Precompute, PrecomputeArgs  # noqa: E402
from infra.pricing import Pricing, PricingArgs  # noqa: E402
from infra.query_api import DEFAULT_QUERY_RESERVED_CONCURRENCY, QueryApi, QueryApiArgs  # noqa: E402
from infra.storage import Storage  # noqa: E402

config = pulumi.Config()
log_retention_days = config.get_int("logRetentionDays", 30)
account_id = aws.get_caller_identity_output().account_id
region = aws.get_region_output().region

storage = Storage("matchodds", posterior_retention_days=config.get_int("posteriorRetentionDays", 180))

# One list, read once: every competition is fitted on its own and served (infra/competitions.py).
competitions = served_competitions(config)

fit = FitJob(
    "fit",
    FitJobArgs(
        image=config.require("fitImage"),
        competitions=competitions,
        schedule=config.get("fitSchedule", "cron(0 6 ? * TUE *)"),
        bucket_name=storage.bucket_name,
        bucket_arn=storage.bucket_arn,
        account_id=account_id,
        region=region,
        log_retention_days=log_retention_days,
        ledger_name=storage.ledger_name,
        ledger_arn=storage.ledger_arn,
        table_name=storage.table_name,
        table_arn=storage.table_arn,
    ),
)

# Results in, new odds out: an upload under results/ starts its competition's fit (the schedules stay).
fit_trigger = FitTrigger(
    "fit-trigger",
    FitTriggerArgs(
        code=DEFAULT_OUT / FIT_TRIGGER.zip_name,
        bucket_arn=storage.bucket_arn,
        account_id=account_id,
        log_retention_days=log_retention_days,
        ledger_name=storage.ledger_name,
        ledger_arn=storage.ledger_arn,
        task_definition_arns=fit.task_definition_arns,
        fit_role_arns=[fit.execution_role.arn, *fit.task_role_arns.values()],
        cluster_arn=fit.cluster.arn,
        subnet_ids=fit.subnet_ids,
        security_group_ids=[fit.security_group.id],
    ),
)

pricing = Pricing(
    "pricing",
    PricingArgs(
        code=DEFAULT_OUT / PRICING.zip_name,
        bucket_name=storage.bucket_name,
        bucket_arn=storage.bucket_arn,
        table_name=storage.table_name,
        table_arn=storage.table_arn,
        account_id=account_id,
        log_retention_days=log_retention_days,
    ),
)

precompute = Precompute(
    "precompute",
    PrecomputeArgs(
        code=DEFAULT_OUT / PRECOMPUTE.zip_name,
        bucket_name=storage.bucket_name,
        bucket_arn=storage.bucket_arn,
        table_name=storage.table_name,
        table_arn=storage.table_arn,
        account_id=account_id,
        log_retention_days=log_retention_days,
    ),
)

# The bucket's one notification, once the three queues exist. It was Precompute's child: the alias
# makes Pulumi adopt the deployed one, instead of creating this one and then deleting the old, whose
# delete would empty the bucket's notification configuration.
storage.notify(
    [precompute.queued, pricing.queued, fit_trigger.queued],
    pulumi.ResourceOptions(aliases=[pulumi.Alias(name="precompute", parent=precompute)]),
)

query = QueryApi(
    "query",
    QueryApiArgs(
        code=DEFAULT_OUT / QUERY.zip_name,
        bucket_name=storage.bucket_name,
        bucket_arn=storage.bucket_arn,
        table_name=storage.table_name,
        table_arn=storage.table_arn,
        cors_allow_origins=config.get_object("corsAllowOrigins") or [],
        throttle_rate_limit=config.get_float("apiThrottleRate", 50.0),
        throttle_burst_limit=config.get_int("apiThrottleBurst", 100),
        log_retention_days=log_retention_days,
        reserved_concurrency=config.get_int("queryReservedConcurrency", DEFAULT_QUERY_RESERVED_CONCURRENCY),
        competitions=competitions,
    ),
)

alarms = Alarms(
    "alarms",
    AlarmsArgs(
        dead_letter_queue_name=precompute.queued.dead_letter_queue.name,
        precompute_function_name=precompute.queued.function.name,
        query_function_name=query.function.name,
        fit_cluster_arn=fit.cluster.arn,
        fit_schedule_group_name=fit.schedule_group.name,
        account_id=account_id,
        email=config.get("alarmEmail"),
        fit_trigger_dead_letter_queue_name=fit_trigger.queued.dead_letter_queue.name,
        fit_trigger_function_name=fit_trigger.queued.function.name,
        pricing_dead_letter_queue_name=pricing.queued.dead_letter_queue.name,
    ),
)

pulumi.export("apiUrl", query.url)
pulumi.export("bucketName", storage.bucket_name)
pulumi.export("tableName", storage.table_name)
pulumi.export("fitTaskDefinitionArns", fit.task_definition_arns)
pulumi.export("fitClusterName", fit.cluster.name)
pulumi.export("fitSubnetIds", fit.subnet_ids)
pulumi.export("fitSecurityGroupId", fit.security_group.id)
pulumi.export("fitLogGroupName", fit.log_group.name)
pulumi.export("deadLetterQueueUrl", precompute.queued.dead_letter_queue.url)
pulumi.export("alarmTopicArn", alarms.topic.arn)
pulumi.export("pricingDeadLetterQueueUrl", pricing.queued.dead_letter_queue.url)
pulumi.export("fitLedgerTableName", storage.ledger_name)
pulumi.export("fitTriggerDeadLetterQueueUrl", fit_trigger.queued.dead_letter_queue.url)
pulumi.export("eventBusName", precompute.event_bus.name)
