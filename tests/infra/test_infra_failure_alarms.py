"""Every way the weekly fit can fail to publish reaches the alarm topic (issue 8: "the alarm fires")."""

from __future__ import annotations

import json

import pytest
from infra_mocks import Deployed

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_a_fit_that_exits_non_zero_is_sent_to_the_alarm_topic(deployed: Deployed) -> None:
    from services.fit.main import EXIT_BAD_RESULTS, EXIT_GATE

    rule = deployed.one("aws:cloudwatch/eventRule:EventRule", "alarms-fit-failed")
    detail = json.loads(rule.inputs["eventPattern"])["detail"]
    assert detail["lastStatus"] == ["STOPPED"]
    (exit_codes,) = [clause["containers"]["exitCode"] for clause in detail["$or"] if "containers" in clause]
    assert exit_codes == [{"anything-but": 0}]
    assert 0 not in {EXIT_BAD_RESULTS, EXIT_GATE}  # the gate's refusal and bad results both match the rule
    target = deployed.one("aws:cloudwatch/eventTarget:EventTarget", "alarms-fit-failed")
    assert target.inputs["arn"] == deployed.one("aws:sns/topic:Topic")["arn"]


def test_a_posterior_in_the_dead_letter_queue_raises_the_alarm_at_once(deployed: Deployed) -> None:
    alarms = {alarm.name: alarm.inputs for alarm in deployed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    dead_letters = alarms["alarms-dead-letters"]
    assert (dead_letters["threshold"], dead_letters["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert dead_letters["evaluationPeriods"] == 1 and dead_letters["treatMissingData"] == "notBreaching"


def test_a_fixtures_file_in_the_pricing_dead_letter_queue_raises_the_alarm_at_once(deployed: Deployed) -> None:
    alarms = {alarm.name: alarm.inputs for alarm in deployed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    dead_letters = alarms["alarms-pricing-dead-letters"]
    queue = deployed.one("aws:sqs/queue:Queue", "pricing-dlq")
    assert dead_letters["dimensions"] == {"QueueName": queue["name"]}
    assert (dead_letters["metricName"], dead_letters["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    assert dead_letters["alarmActions"] == [deployed.one("aws:sns/topic:Topic")["arn"]]


def test_a_results_file_that_could_not_start_its_fit_raises_the_alarm_and_so_does_a_crashed_trigger(
    deployed: Deployed,
) -> None:
    alarms = {alarm.name: alarm.inputs for alarm in deployed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    topic = deployed.one("aws:sns/topic:Topic")["arn"]
    dead_letters = alarms["alarms-fit-trigger-dead-letters"]
    queue = deployed.one("aws:sqs/queue:Queue", "fit-trigger-dlq")
    assert dead_letters["dimensions"] == {"QueueName": queue["name"]}
    assert (dead_letters["metricName"], dead_letters["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    errors = alarms["alarms-fit-trigger-errors"]
    function = deployed.one("aws:lambda/function:Function", "fit-trigger")
    assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
    assert errors["dimensions"] == {"FunctionName": function["name"]}
    for alarm in (dead_letters, errors):
        assert alarm["alarmActions"] == [topic] and alarm["comparisonOperator"] == "GreaterThanThreshold"
