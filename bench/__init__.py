"""Benchmarks with targets (issue 7): fit, precompute, query, growth; `python -m bench` runs them all.

Every measurement that needs a fresh process (a fit with its compilation, a cold start, a memory
peak) runs as a child process `python -m bench.<module> <subcommand> ...` that prints one JSON
result; the parent collects them, and bench.report writes docs/benchmarks.md.
"""
