"""The Lambda runtime's context object, as the local pollers and the HTTP bridge hand it to a handler."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from entry.local.provision import REGION


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
