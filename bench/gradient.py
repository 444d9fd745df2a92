"""The cost of one value-and-gradient of a model's log density: what each NUTS leapfrog step pays.

    python -m bench.gradient [--model NAME] [--calls 2000] [--repeats 5] RESULTS.csv ...

A fit's sampling time is about (leapfrog steps) x (this cost), so a change to a model's code that
keeps its posterior is measured here first, without the noise of compilation and the sampler. The
calls run inside one jitted loop (as the sampler's are), from the model's starting point; the best of
`--repeats` loops is reported, in microseconds a call, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def gradient_cost(model_name: str | None, files: Sequence[Path], calls: int, repeats: int) -> dict[str, float | str]:
    from services.fit import configure_jax

    configure_jax()  # as the fit runs: on CPUs, with the compilation cache, before JAX is imported
    import jax
    from numpyro.infer.util import initialize_model

    from matchodds.core.results import read_results
    from services.fit.model import DEFAULT_MODEL, MODELS

    model = MODELS[model_name or DEFAULT_MODEL]
    prepared = model.prepare(read_results(files))
    info, potential, _, _ = initialize_model(jax.random.PRNGKey(0), model.function, model_kwargs=prepared.data)

    def steps(position: dict) -> dict:
        def step(_: int, z: dict) -> dict:
            _, gradient = jax.value_and_grad(potential)(z)
            return jax.tree.map(lambda value, slope: value - 1e-6 * slope, z, gradient)

        return jax.lax.fori_loop(0, calls, step, position)

    loop = jax.jit(steps)
    jax.block_until_ready(loop(info.z))  # compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(loop(info.z))
        best = min(best, time.perf_counter() - start)
    return {"model": model.name, "matches": len(prepared.window), "us_per_gradient": round(best / calls * 1e6, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gradient", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model of services.fit.model.MODELS (default: the served one)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("files", nargs="+", type=Path, help="football-data results files")
    args = parser.parse_args(argv)
    print(json.dumps(gradient_cost(args.model, args.files, args.calls, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
