"""Warm start: a competition's next fit starts where its last one ended, with a short warmup.

A cold fit spends half its iterations in warmup: finding the typical set from a random start, then
adapting a step size and a diagonal inverse mass matrix. A week later the same model is fitted to the
same teams with one more round of matches, so the last fit's chains' end points, the variance of its
draws (the mass matrix a long warmup would find) and its step sizes are close to what this fit needs.
They are kept in the posterior (matchodds.core.adaptation.Adaptation) and mapped here onto this fit's
sites: by team code and season where the model labels a site's axes, position for position where the
layout is the same; anything else (another model, other sites, too little in common) means a cold
warmup. The quality gate still decides, and a warm fit that fails it is refitted cold (inference).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from numpyro import handlers
from numpyro.distributions import biject_to

from matchodds.core.adaptation import Adaptation, ChainAdaptation
from services.fit.model import GoalsModel, Prepared

if TYPE_CHECKING:
    from services.fit.inference import SamplerSettings

logger = logging.getLogger(__name__)

# Warmup iterations of a warm fit: the step size is adapted (dual averaging) from the stored one, the mass
# matrix is kept. Enough that warm fits forecast as well as cold ones on the development seasons and pass
# the gate as often (backtests: research/NOTEBOOK.md, "A longer warm warmup"; times: docs/benchmarks.md).
WARM_WARMUP = 200
# Below this share of the new fit's values found in the stored adaptation, the start is no better than a
# cold one (a new model, a window of other seasons): warm up cold instead.
MIN_MAPPED_SHARE = 0.5
# numpyro's regularisation of an adapted diagonal mass matrix (welford_covariance), used on the kept draws.
REGULARISE_DRAWS, REGULARISE_TOWARDS = 5, 1e-3

WarmStartArrays = tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class WarmStart:
    """Each chain's step size, inverse mass diagonal and start position, by site, on this fit's layout."""

    step_size: np.ndarray  # (chains,)
    inverse_mass: dict[str, np.ndarray]  # site -> (chains, *unconstrained shape)
    position: dict[str, np.ndarray]
    mapped_share: float  # of this fit's values, the share taken from the stored adaptation

    def arrays(self) -> WarmStartArrays:
        """What the compiled sampler takes, in JAX's default precision."""
        as32 = {name: value.astype(np.float32) for name, value in self.inverse_mass.items()}
        return self.step_size.astype(np.float32), as32, {n: v.astype(np.float32) for n, v in self.position.items()}


def warm_sampler(sampler: SamplerSettings) -> SamplerSettings:
    """A warm fit's sampler: WARM_WARMUP warmup iterations (never more than a cold fit's), and the cold
    fit's draws plus the warmup iterations that saves: as many iterations as a cold fit in all. The gate's
    misses are r_hat just above its bound on one of some hundred values, noise that shrinks with the
    draws (research/NOTEBOOK.md, "A warm fit's saved warmup spent on draws")."""
    warmup = min(WARM_WARMUP, sampler.warmup)
    return replace(sampler, warmup=warmup, samples=sampler.samples + (sampler.warmup - warmup))


def unconstrained_sites(model: GoalsModel, data: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Each sampled site's shape in the sampler's unconstrained space, from one traced prior draw.

    Traced abstractly (jax.eval_shape): run eagerly, the model's every operation would be dispatched and
    compiled on its own, about 2.4 s of CPU on a loaded machine for a one-season fit (measured)."""
    static = {name: value for name, value in data.items() if not isinstance(value, (np.ndarray, dict))}
    arrays = {name: value for name, value in data.items() if name not in static}

    def unconstrained(arrays: dict[str, Any]) -> dict[str, Any]:
        trace = handlers.trace(handlers.seed(partial(model.function, **static), 0)).get_trace(**arrays)
        return {
            name: biject_to(site["fn"].support).inv(site["value"])
            for name, site in trace.items()
            if site["type"] == "sample" and not site["is_observed"]
        }

    return {name: tuple(value.shape) for name, value in jax.eval_shape(unconstrained, arrays).items()}


def adaptation_from(
    model: GoalsModel,
    prepared: Prepared,
    step_size: np.ndarray,
    draws_variance: dict[str, np.ndarray],
    position: dict[str, np.ndarray],
    draws_per_chain: int,
) -> Adaptation:
    """What this fit leaves the next: each chain's step size and last position, and as inverse mass the
    variance of the kept draws pooled over chains (regularised as numpyro regularises its own)."""
    draws = draws_per_chain * len(step_size)
    inverse_mass = {
        name: (draws / (draws + REGULARISE_DRAWS)) * variance.mean(axis=0)
        + REGULARISE_TOWARDS * (REGULARISE_DRAWS / (draws + REGULARISE_DRAWS))
        for name, variance in draws_variance.items()
    }
    return Adaptation(
        model=model.name,
        sites={name: tuple(int(n) for n in value.shape[1:]) for name, value in position.items()},
        axes=model.axis_labels(prepared),
        chains=tuple(
            ChainAdaptation(
                step_size=float(step_size[chain]),
                inverse_mass={name: [float(v) for v in value.ravel()] for name, value in inverse_mass.items()},
                position={name: [float(v) for v in value[chain].ravel()] for name, value in position.items()},
            )
            for chain in range(len(step_size))
        ),
    )


class CannotMap(ValueError):
    """The stored adaptation does not fit this fit's sites; it warms up cold."""


def warm_start(adaptation: Adaptation, model: GoalsModel, prepared: Prepared, chains: int) -> WarmStart:
    """The stored adaptation on this fit's layout; raises CannotMap (saying why) when it does not fit.

    A site whose axes the model labels (team, season) takes each stored value by label: a promoted team
    starts at 0 with the site's median inverse mass. Any other site must have kept its shape, and, if it
    is not a scalar, every label (a zero-sum site's values are not per team)."""
    if adaptation.model != model.name:
        raise CannotMap(f"the stored adaptation is of {adaptation.model}, not {model.name}")
    sites = unconstrained_sites(model, prepared.data)
    if set(sites) != set(adaptation.sites):
        changed = sorted(set(sites) ^ set(adaptation.sites))
        raise CannotMap(f"the sampled sites changed ({', '.join(changed)})")
    labels = model.axis_labels(prepared)
    mapped = 0
    inverse_mass, position = {}, {}
    for name, shape in sites.items():
        old_shape = adaptation.sites[name]
        old_index = _old_index(name, shape, old_shape, model.site_axes.get(name, ()), labels, adaptation.axes)
        found = np.all(old_index >= 0, axis=0) if old_index.shape[0] else np.ones(shape, dtype=bool)
        mapped += int(found.sum())
        masses, positions = [], []
        for chain in range(chains):
            stored = adaptation.chains[chain % len(adaptation.chains)]
            old_mass = np.asarray(stored.inverse_mass[name], dtype=np.float64).reshape(old_shape)
            old_position = np.asarray(stored.position[name], dtype=np.float64).reshape(old_shape)
            mass, where = np.full(shape, np.median(old_mass)), np.zeros(shape)
            taken = tuple(axis[found] for axis in old_index)
            mass[found], where[found] = old_mass[taken], old_position[taken]
            masses.append(mass)
            positions.append(where)
        inverse_mass[name], position[name] = np.stack(masses), np.stack(positions)
    share = mapped / max(1, sum(math.prod(shape) for shape in sites.values()))
    if share < MIN_MAPPED_SHARE:
        raise CannotMap(f"only {share:.0%} of this fit's values are in the stored adaptation")
    steps = np.array([adaptation.chains[chain % len(adaptation.chains)].step_size for chain in range(chains)])
    return WarmStart(steps, inverse_mass, position, share)


def _old_index(
    name: str,
    shape: tuple[int, ...],
    old_shape: tuple[int, ...],
    axes: tuple[str, ...],
    labels: dict[str, tuple[str, ...]],
    old_labels: dict[str, tuple[str, ...]],
) -> np.ndarray:
    """For each position of the new site, its index along each axis of the stored one (-1: not there);
    shaped (axes, *shape)."""
    if not axes:
        if old_shape != shape or (shape and labels != old_labels):
            raise CannotMap(f"site {name} changed shape or labels ({old_shape} -> {shape})")
        return np.indices(shape) if shape else np.zeros((0,), dtype=int)
    if len(axes) != len(shape) or len(axes) != len(old_shape):
        raise CannotMap(f"site {name} has shape {shape} (stored {old_shape}), not one axis per label set {axes}")
    per_axis = []
    for axis, size, old_size in zip(axes, shape, old_shape, strict=True):
        new, old = labels.get(axis, ()), old_labels.get(axis, ())
        if len(new) != size or len(old) != old_size:
            raise CannotMap(f"site {name}'s {axis} axis has {size} values (stored {old_size}) but other labels")
        position = {label: index for index, label in enumerate(old)}
        per_axis.append(np.array([position.get(label, -1) for label in new]))
    return np.stack(np.meshgrid(*per_axis, indexing="ij"))
