"""Alarms: whatever stops fresh odds from reaching readers ends up as a message on one SNS topic.

- a posterior that precompute gave up on (the dead-letter queue is not empty),
- a fixtures file that pricing gave up on (its dead-letter queue is not empty),
- errors in either function,
- a results file that the fit trigger gave up on (its dead-letter queue is not empty: the fit of its
  competition could not be started), and errors in the trigger,
- a fit task of any competition that stopped with a non-zero exit code or never started (an ECS
  event, not a metric; the message names the competition's task definition),
- a weekly run that the scheduler could not start even after its retries (one metric for the
  schedule group, so it covers every competition but does not say which).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policy_docs import service_principal

PERIOD_SECONDS = 300


@dataclass(frozen=True)
class AlarmsArgs:
    dead_letter_queue_name: pulumi.Input[str]
    precompute_function_name: pulumi.Input[str]
    query_function_name: pulumi.Input[str]
    fit_cluster_arn: pulumi.Input[str]
    fit_schedule_group_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    email: str | None
    fit_trigger_dead_letter_queue_name: pulumi.Input[str]
    fit_trigger_function_name: pulumi.Input[str]
    pricing_dead_letter_queue_name: pulumi.Input[str] | None = None


class Alarms(pulumi.ComponentResource):
    """The topic, its optional e-mail subscription, the metric alarms and the fit-failure rule."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matchodds:infra:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.topic = aws.sns.Topic(name, opts=child)
        if args.email:
            aws.sns.TopicSubscription(name, topic=self.topic.arn, protocol="email", endpoint=args.email, opts=child)

        self.alarms = [
            self._alarm(
                f"{name}-dead-letters",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.dead_letter_queue_name},
                "Maximum",
                "A posterior failed precompute on every attempt; its message waits in the dead-letter queue.",
            ),
            self._alarm(
                f"{name}-precompute-errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": args.precompute_function_name},
                "Sum",
                "The precompute function failed; SQS will retry the posterior.",
            ),
            self._alarm(
                f"{name}-query-errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": args.query_function_name},
                "Sum",
                "The query function crashed (not a 4xx/503 answer: an unhandled error).",
            ),
            self._alarm(
                f"{name}-fit-not-started",
                "AWS/Scheduler",
                "InvocationDroppedCount",
                {"ScheduleGroup": args.fit_schedule_group_name},
                "Sum",
                "The weekly fit could not be started (RunTask failed after every retry).",
            ),
            self._alarm(
                f"{name}-fit-trigger-dead-letters",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.fit_trigger_dead_letter_queue_name},
                "Maximum",
                "A results upload could not start its competition's fit on any attempt (see the fit-trigger log); "
                "the weekly schedule will still fit it.",
            ),
            self._alarm(
                f"{name}-fit-trigger-errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": args.fit_trigger_function_name},
                "Sum",
                "The fit trigger crashed; SQS will deliver its batch again.",
            ),
        ]
        if args.pricing_dead_letter_queue_name is not None:
            self.alarms.append(
                self._alarm(
                    f"{name}-pricing-dead-letters",
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    {"QueueName": args.pricing_dead_letter_queue_name},
                    "Maximum",
                    "A fixtures file failed pricing on every attempt (unreadable: see its priced/<name>.error.json).",
                )
            )

        # A stopped fit task with a non-zero exit (2: unusable results, 3: quality gate refused,
        # anything else: a crash) or one that never started (image pull, networking).
        self.fit_failed_rule = aws.cloudwatch.EventRule(
            f"{name}-fit-failed",
            description="matchodds fit task stopped with a failure",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Task State Change"],
                    "detail": {
                        "clusterArn": [args.fit_cluster_arn],
                        "lastStatus": ["STOPPED"],
                        "$or": [
                            {"containers": {"exitCode": [{"anything-but": 0}]}},
                            {"stopCode": ["TaskFailedToStart"]},
                        ],
                    },
                }
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-fit-failed",
            rule=self.fit_failed_rule.name,
            arn=self.topic.arn,
            # One rule for the cluster covers every competition's task, whichever the list holds; the
            # task definition's family (<project>-<stack>-fit-<competition>) says whose fit it was.
            input_transformer={
                "input_paths": {
                    "task": "$.detail.taskArn",
                    "definition": "$.detail.taskDefinitionArn",
                    "reason": "$.detail.stoppedReason",
                },
                "input_template": '"matchodds fit <definition> failed (task <task>): <reason>"',
            },
            opts=child,
        )
        aws.sns.TopicPolicy(
            name,
            arn=self.topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        service_principal(
                            "events.amazonaws.com",
                            ["sns:Publish"],
                            self.topic.arn,
                            {"ArnEquals": {"aws:SourceArn": self.fit_failed_rule.arn}},
                        ),
                        service_principal(
                            "cloudwatch.amazonaws.com",
                            ["sns:Publish"],
                            self.topic.arn,
                            {"StringEquals": {"aws:SourceAccount": args.account_id}},
                        ),
                    ],
                }
            ),
            opts=child,
        )

        self.register_outputs({"topic_arn": self.topic.arn})

    def _alarm(
        self,
        name: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
        statistic: str,
        description: str,
    ) -> aws.cloudwatch.MetricAlarm:
        """Fires when the metric is above zero in any five-minute period; no data means all is well."""
        return aws.cloudwatch.MetricAlarm(
            name,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=PERIOD_SECONDS,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_description=description,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )
