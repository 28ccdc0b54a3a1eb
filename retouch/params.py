"""Parameter declarations: every tunable value is declared once, with its range and hard maximum.

The CLI options, GUI sliders and preset validation are all generated from these declarations, so a
range is written in exactly one place. Out-of-range values raise ParamError; nothing is clamped.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
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


# --- declared kinds beside numbers: a choice, a colour, a list of points ---------------------------------

@dataclass(frozen=True)
class Choice:
    """One of a fixed set of words (the app shows a combobox)."""

    default: str
    options: tuple[str, ...]
    doc: str = ""

    def check(self, value: Any, where: str) -> str:
        word = str(value).strip().lower()
        if word not in self.options:
            raise ParamError(f"{where}: {value!r} is not one of {', '.join(self.options)}")
        return word

    def describe(self) -> str:
        return " | ".join(self.options)


_HEX = re.compile(r"#?([0-9a-f]{6}|[0-9a-f]{3})")


@dataclass(frozen=True)
class Colour:
    """An sRGB colour: "#rrggbb", "#rgb" or one of `names` (normalised to "#rrggbb"; the app shows a
    colour button). With `optional`, an empty value means "none" and stays empty."""

    default: str
    names: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""
    optional: bool = False

    def check(self, value: Any, where: str) -> str:
        text = str(value).strip().lower().replace("gray", "grey").replace("_", "-").replace(" ", "-")
        if self.optional and not text:
            return ""
        found = _HEX.fullmatch(self.names.get(text, text))
        if not found:
            raise ParamError(f"{where}: {value!r} is not a colour (allowed: {self.describe()}; gray = grey)")
        digits = found.group(1)
        return "#" + (digits if len(digits) == 6 else "".join(2 * d for d in digits))

    def describe(self) -> str:
        return "#rrggbb, #rgb" + (f" or one of {', '.join(self.names)}" if self.names else "")


@dataclass(frozen=True)
class Points:
    """A list of points in full-resolution pixels: (x, y), or (x, y, radius) with `radius` (the app shows
    them as markers). The command line writes them 'x,y;x,y'. `heals` marks the user's explicit choices
    of what to heal: the guard does not count a distinctive mark there as lost."""

    radius: bool = False
    doc: str = ""
    default: tuple = ()
    heals: bool = False

    @property
    def width(self) -> int:
        return 3 if self.radius else 2

    def check(self, value: Any, where: str) -> tuple[tuple[float, ...], ...]:
        if isinstance(value, str):
            value = [chunk.split(",") for chunk in value.replace(" ", "").split(";") if chunk]
        try:
            points = tuple(tuple(float(number) for number in point) for point in value)
        except (TypeError, ValueError):
            raise ParamError(f"{where}: {value!r} is not a list of points ({self.describe()})") from None
        for point in points:
            if (len(point) != self.width or not all(map(math.isfinite, point)) or min(point) < 0
                    or (self.radius and point[2] <= 0)):
                raise ParamError(f"{where}: point {point!r} is not allowed ({self.describe()})")
        return points

    def describe(self) -> str:
        return ("x,y,radius;... (non-negative pixels, radius > 0)" if self.radius
                else "x,y;... (non-negative pixels)")


class Picture(str):
    """A picture's path (as the string itself: records, digests and JSON see the path) with its pixels,
    read when the params were built, so no edit ever opens a file. Read-only float32 sRGB pixels."""

    pixels: Any

    def __new__(cls, path: str, pixels: Any) -> "Picture":
        made = super().__new__(cls, path)
        made.pixels = pixels
        return made

    def __deepcopy__(self, memo: dict) -> "Picture":
        return self

    def __reduce__(self):
        return _read_picture, (str(self), "picture")        # a worker reads it again, not 288 MB pickled


def _read_picture(path: str, where: str) -> Picture:
    from .io import read_picture     # the image stack, only when a picture is named
    return Picture(path, read_picture(path, where))


@dataclass(frozen=True)
class PictureFile:
    """The path of a picture file, read when the params are built (e.g. a backdrop image); empty: none."""

    doc: str = ""
    default: str = ""

    def check(self, value: Any, where: str) -> str:
        if isinstance(value, Picture):
            return value
        path = str(value).strip()
        return _read_picture(path, where) if path else ""

    def describe(self) -> str:
        return "the path of a JPEG, PNG, TIFF or WebP file"


def choice(default: str, options: tuple[str, ...], doc: str) -> Any:
    """Declare a dataclass field holding one of `options`."""
    return dataclasses.field(default=default, metadata={"setting": Choice(default, options, doc)})


def colour(default: str, doc: str, *, names: Mapping[str, str] | None = None, optional: bool = False) -> Any:
    """Declare a dataclass field holding a colour."""
    declared = Colour(default, dict(names or {}), doc, optional)
    return dataclasses.field(default=declared.check(default, "default") if default or not optional else "",
                             metadata={"setting": declared})


def points(doc: str, *, radius: bool = False, heals: bool = False) -> Any:
    """Declare a dataclass field holding a list of points (empty by default)."""
    return dataclasses.field(default=(), metadata={"setting": Points(radius, doc, (), heals)})


def picture(doc: str) -> Any:
    """Declare a dataclass field holding a picture file's path, read when the params are built."""
    return dataclasses.field(default="", metadata={"setting": PictureFile(doc)})


def settings(params_type: type) -> dict[str, Choice | Colour | Points | PictureFile]:
    """The declaration of every non-numeric declared field of a Params dataclass, by name."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(params_type) if "setting" in f.metadata}


def declarations(params_type: type) -> dict[str, Param]:
    """The Param declaration of every numeric field of a Params dataclass, by name."""
    return {f.name: f.metadata["param"] for f in dataclasses.fields(params_type) if "param" in f.metadata}


def build(params_type: type, values: Mapping[str, Any], where: str) -> Any:
    """Validate `values` against the declarations and build the frozen Params instance.

    Unknown names are errors too: a typo in a preset must not be silently ignored.
    """
    declared = declarations(params_type) | settings(params_type)
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
