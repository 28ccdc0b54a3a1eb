"""Parameter declarations: every tunable value is declared once, with its range and hard maximum.

The CLI options, GUI sliders and preset validation are all generated from these declarations, so a
range is written in exactly one place. Out-of-range values raise ParamError; nothing is clamped.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping


class ParamError(ValueError):
    """A parameter value outside its declared range or above its hard maximum."""


@dataclass(frozen=True)
class Param:
    """One declared parameter: default, meaningful range [lo, hi], hard maximum, and a short doc."""

    default: float
    lo: float
    hi: float
    hard_max: float | None = None
    doc: str = ""
    kind: type = float

    def __post_init__(self) -> None:
        if not self.lo <= self.default <= self.limit:
            raise ValueError(f"default {self.default} outside [{self.lo}, {self.limit}]")
        if self.hard_max is not None and not self.lo <= self.hard_max <= self.hi:
            raise ValueError(f"hard_max {self.hard_max} outside [{self.lo}, {self.hi}]")

    @property
    def limit(self) -> float:
        """Largest value allowed: the hard maximum where declared, else the range's top."""
        return self.hi if self.hard_max is None else min(self.hi, self.hard_max)

    def check(self, value: Any, where: str) -> float:
        """Return value converted to this parameter's kind, or raise ParamError naming `where`."""
        noun = "a whole number" if self.kind is int else "a number"
        if isinstance(value, bool) and self.kind is not bool:
            raise ParamError(f"{where}: {value!r} is not {noun} (allowed {self.describe()})")
        try:
            number = self.kind(value)
            if self.kind is int and isinstance(value, float) and value != number:   # int(5.5) would be 5
                raise ValueError
        except (TypeError, ValueError):
            raise ParamError(f"{where}: {value!r} is not {noun} (allowed {self.describe()})") from None
        if number != number or not self.lo <= number <= self.hi:
            raise ParamError(f"{where}: {value!r} is outside the range {self.describe()}")
        if number > self.limit:
            raise ParamError(f"{where}: {value!r} is above the hard maximum {self.limit:g} "
                             f"(range {self.describe()})")
        return number

    def describe(self) -> str:
        text = f"{self.lo:g}..{self.hi:g}"
        if self.hard_max is not None and self.hard_max < self.hi:
            text += f", hard max {self.hard_max:g}"
        return text

    def with_hard_max(self, hard_max: float, where: str) -> "Param":
        """A copy with a lower hard maximum (presets may tighten a limit, never loosen it).

        A default above the new maximum moves down to it: a default is a starting point, not a value
        anyone asked for.
        """
        hard_max = self.check(hard_max, where)
        return dataclasses.replace(self, hard_max=hard_max, default=min(self.default, hard_max))


def param(default: float, lo: float, hi: float, hard_max: float | None = None, doc: str = "",
          kind: type = float) -> Any:
    """Declare a dataclass field that carries its Param declaration in the field metadata."""
    return dataclasses.field(default=kind(default),
                             metadata={"param": Param(kind(default), lo, hi, hard_max, doc, kind)})


def declarations(params_type: type) -> dict[str, Param]:
    """The Param declaration of every numeric field of a Params dataclass, by name."""
    return {f.name: f.metadata["param"] for f in dataclasses.fields(params_type) if "param" in f.metadata}


def build(params_type: type, values: Mapping[str, Any], where: str) -> Any:
    """Validate `values` against the declarations and build the frozen Params instance.

    Unknown names are errors too: a typo in a preset must not be silently ignored.
    """
    declared = declarations(params_type)
    other = {f.name for f in dataclasses.fields(params_type)} - set(declared)
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in declared:
            checked[name] = declared[name].check(value, f"{where}.{name}")
        elif name in other:
            checked[name] = value
        else:
            known = ", ".join(sorted(declared) + sorted(other)) or "none"
            raise ParamError(f"{where}: unknown parameter {name!r} (known: {known})")
    return params_type(**checked)


def validate(params: Any, where: str) -> None:
    """Check every declared field of an existing Params instance (e.g. one built in code)."""
    for name, declaration in declarations(type(params)).items():
        declaration.check(getattr(params, name), f"{where}.{name}")
