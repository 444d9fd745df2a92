"""The sampler's adaptation a posterior may keep in its meta: what the fit writes and the next fit reads.

Optional in the posterior file (matchodds.core.posterior checks it when it decodes one), and of use only to
the next fit's warm start (services.fit.warm): a format of its own, kept apart from the file's draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matchodds.core.keys import ContractError

if TYPE_CHECKING:
    from matchodds.core.posterior import Posterior

# What NUTS learnt in warmup, per chain: its step size, the diagonal of its inverse mass matrix
# and where the chain ended, each per sampled site in the sampler's unconstrained space, the site's values
# flattened (C order) from `sites`' shape. `axes` labels the axes a site can be matched on by the next fit
# (team: the codes of every team the fit's parameters index, not only the predicted ones; period: the
# seasons). The next fit of the competition starts from it (services.fit.warm) when it can map it onto
# its own sites; readers that do not use it ignore it, and a posterior without it is as valid.
ADAPTATION_META_KEY = "adaptation"
ADAPTATION_KEYS = {"model", "sites", "axes", "chains"}
ADAPTATION_CHAIN_KEYS = {"step_size", "inverse_mass", "position"}
MAX_ADAPTATION_CHAINS = 64
MAX_ADAPTATION_VALUES = 20_000  # per chain and field: the served model has about 250 (4 seasons, 26 teams)


@dataclass(frozen=True)
class ChainAdaptation:
    """One chain's step size, inverse mass diagonal and last position, by site (flat lists)."""

    step_size: float
    inverse_mass: dict[str, list[float]]
    position: dict[str, list[float]]


@dataclass(frozen=True)
class Adaptation:
    """The sampler's warmup, kept with the posterior so that the next fit may start where this one ended."""

    model: str
    sites: dict[str, tuple[int, ...]]  # each sampled site's unconstrained shape
    axes: dict[str, tuple[str, ...]]  # axis name -> the label of each position along it
    chains: tuple[ChainAdaptation, ...]

    def to_meta(self) -> dict[str, Any]:
        """The adaptation as the posterior's meta holds it (JSON)."""
        return {
            "model": self.model,
            "sites": {name: list(shape) for name, shape in self.sites.items()},
            "axes": {name: list(labels) for name, labels in self.axes.items()},
            "chains": [
                {"step_size": chain.step_size, "inverse_mass": chain.inverse_mass, "position": chain.position}
                for chain in self.chains
            ],
        }

    @classmethod
    def from_meta(cls, value: Any) -> Adaptation:
        """The adaptation of a posterior's meta, every number checked; ContractError names any defect."""
        if not isinstance(value, dict) or set(value) != ADAPTATION_KEYS:
            raise ContractError(f"posterior meta adaptation must be an object of {sorted(ADAPTATION_KEYS)}")
        model, sites, axes, chains = value["model"], value["sites"], value["axes"], value["chains"]
        if not isinstance(model, str) or not model:
            raise ContractError("posterior meta adaptation: model must be a name")
        if not isinstance(sites, dict) or not sites:
            raise ContractError("posterior meta adaptation: sites must name each sampled site's shape")
        shapes: dict[str, tuple[int, ...]] = {}
        for name, shape in sites.items():
            if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 1 for n in shape):
                raise ContractError(f"posterior meta adaptation: site {name!r} has shape {shape!r}, not sizes")
            shapes[name] = tuple(shape)
        if sum(math.prod(shape) for shape in shapes.values()) > MAX_ADAPTATION_VALUES:
            raise ContractError(f"posterior meta adaptation holds more than {MAX_ADAPTATION_VALUES} values a chain")
        if not isinstance(axes, dict) or not all(
            isinstance(labels, list) and all(isinstance(label, str) for label in labels) for labels in axes.values()
        ):
            raise ContractError("posterior meta adaptation: axes must map each axis to a list of labels")
        if not isinstance(chains, list) or not 1 <= len(chains) <= MAX_ADAPTATION_CHAINS:
            raise ContractError(f"posterior meta adaptation: chains must be a list of 1 to {MAX_ADAPTATION_CHAINS}")
        parsed = []
        for index, chain in enumerate(chains):
            if not isinstance(chain, dict) or set(chain) != ADAPTATION_CHAIN_KEYS:
                raise ContractError(
                    f"posterior meta adaptation: chain {index} must be an object of {sorted(ADAPTATION_CHAIN_KEYS)}"
                )
            step_size = chain["step_size"]
            if not _finite_number(step_size) or step_size <= 0:
                raise ContractError(f"posterior meta adaptation: chain {index} step size {step_size!r} is not positive")
            fields = {}
            for field_name in ("inverse_mass", "position"):
                by_site = chain[field_name]
                if not isinstance(by_site, dict) or set(by_site) != set(shapes):
                    raise ContractError(
                        f"posterior meta adaptation: chain {index} {field_name} must give every site of `sites`"
                    )
                for name, values in by_site.items():
                    if (
                        not isinstance(values, list)
                        or len(values) != math.prod(shapes[name])
                        or not all(_finite_number(v) for v in values)
                    ):
                        raise ContractError(
                            f"posterior meta adaptation: chain {index} {field_name} of {name} is not "
                            f"{math.prod(shapes[name])} finite numbers"
                        )
                    if field_name == "inverse_mass" and not all(v > 0 for v in values):
                        raise ContractError(
                            f"posterior meta adaptation: chain {index} inverse mass of {name} is not all positive"
                        )
                fields[field_name] = {name: [float(v) for v in values] for name, values in by_site.items()}
            parsed.append(ChainAdaptation(float(step_size), fields["inverse_mass"], fields["position"]))
        return cls(model, shapes, {name: tuple(labels) for name, labels in axes.items()}, tuple(parsed))


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def posterior_adaptation(posterior: Posterior) -> Adaptation | None:
    """The posterior's adaptation, or None when it has none (a fit from before warm starts, or another writer)."""
    if ADAPTATION_META_KEY not in posterior.meta:
        return None
    return Adaptation.from_meta(posterior.meta[ADAPTATION_META_KEY])
