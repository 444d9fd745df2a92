"""Storage: the bucket that holds results and posteriors, the table that holds the odds, and the fit ledger.

Key names, prefixes and the expiry attribute come from the shared contract, so the tables the stack
makes are the tables the services read and write. The ledger (matchodds.core.refits) is small, but
it is state like the odds: its lease is what keeps two fits of one competition from running at once,
so it is kept the same way (point-in-time recovery, deletion protection, Pulumi's protect).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.policy_docs import deny_everyone, document
from infra.queued_function import QueuedFunction
from matchodds.core.items import EXPIRES_ATTRIBUTE, PARTITION_KEY, SORT_KEY
from matchodds.core.keys import POSTERIOR_PREFIX
from matchodds.core.refits import LEDGER_KEY

# An overwritten or deleted object (a re-uploaded results CSV, an expired posterior) stays
# recoverable this long before S3 removes the old version.
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7
# With versioning on, DeleteObject leaves a delete marker, after which a write with If-None-Match: *
# succeeds again; DeleteObjectVersion removes a version for good. Denying both is what makes a
# posterior's bytes final.
POSTERIOR_DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")
# S3's condition key for the If-None-Match header of PutObject (and CompleteMultipartUpload).
IF_NONE_MATCH_KEY = "s3:if-none-match"


def bucket_policy(bucket_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    """The bucket's policy: Deny statements only (so it grants nothing and is never public)."""
    objects = bucket_arn.apply(lambda arn: f"{arn}/*")
    posteriors = bucket_arn.apply(lambda arn: f"{arn}/{POSTERIOR_PREFIX}*")
    return document(
        deny_everyone(
            "DenyInsecureTransport",
            ["s3:*"],
            [bucket_arn, objects],
            {"Bool": {"aws:SecureTransport": "false"}},
        ),
        # A posterior is written once: only a PutObject carrying If-None-Match: * (which S3 refuses
        # when the key exists) may create one, so a version's draws cannot change under the odds
        # made from them. Two statements, one for a missing header (Null) and one for any other
        # value (StringNotEquals), so the rule does not rest on how IAM reads an absent key under a
        # negated operator. The header cannot go on CreateMultipartUpload or UploadPart, so no
        # multipart upload reaches posteriors/ at all (the fit writes a posterior in one PutObject),
        # and neither does a CopyObject.
        deny_everyone(
            "DenyPosteriorWriteWithoutIfNoneMatch",
            ["s3:PutObject"],
            [posteriors],
            {"Null": {IF_NONE_MATCH_KEY: "true"}},
        ),
        deny_everyone(
            "DenyPosteriorWriteUnlessIfNoneMatchStar",
            ["s3:PutObject"],
            [posteriors],
            {"StringNotEquals": {IF_NONE_MATCH_KEY: "*"}},
        ),
        # Lifecycle expiration is not subject to bucket policies, so old posteriors still expire.
        deny_everyone("DenyPosteriorDelete", POSTERIOR_DELETE_ACTIONS, [posteriors]),
    )


class Storage(pulumi.ComponentResource):
    """A private, versioned, encrypted bucket with write-once posteriors, and two on-demand, deletion-protected
    tables: the odds and the fit ledger. The bucket's notification comes once its queues exist (`notify`)."""

    def __init__(self, name: str, posterior_retention_days: int, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matchodds:infra:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The resources that hold data: Pulumi refuses to delete or replace them (a destroy or a
        # change that forces replacement stops at preview) until someone unprotects them on purpose.
        kept = pulumi.ResourceOptions(parent=self, protect=True)

        self.bucket = aws.s3.Bucket(name, opts=kept)
        aws.s3.BucketOwnershipControls(
            name, bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # After the public-access block: S3 rejects concurrent changes to one bucket's access settings.
        self.policy = aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=bucket_policy(self.bucket.arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        versioning = aws.s3.BucketVersioning(
            name, bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        # SSE-S3 rather than a KMS key: no key policy for S3 -> SQS notifications or the readers to
        # get right, and no per-request KMS charge.
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    # A new posterior is written every week and never overwritten (the bucket policy
                    # enforces it, and expiration is not subject to the policy); the odds live in the
                    # table, so an old posterior is only kept for audit, this long.
                    "id": "expire-old-posteriors",
                    "status": "Enabled",
                    "filter": {"prefix": POSTERIOR_PREFIX},
                    "expiration": {"days": posterior_retention_days},
                },
                {
                    "id": "clean-up-old-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"expired_object_delete_marker": True},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": INCOMPLETE_UPLOAD_DAYS},
                },
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )

        self.table = aws.dynamodb.Table(
            f"{name}-odds",
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attributes=[{"name": PARTITION_KEY, "type": "S"}, {"name": SORT_KEY, "type": "S"}],
            ttl={"attribute_name": EXPIRES_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True},
            # AWS itself refuses DeleteTable, whoever asks, until this is turned off.
            deletion_protection_enabled=True,
            opts=kept,
        )
        # One item per competition, keyed by its code (a fit task's role reaches only its own item).
        # No TTL: an item is a competition's running count, never stale. Encrypted at rest with the
        # AWS-owned key, as the odds table.
        self.ledger = aws.dynamodb.Table(
            f"{name}-fit-ledger",
            billing_mode="PAY_PER_REQUEST",
            hash_key=LEDGER_KEY,
            attributes=[{"name": LEDGER_KEY, "type": "S"}],
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=True,
            opts=kept,
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.table_name = self.table.name
        self.table_arn = self.table.arn
        self.ledger_name = self.ledger.name
        self.ledger_arn = self.ledger.arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "table_name": self.table_name,
                "table_arn": self.table_arn,
                "ledger_name": self.ledger_name,
                "ledger_arn": self.ledger_arn,
            }
        )

    def notify(
        self, queues: Sequence[QueuedFunction], opts: pulumi.ResourceOptions | None = None
    ) -> aws.s3.BucketNotification:
        """The bucket's one notification (S3 keeps one per bucket): each queue's entry, in the order given."""
        # After every queue's policy: S3 checks that it may send to each queue when the notification is saved.
        return aws.s3.BucketNotification(
            self.pulumi_resource_name,
            bucket=self.bucket_name,
            queues=[queued.notification for queued in queues],
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self, depends_on=[queued.queue_policy for queued in queues]), opts
            ),
        )
