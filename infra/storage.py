"""Storage: the bucket that holds results and posteriors, and the table that holds the odds.

Key names, prefixes and the expiry attribute come from the shared contract, so the table the stack
makes is the table the services read and write.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from matchodds.contract import EXPIRES_ATTRIBUTE, PARTITION_KEY, POSTERIOR_PREFIX, SORT_KEY

# An overwritten or deleted object (a re-uploaded results CSV, an expired posterior) stays
# recoverable this long before S3 removes the old version.
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7


class Storage(pulumi.ComponentResource):
    """A private, versioned, encrypted bucket and an on-demand table with TTL and point-in-time recovery."""

    def __init__(self, name: str, posterior_retention_days: int, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matchodds:infra:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(name, opts=child)
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
                    # A new posterior is written every week and never overwritten; the odds live in
                    # the table, so an old posterior is only kept for audit, this long.
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
            opts=child,
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.table_name = self.table.name
        self.table_arn = self.table.arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "table_name": self.table_name,
                "table_arn": self.table_arn,
            }
        )
