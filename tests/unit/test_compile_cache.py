"""The compilation cache's directory is named for the CPU's instruction set (issue 22): another ISA, another one."""

from __future__ import annotations

import pytest

from services.fit.compile_cache import CACHE_ROOT_VARIABLE, JAX_CACHE_DIR_VARIABLE, configure, cpu_cache_key

pytestmark = pytest.mark.unit

SKYLAKE = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi1 bmi2 avx512f avx512dq avx512bw hypervisor
processor\t: 1
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi1 bmi2 avx512f avx512dq avx512bw hypervisor
"""


def test_a_cpu_without_an_instruction_gets_another_directory() -> None:
    without_avx512 = SKYLAKE.replace(" avx512f avx512dq avx512bw", "")
    assert cpu_cache_key(SKYLAKE, "x86_64") != cpu_cache_key(without_avx512, "x86_64")
    assert cpu_cache_key(SKYLAKE, "x86_64").startswith("x86_64-")


def test_flags_that_are_not_instructions_do_not_split_the_cache() -> None:
    """Another model name, another hypervisor flag: the same instructions, the same compiled code."""
    other_host = SKYLAKE.replace("Platinum 8175M", "Platinum 8259CL").replace(" hypervisor", " constant_tsc")
    assert cpu_cache_key(SKYLAKE, "x86_64") == cpu_cache_key(other_host, "x86_64")


def test_arm_features_name_the_directory() -> None:
    graviton2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n"
    graviton3 = graviton2.replace("atomics", "atomics sve")
    assert cpu_cache_key(graviton2, "aarch64") != cpu_cache_key(graviton3, "aarch64")


def test_the_root_becomes_a_directory_per_cpu_unless_jax_is_told_one() -> None:
    environ = {CACHE_ROOT_VARIABLE: "/opt/jax-cache"}
    directory = configure(environ)
    assert directory == environ[JAX_CACHE_DIR_VARIABLE] and directory.startswith("/opt/jax-cache/")
    assert directory.rsplit("/", 1)[1] == cpu_cache_key()
    told = {CACHE_ROOT_VARIABLE: "/opt/jax-cache", JAX_CACHE_DIR_VARIABLE: "/tmp/mine"}
    assert configure(told) == "/tmp/mine" and told[JAX_CACHE_DIR_VARIABLE] == "/tmp/mine"
    assert configure({}) is None
