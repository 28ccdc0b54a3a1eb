"""Budgets (limits on the measures) and the back-off search that keeps every edit within them.

How the default limits were chosen (see tests/test_budget_calibration.py and the README): the natural
preset was measured on the public-domain portraits (astronaut, grace_hopper) and each limit set with a
margin beyond what that preset needs, while staying well inside what a person notices:
identity >= 0.90 (a sigma-2 blur scores ~0.83, other people 0.04-0.16, OpenCV's same-person threshold
is 0.363), drift <= 0.03 of the inter-ocular distance (re-detection jitter is ~0.005-0.01), mean skin
dE2000 <= 2 (about two just-noticeable differences) and p95 <= 5, texture kept >= 0.70, spill <= 0.5%.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from .params import param

# Measures where the value must stay ABOVE the limit; every other limit is a maximum.
_MINIMUMS = {"identity": "identity_min", "texture": "texture_min"}
_MAXIMUMS = {"drift": "drift_max", "skin_de_mean": "skin_de_mean_max", "skin_de_p95": "skin_de_p95_max",
             "spill": "spill_max"}


@dataclass(frozen=True)
class Budget:
    """Limits on the measures, each against the original photo."""

    identity_min: float = param(0.90, 0.0, 1.0, doc="lowest identity similarity to the original")
    drift_max: float = param(0.03, 0.0, 1.0, doc="largest landmark drift, share of inter-ocular distance")
    skin_de_mean_max: float = param(2.0, 0.0, 20.0, doc="largest mean skin-tone shift (dE2000)")
    skin_de_p95_max: float = param(5.0, 0.0, 40.0, doc="largest 95th-percentile skin-tone shift (dE2000)")
    texture_min: float = param(0.70, 0.0, 1.0, doc="lowest share of fine skin texture kept")
    spill_max: float = param(0.005, 0.0, 1.0, doc="largest share of pixels changed outside the edit's mask")

    def breaches(self, flat: dict[str, float | None]) -> list[str]:
        """Names of the measures in `flat` (worst values) that break this budget.

        A measure that could not be taken (None) on a face that had it at the start (the face lost by
        re-detection) counts as broken: when in doubt, protect the person.
        """
        broken = []
        for name, limit_name in _MINIMUMS.items():
            if name in flat and (flat[name] is None or flat[name] < getattr(self, limit_name)):
                broken.append(name)
        for name, limit_name in _MAXIMUMS.items():
            if name in flat and flat[name] is not None and flat[name] > getattr(self, limit_name):
                broken.append(name)
            elif name == "drift" and name in flat and flat[name] is None:
                broken.append(name)
        return broken

    def limits(self) -> dict[str, tuple[str, float]]:
        """Measure name -> ("min" or "max", limit), for reports and the GUI."""
        table = {name: ("min", getattr(self, limit)) for name, limit in _MINIMUMS.items()}
        table.update({name: ("max", getattr(self, limit)) for name, limit in _MAXIMUMS.items()})
        return table

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class BackOff:
    """Outcome of the search: the strength kept, the measures there, what bound it, and the strength
    evaluated last (a caller that evaluates in place re-applies `strength` when they differ)."""

    strength: float
    outcome: object
    bound_by: list[str]
    tries: int
    last_tried: float


def back_off(evaluate: Callable[[float], tuple[object, list[str]]], requested: float, *,
             tries: int = 6) -> BackOff:
    """Highest strength in [0, requested] whose evaluation breaks no limit, by bisection.

    `evaluate(strength)` returns (outcome, broken measure names). The requested strength is tried
    first; if it breaks a limit, bisection runs at most `tries` more evaluations. If no strength
    above 0 holds, the step is dropped (strength 0, outcome None) and `bound_by` says why.
    """
    outcome, broken = evaluate(requested)
    if not broken:
        return BackOff(requested, outcome, [], 1, requested)
    bound_by = broken
    low, high, kept, middle = 0.0, requested, None, requested
    for _ in range(tries):
        middle = (low + high) / 2
        outcome, broken = evaluate(middle)
        if broken:
            high = middle
        else:
            low, kept = middle, outcome
    return BackOff(low, kept, bound_by, tries + 1, middle)
