"""Where JAX's persistent compilation cache lives: one directory per instruction set, so that a cache
compiled on one CPU is never loaded on a CPU that lacks its instructions.

XLA compiles for the CPU it runs on (LLVM's host features: AVX-512, AMX, ...), and JAX's cache key holds
the backend, the versions and the compile options but not those features: a cache filled on a newer CPU
would be loaded on an older one and die on an illegal instruction. The directory's name is computed at
start-up from the instruction-set features the kernel reports, so a cache built on another CPU is simply
not found and the fit compiles (and fills its own directory). Imports nothing but the standard library:
it runs before JAX starts (services.fit.configure_jax).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
from collections.abc import MutableMapping
from pathlib import Path

# The image's cache root (services/fit/Dockerfile); unset, JAX's own settings apply untouched.
CACHE_ROOT_VARIABLE = "MATCHODDS_JAX_CACHE_ROOT"
JAX_CACHE_DIR_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
CPUINFO = Path("/proc/cpuinfo")
# The /proc/cpuinfo flags that are instruction-set extensions a compiler may emit (x86), rather than
# facts about the machine (hypervisor, constant_tsc, ...) that vary between hosts of the same ISA.
X86_ISA_FLAG = re.compile(
    r"^(mmx|sse|ssse3|avx|fma|f16c|bmi|abm|lzcnt|popcnt|movbe|adx|aes|pclmul|sha|vaes|vpclmul|gfni|amx|"
    r"cx16|rdrand|rdseed|prfchw|clflushopt|clwb|xsave|vnni|serialize|fsrm|erms)"
)


def isa_features(cpuinfo: str, machine: str) -> list[str]:
    """The instruction-set features of the first CPU in a /proc/cpuinfo text (x86 flags, Arm Features)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "flags":  # x86
            return sorted({flag for flag in value.split() if X86_ISA_FLAG.match(flag)})
        if name == "Features":  # Arm: every listed feature is an instruction-set extension
            return sorted(set(value.split()))
    return [f"unknown-{machine}"]


def cpu_cache_key(cpuinfo: str | None = None, machine: str | None = None) -> str:
    """The cache directory's name for this CPU: its architecture and a digest of its ISA features."""
    machine = machine or platform.machine() or "unknown"
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text()
        except OSError:  # not Linux: the processor's name is all there is
            cpuinfo = f"flags: {platform.processor()}"
    features = isa_features(cpuinfo, machine)
    return f"{machine}-{hashlib.sha256(' '.join(features).encode()).hexdigest()[:16]}"


def configure(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Point JAX's cache at <root>/<this CPU's key> when the cache root is set and JAX's directory is not."""
    root = environ.get(CACHE_ROOT_VARIABLE)
    if not root or environ.get(JAX_CACHE_DIR_VARIABLE):
        return environ.get(JAX_CACHE_DIR_VARIABLE)
    directory = str(Path(root) / cpu_cache_key())
    environ[JAX_CACHE_DIR_VARIABLE] = directory
    return directory
