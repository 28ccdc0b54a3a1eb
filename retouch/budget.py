"""Budgets (limits on the measures) and the back-off search that keeps every edit within them.

How the default limits were chosen (see tests/test_budget_calibration.py and the README): the natural
preset was measured on the public-domain portraits (astronaut, grace_hopper) and each limit set with a
margin beyond what that preset needs, while staying well inside what a person notices:
identity >= 0.90 (a sigma-2 blur scores ~0.83, other people 0.04-0.16, OpenCV's same-person threshold
is 0.363), drift <= 0.03 of the inter-ocular distance (re-detection jitter is ~0.005-0.01), mean skin
dE2000 <= 2 (about two just-noticeable differences) and p95 <= 5, texture kept >= 0.70, spill <= 0.5%.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .measure import MEASURES
from .params import ParamError


def default_limits() -> dict[str, float]:
    """Every budgeted measure's default limit, by measure name (the MEASURES table declares them)."""
    return {name: entry.limit.default for name, entry in MEASURES.items() if entry.limit is not None}


@dataclass(frozen=True)
class Budget:
    """Limits on the measures, each against the original photo, keyed by measure name."""

    limits: Mapping[str, float] = field(default_factory=default_limits)

    @classmethod
    def of(cls, values: Mapping[str, Any], where: str, *, aliases: Mapping[str, str] | None = None) -> "Budget":
        """The default budget with `values` (measure name -> limit) checked against each measure's declared
        range; ParamError names `where`, the key as written and the value, and lists the measures
        otherwise. `aliases` maps older key names (an old preset schema's) to measure names."""
        if not isinstance(values, Mapping):
            raise ParamError(f"{where}: expected a table of measure = limit, got {values!r}")
        limits = default_limits()
        for key, value in values.items():
            name = (aliases or {}).get(key, key)
            if name not in limits:
                raise ParamError(f"{where}: {key!r} is not a measure with a budget "
                                 f"(known: {', '.join(limits)})")
            limits[name] = MEASURES[name].limit.check(value, f"{where}.{key}")
        return cls(limits)

    def __getitem__(self, name: str) -> float:
        return self.limits[name]

    def breaches(self, flat: dict[str, float | None]) -> list[str]:
        """Names of the measures in `flat` (worst values) that break this budget, in table order.

        A measure that could not be taken (None) although it applies breaks it where the measure says
        so (identity, drift, texture: the face was lost): when in doubt, protect the person."""
        return [name for name, limit in self.limits.items()
                if name in flat and not MEASURES[name].within(flat[name], limit)]

    def table(self) -> dict[str, tuple[str, float]]:
        """Measure name -> ("min" or "max", limit), for reports and the GUI."""
        return {name: ("min" if MEASURES[name].better == "higher" else "max", limit)
                for name, limit in self.limits.items()}

    def as_dict(self) -> dict[str, float]:
        return dict(self.limits)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.limits.items())))


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
