"""The edit panel's state as plain data, and the Preset it stands for. No Qt here.

The panel is generated from the registry: per edit, a slider for the strength and for each declared
numeric parameter (their ranges end at the hard maximum, lowered where the base preset lowers it), a
combobox for each declared choice, a colour button for each declared colour, and a text field for any
other text parameter (a backdrop image's path). Declared lists of points (blemish's manual spots and
the marks chosen to keep) are drawn and edited on the photo, kept apart in full-resolution pixels and
scaled for the proxy preview.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from retouch import edits, presets
from retouch.params import Choice, Colour, Param, PictureFile
from retouch.presets import Preset, Step

SPOT_EDIT = "blemish"
HEAL_FIELD = "spots"               # tuple of (x, y, radius), full-resolution pixels
PROTECT_FIELD = "keep_marks"       # tuple of (x, y), full-resolution pixels: the mark holding one is kept
SPOT_FIELDS = (HEAL_FIELD, PROTECT_FIELD)


@dataclass(frozen=True)
class EditControls:
    """What the panel shows for one edit: its sliders (strength first), its choices and colours, and its
    free text fields."""

    doc: str
    sliders: dict[str, Param]
    choices: dict[str, Choice | Colour]
    texts: tuple[str, ...]


@dataclass
class EditState:
    """One edit as the panel holds it: on or off, and its strength and parameter values."""

    enabled: bool
    values: dict[str, Any]


@dataclass
class Spots:
    """Manual blemish spots (x, y, radius) and protected points (x, y), in full-resolution pixels."""

    heal: list[tuple[float, float, float]] = field(default_factory=list)
    protect: list[tuple[float, float]] = field(default_factory=list)

    def at(self, x: float, y: float, radius: float) -> tuple | None:
        """The heal spot or protected point (shown with `radius`) under (x, y), if any."""
        for spot in self.heal:
            if (spot[0] - x) ** 2 + (spot[1] - y) ** 2 <= max(spot[2], 1.0) ** 2:
                return spot
        for point in self.protect:
            if (point[0] - x) ** 2 + (point[1] - y) ** 2 <= max(radius, 1.0) ** 2:
                return point
        return None

    def toggle(self, kind: str, x: float, y: float, radius: float) -> str:
        """Remove the marker under (x, y) if there is one, else add one of `kind`; says which."""
        found = self.at(x, y, radius)
        if found is not None:
            (self.heal if len(found) == 3 else self.protect).remove(found)
            return "removed"
        if kind == "heal":
            self.heal.append((round(x, 1), round(y, 1), round(radius, 1)))
        else:
            self.protect.append((round(x, 1), round(y, 1)))
        return "added"

    def markers(self, scale: float, protect_radius: float) -> list[tuple[str, float, float, float]]:
        """(kind, x, y, radius) at `scale` (proxy / full) for the viewer."""
        return ([("heal", x * scale, y * scale, r * scale) for x, y, r in self.heal]
                + [("protect", x * scale, y * scale, protect_radius * scale) for x, y in self.protect])

    def values(self, scale: float = 1.0) -> dict[str, tuple]:
        """The blemish parameters for a frame at `scale` (1: full resolution)."""
        return {HEAL_FIELD: tuple((x * scale, y * scale, r * scale) for x, y, r in self.heal),
                PROTECT_FIELD: tuple((x * scale, y * scale) for x, y in self.protect)}

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Spots":
        return cls([tuple(s) for s in values.get(HEAL_FIELD, ())],
                   [tuple(p) for p in values.get(PROTECT_FIELD, ())])


def registered() -> dict[str, edits.Edit]:
    """Every registered edit, in pipeline order (each edit declares its place)."""
    return edits.load_all()


def largest_spot(interocular: float) -> float:
    """The largest manual spot radius (px) blemish heals on a face with this inter-ocular distance."""
    return edits.get(SPOT_EDIT).declarations["max_size"].limit * interocular


def controls(base: Preset) -> dict[str, EditControls]:
    """Every registered edit's sliders and text fields, with the base preset's limits."""
    table = {}
    for name, edit in registered().items():
        step = base.step(name)
        strength = step.strength_limit if step else edit.strength
        limits = step.param_limits if step else {}
        sliders = {"strength": strength} | {key: limits.get(key, declaration)
                                             for key, declaration in edit.declarations.items()}
        choices = {key: declared for key, declared in edit.settings.items() if isinstance(declared, (Choice, Colour))}
        texts = tuple(f.name for f in dataclasses.fields(edit.params_type)
                      if isinstance(edit.settings.get(f.name), PictureFile)
                      or (f.name not in edit.declarations and f.name not in edit.settings and f.type in ("str", str)))
        table[name] = EditControls(edit.doc, sliders, choices, texts)
    return table


def _values(step: Step) -> dict[str, Any]:
    return {"strength": step.strength} | dataclasses.asdict(step.params)


def initial(base: Preset, recorded: dict[str, dict] | None = None) -> tuple[dict[str, EditState], Spots]:
    """The panel's state for a photo: from its record's settings where it has one, else the preset's."""
    states = {}
    for name, edit in registered().items():
        step = base.step(name)
        values = _values(step) if step else {"strength": edit.strength.default} | dataclasses.asdict(edit.params())
        enabled = step is not None
        if recorded:
            enabled = name in recorded
            if enabled:
                values |= {"strength": recorded[name]["strength"]} | recorded[name]["params"]
        states[name] = EditState(enabled, values)
    spot_values = states[SPOT_EDIT].values if SPOT_EDIT in states else {}
    return states, Spots.from_values(spot_values)


def build_preset(base: Preset, states: dict[str, EditState], spots: Spots, *, scale: float = 1.0) -> Preset:
    """The base preset narrowed to the enabled edits, with the panel's values and the spots at `scale`.

    Raises ParamError (naming the edit and value) when the values do not make valid Params together.
    """
    enabled = tuple(name for name, state in states.items() if state.enabled)
    if not enabled:
        empty = dataclasses.replace(base, steps=())
        return dataclasses.replace(empty, digest=presets.digest(empty))
    settings = {}
    for name in enabled:
        values = dict(states[name].values)
        if name == SPOT_EDIT:
            values |= spots.values(scale)
        settings.update({f"{name}.{key}": value for key, value in values.items()})
    return presets.with_changes(base, only=enabled, settings=settings)
