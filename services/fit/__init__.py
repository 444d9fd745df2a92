"""The weekly fit: match results in, a posterior object in S3 out.

JAX sees one CPU device unless told otherwise before it starts; the four NUTS chains run in
parallel only if the host is split into devices first, so every entry that fits (the fit's main,
the CLI's fit and project paths, bench, research, the tests' conftest) calls configure_jax() before
JAX's first computation. Importing the package changes nothing, so a module that only reads the
fit's constants does not reconfigure its host.
"""

import os
import sys

from services.fit.compile_cache import configure as _configure_compilation_cache

CHAINS_IN_PARALLEL = 4
_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def configure_jax() -> None:
    """Split the CPU into one device per chain, run on CPUs, and place the compilation cache; idempotent."""
    # The fit runs on CPUs (the Fargate task has no accelerator), so JAX is told so rather than left to
    # probe for a TPU and log its failure to find one on every start.
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if _DEVICE_COUNT_FLAG not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" {_DEVICE_COUNT_FLAG}={CHAINS_IN_PARALLEL}"
        ).strip()
    # With MATCHODDS_JAX_CACHE_ROOT set (the image sets it), JAX's persistent compilation cache is a
    # directory of it named for this CPU's instruction set (services.fit.compile_cache).
    cache_dir = _configure_compilation_cache()
    jax = sys.modules.get("jax")
    if jax is not None:
        # JAX read its environment when it was imported; XLA reads XLA_FLAGS only when its backend
        # starts, so settings given to JAX's config now still hold if nothing has been computed yet.
        jax.config.update("jax_platforms", os.environ["JAX_PLATFORMS"])
        if cache_dir:
            jax.config.update("jax_compilation_cache_dir", cache_dir)
