"""The edit panel's state as plain data, and the Preset it stands for. No Qt here.

The panel is generated from the registry: per edit, a slider for the strength and for each declared
numeric parameter (their ranges end at the hard maximum, lowered where the base preset lowers it), a
combobox for each declared choice, a colour button for each declared colour, and a text field for any
other text parameter (a backdrop image's path). Declared lists of points (blemish's manual spots, and
the marks chosen to heal or to keep) are drawn and edited on the photo, kept apart in full-resolution
pixels and scaled for the proxy preview.

The marks blemish found and judged (its StepReport.details["marks"], in the pixels of the frame it
ran on: the proxy's, in the app) are turned back into full-resolution Marks; a click on one flips it
between heal and keep by adding the user's choice (a `heal_marks` or `keep_marks` point on it), and a
click on a chosen one takes the choice back.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, NamedTuple

from retouch import edits, presets
from retouch.edits.blemish import NEAR_PX
from retouch.params import Choice, Colour, Param, PictureFile
from retouch.pipeline import StepReport
from retouch.presets import Preset, Step

SPOT_EDIT = "blemish"
HEAL_FIELD = "spots"               # tuple of (x, y, radius), full-resolution pixels
PROTECT_FIELD = "keep_marks"       # tuple of (x, y), full-resolution pixels: the mark holding one is kept
CHOSEN_FIELD = "heal_marks"        # tuple of (x, y), full-resolution pixels: the mark holding one is healed
HEALED = ("healed", "lightened", "healed by choice")    # blemish's actions that change a mark
DRAWN = "chosen"                   # the class blemish records a manual spot under (drawn as a spot already)


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


@dataclass(frozen=True)
class Mark:
    """One mark blemish found and judged, in full-resolution pixels, with what it did to it (`action`:
    "healed", "kept", "lightened", "healed by choice", "kept by choice"); `pending` while a click's
    choice waits for the next guarded render (`action` is then what the click asks for)."""

    x: float
    y: float
    radius: float
    kind: str
    action: str
    pending: bool = False

    @property
    def healed(self) -> bool:
        return self.action in HEALED

    @property
    def chosen(self) -> bool:
        return self.action.endswith("by choice")

    def reach(self, slack: float) -> float:
        """How far from its centre a chosen point still names this mark (blemish grows a mark's footprint
        by a couple of pixels; `slack` is that, in full-resolution pixels)."""
        return max(self.radius, 1.0) + slack

    def flipped(self) -> "Mark":
        """The mark as a click leaves it until the render says: a choice taken back shows what blemish did
        without it only once it has run, so until then it shows the other side."""
        if self.chosen:
            return replace(self, action="healed" if self.action == "kept by choice" else "kept", pending=True)
        return replace(self, action="kept by choice" if self.healed else "healed by choice", pending=True)


def marks_of(steps: Iterable[StepReport], scale: float) -> list[Mark]:
    """The marks blemish found in a result whose frame was `scale` x the full resolution (the proxy's),
    in full-resolution pixels; manual spots (drawn by the user, shown as spots) are left out."""
    return [Mark(entry["x"] / scale, entry["y"] / scale, entry["radius"] / scale, entry["kind"], entry["action"])
            for step in steps if step.edit == SPOT_EDIT
            for entry in step.details.get("marks", ()) if entry.get("class") != DRAWN]


def _nearest(points: list[tuple], x: float, y: float, reach: float) -> tuple | None:
    """The point of `points` nearest (x, y) within `reach`, if any."""
    near = [(math.hypot(p[0] - x, p[1] - y), p) for p in points]
    near = [(distance, p) for distance, p in near if distance <= reach]
    return min(near)[1] if near else None


def _shows(marks: list[Mark], action: str, x: float, y: float, slack: float) -> bool:
    """Whether a mark of `marks` that the point (x, y) names shows `action`."""
    return any(m.action == action and math.hypot(x - m.x, y - m.y) <= m.reach(slack) for m in marks)


@dataclass
class Spots:
    """The user's points, in full-resolution pixels: manual blemish spots (x, y, radius), protected
    points (x, y: the mark holding one is kept) and marks chosen for healing (x, y)."""

    heal: list[tuple[float, float, float]] = field(default_factory=list)
    protect: list[tuple[float, float]] = field(default_factory=list)
    heal_marks: list[tuple[float, float]] = field(default_factory=list)

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

    def flip(self, mark: Mark, slack: float) -> bool:
        """Flip `mark` between heal and keep: take back the choice that named it (the chosen point nearest
        it) where it was chosen, else choose the other side for it (a point on its centre). False where
        no point of these names it (a choice made elsewhere, too far from it)."""
        if mark.chosen:
            points = self.protect if mark.action == "kept by choice" else self.heal_marks
            found = _nearest(points, mark.x, mark.y, 2 * mark.reach(slack))
            if found is not None:
                points.remove(found)
            return found is not None
        (self.protect if mark.healed else self.heal_marks).append((round(mark.x, 1), round(mark.y, 1)))
        return True

    def loose(self, marks: list[Mark], slack: float) -> list[tuple[str, float, float]]:
        """("protect" or "heal mark", x, y) for the chosen points that no mark of `marks` shows as chosen
        (a protected point on plain skin, a choice blemish did not follow): they are drawn on their own."""
        return [(kind, x, y) for kind, action, points in (("protect", "kept by choice", self.protect),
                                                          ("heal mark", "healed by choice", self.heal_marks))
                for x, y in points if not _shows(marks, action, x, y, slack)]

    def values(self, scale: float = 1.0) -> dict[str, tuple]:
        """The blemish parameters for a frame at `scale` (1: full resolution)."""
        return {HEAL_FIELD: tuple((x * scale, y * scale, r * scale) for x, y, r in self.heal),
                PROTECT_FIELD: tuple((x * scale, y * scale) for x, y in self.protect),
                CHOSEN_FIELD: tuple((x * scale, y * scale) for x, y in self.heal_marks)}

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Spots":
        return cls([tuple(s) for s in values.get(HEAL_FIELD, ())],
                   [tuple(p) for p in values.get(PROTECT_FIELD, ())],
                   [tuple(p) for p in values.get(CHOSEN_FIELD, ())])


class Marker(NamedTuple):
    """One thing drawn on the photo, in the proxy's pixels: `kind` is "heal" (a manual spot), "protect" or
    "heal mark" (a chosen point no mark shows as chosen), or a mark's action; `mark` is the Mark drawn."""

    kind: str
    x: float
    y: float
    radius: float
    pending: bool = False
    mark: Mark | None = None


def slack(scale: float) -> float:
    """How far past a mark's footprint a chosen point still names it, in full-resolution pixels, for a
    render on a frame at `scale` (blemish allows NEAR_PX of that frame's pixels)."""
    return NEAR_PX / scale


def markers(spots: Spots, marks: list[Mark], scale: float, point_radius: float) -> list[Marker]:
    """What the viewer draws at `scale` (proxy / full): the manual spots, the chosen points no mark of
    `marks` shows as chosen (drawn `point_radius` full-resolution px wide), and `marks` themselves."""
    return ([Marker("heal", x * scale, y * scale, r * scale) for x, y, r in spots.heal]
            + [Marker(kind, x * scale, y * scale, point_radius * scale)
               for kind, x, y in spots.loose(marks, slack(scale))]
            + [Marker(m.action, m.x * scale, m.y * scale, m.radius * scale, m.pending, m) for m in marks])


def unheeded(spots: Spots, marks: list[Mark], slack: float) -> int:
    """How many of the user's heal choices healed no mark of `marks` (the mark under it is larger than
    blemish ever heals, or not on skin)."""
    return sum(not _shows(marks, "healed by choice", x, y, slack) for x, y in spots.heal_marks)


def mark_choices(spots: Spots) -> str:
    """The user's own choices in words: "your choices: 1 healed, 1 kept, 2 spots drawn" ("" if none)."""
    counts = ((len(spots.heal_marks), "healed"), (len(spots.protect), "kept"),
              (len(spots.heal), "spot drawn" if len(spots.heal) == 1 else "spots drawn"))
    words = [f"{count} {what}" for count, what in counts if count]
    return f"your choices: {', '.join(words)}" if words else ""


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
