"""The weekly fit: one Fargate task per competition, each started by its own EventBridge Scheduler
schedule at the same time, in a VPC of their own.

The fan-out is the scheduler's, not a loop of ours: each competition has its own schedule, task
definition and task role, so one competition's failure (bad results, a refused gate, a crash, no Fargate
capacity) leaves the others' runs untouched, and each task may read and write only its own competition's
prefixes. The fit trigger (infra/fit_trigger.py) starts the same task definitions when results arrive;
each task role may read and write its own competition's item of the fit ledger and no other, and read
its own competition's pointer in the odds table (the served version, which its warm start comes from)
and nothing else of that table. They share the cluster, the execution role (pulling the one image and
writing to the one log group, under a stream prefix per competition), the network and the schedule
group.

Networking: one public subnet per availability zone and a public IP on the task. The task only makes
outbound HTTPS calls (ECR and its S3 layer store to pull the image, S3 for results and the posterior,
DynamoDB for the ledger and the pointer, CloudWatch Logs), and a public IP reaches all of them for
nothing. Private subnets would need a NAT gateway ($0.045/h, about $33 a month) or interface endpoints
for ECR API, ECR Docker and CloudWatch Logs ($0.01/h each per zone, about $22 a month in one zone) plus
the free S3 gateway endpoint: a fixed monthly cost far above the task's own, for a task that runs a few
minutes a week. The security group admits no inbound traffic at all and lets out only TCP 443.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policy_docs import ServiceRole, allow, write_logs
from infra.service_env import fit_environment
from matchodds.core.items import PARTITION_KEY, pointer_key
from matchodds.core.keys import COMPETITION_RE, fixtures_prefix, posterior_prefix, results_prefix
from matchodds.core.refits import FIT_CONTAINER

# Chosen from time x price (docs/deploy.md, "Sizing"; issue 22): pinned to 1 and 2 CPUs the fit uses the
# same CPU seconds (its four chains parallel over host devices or one after another alike), and its
# compilation is serial, so a second vCPU shortens a fit by less than half at twice the price per second,
# while the task's start (pulling the image) is billed whatever its size. The fit peaks at 0.7-0.9 GiB
# resident (one to four seasons, the gate's longer retry included), so the prototype's 512 MB was too
# tight; 2 GB, the least Fargate pairs with 1 vCPU, leaves over 2x.
FIT_CPU = 1024
FIT_MEMORY_MB = 2048
# x86_64 rather than Graviton: at a few minutes a week the 20 % saving is under a cent a month,
# and an amd64 image builds natively on most machines and CI runners.
FIT_CPU_ARCHITECTURE = "X86_64"
VPC_CIDR = "10.87.0.0/24"
SUBNET_CIDRS = ("10.87.0.0/25", "10.87.0.128/25")
HTTPS = 443
# adapters/fit_ledger.py for services/fit/lease.py: GetItem (the requests and the holder), UpdateItem (release, extend,
# give up).
FIT_LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
# services/fit/main.py: GetItem of its competition's pointer in the odds table (the served version).
FIT_POINTER_ACTIONS = ("dynamodb:GetItem",)

_ECR_IMAGE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[a-z0-9._/-]+)(?::[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})\Z"
)


def ecr_repository_arn(image: str) -> str:
    """The ECR repository an image URI points at: the one resource the execution role may pull from."""
    match = _ECR_IMAGE.match(image)
    if not match:
        raise ValueError(
            f"fitImage {image!r} is not an ECR image URI such as "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/matchodds-fit:2025-08-01"
        )
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


@dataclass(frozen=True)
class FitJobArgs:
    image: str
    competitions: Sequence[str]
    schedule: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    region: pulumi.Input[str]
    log_retention_days: int
    # The fit ledger (matchodds.core.refits), whose lease a fit started by the trigger holds.
    ledger_name: pulumi.Input[str]
    ledger_arn: pulumi.Input[str]
    # The odds table, whose pointer item names the served version a fit starts warm from (services/fit/main.py).
    # None: the fit starts from the newest posterior in the bucket instead.
    table_name: pulumi.Input[str] | None = None
    table_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class CompetitionFit:
    """One competition's share of the fit: its task role, task definition, schedule and the role that starts it."""

    competition: str
    task_role: ServiceRole
    task_definition: aws.ecs.TaskDefinition
    scheduler_role: ServiceRole
    schedule: aws.scheduler.Schedule


class FitJob(pulumi.ComponentResource):
    """Cluster, execution role, network and schedule group, and per competition a task and its weekly schedule."""

    def __init__(self, name: str, args: FitJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        for competition in args.competitions:
            if not COMPETITION_RE.match(competition):
                raise ValueError(f"competition {competition!r} is not a competition code such as E0 or SP1")
        if len(set(args.competitions)) != len(args.competitions) or not args.competitions:
            raise ValueError(f"competitions {list(args.competitions)!r} must name each competition once, at least one")
        super().__init__("matchodds:infra:FitJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self._network(name, child)

        self.log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.cluster = aws.ecs.Cluster(name, opts=child)

        self.execution_role = ServiceRole(
            f"{name}-execution",
            "ecs-tasks.amazonaws.com",
            [
                # GetAuthorizationToken is account-wide: IAM accepts no narrower resource for it.
                allow(["ecr:GetAuthorizationToken"], ["*"]),
                allow(
                    ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    [ecr_repository_arn(args.image)],
                ),
                write_logs(self.log_group),
            ],
            parent=self,
            source_account=args.account_id,
        )
        self.schedule_group = aws.scheduler.ScheduleGroup(name, opts=child)

        # Named by competition code, not by position, so that a changed list adds or removes only
        # the resources of the competitions it adds or removes.
        self.competitions = {
            competition: self._competition(f"{name}-{competition}", competition, args)
            for competition in args.competitions
        }

        # What else may start a fit (the fit trigger): the task definitions, the roles it must pass, the network.
        self.task_definition_arns = {
            competition: fit.task_definition.arn for competition, fit in self.competitions.items()
        }
        self.task_role_arns = {competition: fit.task_role.arn for competition, fit in self.competitions.items()}
        self.register_outputs(
            {
                "cluster_name": self.cluster.name,
                "task_definition_arns": self.task_definition_arns,
                "subnet_ids": self.subnet_ids,
                "security_group_id": self.security_group.id,
                "log_group_name": self.log_group.name,
                "schedule_group_name": self.schedule_group.name,
            }
        )

    def _competition(self, name: str, competition: str, args: FitJobArgs) -> CompetitionFit:
        """The task role, task definition, scheduler role and schedule of one competition's weekly fit."""
        child = pulumi.ResourceOptions(parent=self)
        bucket_arn = pulumi.Output.from_input(args.bucket_arn)
        # One competition's results (and fixtures, which name a season's teams) in, one competition's
        # posteriors out: a fit configured (or broken) for one league cannot read another's results
        # or publish odds for another.
        inputs = [results_prefix(competition), fixtures_prefix(competition)]
        posteriors = posterior_prefix(competition)
        # It also reads its own competition's posteriors: the newest holds the sampler adaptation its fit
        # starts from (services/fit/warm.py). It cannot overwrite one: the bucket policy refuses a put
        # under posteriors/ without If-None-Match: *.
        readable = [*inputs, posteriors]
        # Of the odds table, its own competition's pointer and nothing else: the version served, which the
        # fit starts warm from. No odds item, no other league's pointer, and no write.
        pointer_reads = (
            []
            if args.table_arn is None
            else [
                allow(
                    FIT_POINTER_ACTIONS,
                    [args.table_arn],
                    {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [pointer_key(competition)[PARTITION_KEY]]}},
                )
            ]
        )
        task_role = ServiceRole(
            f"{name}-task",
            "ecs-tasks.amazonaws.com",
            [
                allow(["s3:ListBucket"], [bucket_arn], {"StringLike": {"s3:prefix": [f"{p}*" for p in readable]}}),
                allow(["s3:GetObject"], [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in readable]),
                allow(["s3:PutObject"], [bucket_arn.apply(lambda arn: f"{arn}/{posteriors}*")]),
                # Its own competition's ledger item and no other: reading the requests, keeping or
                # giving back its lease. Scan and Query are not granted, so every request names a key.
                allow(
                    FIT_LEDGER_ACTIONS,
                    [args.ledger_arn],
                    {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [competition]}},
                ),
                *pointer_reads,
            ],
            parent=self,
            source_account=args.account_id,
        )

        task_definition = aws.ecs.TaskDefinition(
            name,
            family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            cpu=str(FIT_CPU),
            memory=str(FIT_MEMORY_MB),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": FIT_CPU_ARCHITECTURE},
            execution_role_arn=self.execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps(
                [
                    {
                        "name": FIT_CONTAINER,
                        "image": args.image,
                        "essential": True,
                        "environment": fit_environment(
                            args.bucket_name, competition, args.ledger_name, args.table_name
                        ),
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": self.log_group.name,
                                "awslogs-region": args.region,
                                # Streams are <competition>/fit/<task id>: one league's log at a glance.
                                "awslogs-stream-prefix": competition,
                            },
                        },
                    }
                ]
            ),
            opts=child,
        )

        # Each schedule's role starts only its own competition's task: a mistargeted schedule cannot
        # run another league's fit, nor hand a task another league's role.
        scheduler_role = ServiceRole(
            f"{name}-scheduler",
            "scheduler.amazonaws.com",
            [
                allow(["ecs:RunTask"], [task_definition.arn], {"ArnEquals": {"ecs:cluster": self.cluster.arn}}),
                allow(
                    ["iam:PassRole"],
                    [self.execution_role.arn, task_role.arn],
                    {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
            ],
            parent=self,
            source_account=args.account_id,
        )
        schedule = aws.scheduler.Schedule(
            name,
            group_name=self.schedule_group.name,
            description=f"weekly fit of {competition}",
            schedule_expression=args.schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.cluster.arn,
                "role_arn": scheduler_role.arn,
                "ecs_parameters": {
                    "task_definition_arn": task_definition.arn,
                    "task_count": 1,
                    "launch_type": "FARGATE",
                    "platform_version": "LATEST",
                    "network_configuration": {
                        "subnets": self.subnet_ids,
                        "security_groups": [self.security_group.id],
                        "assign_public_ip": True,
                    },
                },
                # RunTask can fail for want of Fargate capacity; try again within the hour.
                "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_role.policy]),
        )
        return CompetitionFit(competition, task_role, task_definition, scheduler_role, schedule)

    def _network(self, name: str, child: pulumi.ResourceOptions) -> None:
        vpc = aws.ec2.Vpc(name, cidr_block=VPC_CIDR, enable_dns_support=True, enable_dns_hostnames=True, opts=child)
        gateway = aws.ec2.InternetGateway(name, vpc_id=vpc.id, opts=child)
        routes = aws.ec2.RouteTable(
            name, vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], opts=child
        )
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        self.subnets = []
        for index, cidr in enumerate(SUBNET_CIDRS):
            subnet = aws.ec2.Subnet(
                f"{name}-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names[index],
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-{index}", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            self.subnets.append(subnet)
        self.subnet_ids = [subnet.id for subnet in self.subnets]
        self.security_group = aws.ec2.SecurityGroup(
            name,
            vpc_id=vpc.id,
            description="matchodds fit task: outbound HTTPS only",
            ingress=[],
            egress=[{"protocol": "tcp", "from_port": HTTPS, "to_port": HTTPS, "cidr_blocks": ["0.0.0.0/0"]}],
            opts=child,
        )
