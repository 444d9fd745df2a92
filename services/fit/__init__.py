"""The weekly fit: match results in, a posterior object in S3 out.

JAX sees one CPU device unless told otherwise before it starts; the four NUTS chains run in
parallel only if the host is split into devices first, so this is done on import of the package.
The fit runs on CPUs (the Fargate task has no accelerator), so JAX is told so rather than left to
probe for a TPU and log its failure to find one on every start. With MATCHODDS_JAX_CACHE_ROOT set (the
image sets it), JAX's persistent compilation cache is a directory of it named for this CPU's instruction
set (services.fit.compile_cache).
"""

import os

from services.fit.compile_cache import configure as _configure_compilation_cache

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_CHAINS_IN_PARALLEL = 4
if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={_CHAINS_IN_PARALLEL}"
    ).strip()
_configure_compilation_cache()
